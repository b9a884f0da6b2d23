"""`curate classifier train CONFIG`: the thin CLI over `curation.steps.classifier.train.train_classifier`.

Kept apart from the training module so that building the `curate` parser stays cheap (the training
module pulls in numpy and every reader); `curation/cli.py` calls `add_classifier_commands(sub)`.
"""

from __future__ import annotations

import argparse


def cmd_train(args) -> int:
    from curation.executors.base import quiet_terminal_logging
    from curation.steps.classifier.train import card_path, load_train_config, train_classifier

    quiet_terminal_logging()  # datatrove's readers log every file at INFO
    tc = load_train_config(args.config)
    card = train_classifier(tc)
    print(f"model: {tc.model_path}\ncard:  {card_path(tc.model_path)}")
    for lab, c in card["counts"].items():
        print(f"  {lab}: {c['train']:,} train, {c['heldout']:,} held out")
    h = card["heldout"]
    if h:
        auc = "n/a" if h["roc_auc"] is None else f"{h['roc_auc']:.4f}"
        print(
            f"held-out: ROC-AUC {auc}  precision {h['precision']:.3f}  recall {h['recall']:.3f}  F1 {h['f1']:.3f}"
        )
    else:
        print("held-out: none (valid_fraction 0 or too few documents)")
    print(f"trained in {card['train_seconds']:.1f}s")
    return 0


EXAMPLES = """examples:
  curate classifier train recipes/quality_classifier/train.yaml
then use it in a recipe:  - quality_classifier: {model_path: runs/classifiers/<name>/model.bin, min_score: 0.5}
"""


def add_classifier_commands(subparsers, guard=lambda fn: fn) -> None:
    """`curate classifier train CONFIG` (registered by curation/cli.py, which passes its exit-2 `guard`)."""
    p = subparsers.add_parser(
        "classifier", help="train a fastText quality classifier (see `quality_classifier` op)"
    )
    sub = p.add_subparsers(dest="classifier_command", required=True)
    t = sub.add_parser(
        "train",
        help="train from a config (positives vs negatives); writes model + card",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t.add_argument("config", help="classifier config YAML (see recipes/quality_classifier/train.yaml)")
    t.set_defaults(func=guard(cmd_train))
