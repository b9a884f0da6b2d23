"""The instruction ablation's data besides the variants: the positive controls' corrupted copies of a chat
run, and the fixed held-out sets (own prompts, other examples' prompts) with the metrics read off them.

`corrupt_run` writes a control; `build_heldout` the eval files; `point_metrics` turns one evaluated budget
into results.json's `bpb` entry: response bpb, and with `heldout.prompt_use` the prompt use (response bpb
under the own prompts - under other held-out prompts; negative when the model uses the prompt).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.data import id_fraction, write_jsonl_gz
from training.errors import ConfigError
from training.instruct_ablation_config import InstructAblation
from training.instruct_shards import encode_chat, prompt_of, read_chat_run


def corrupt_run(
    src_run: Path, dst_run: Path, fraction: float, seed: int, how: str = "shuffle_responses"
) -> dict:
    """Copy a chat run with `fraction` of its examples (seeded choice) corrupted. `shuffle_responses`: each
    chosen example gets the next chosen example's assistant turn (a cyclic shift: none keeps its own);
    `scramble_words`: each chosen assistant turn's words in a seeded random order."""
    recs = [r for r in read_chat_run(src_run) if r["messages"]]
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(recs), size=max(2, round(fraction * len(recs))), replace=False))
    donor = {int(a): int(b) for a, b in zip(chosen, np.roll(chosen, 1))}
    out = []
    for i, r in enumerate(recs):
        msgs = r["messages"]
        if i in donor and how == "shuffle_responses":
            answers = [m for m in recs[donor[i]]["messages"] if m["role"] == "assistant"]
            msgs = [m for m in msgs if m["role"] != "assistant"] + answers[:1]
        elif i in donor:
            msgs = [
                {**m, "content": " ".join(rng.permutation(m["content"].split()).tolist())}
                if m["role"] == "assistant" else m
                for m in msgs
            ]  # fmt: skip
        out.append({"id": r["id"], "messages": msgs})
    write_jsonl_gz(dst_run / "output" / "00000_00000.jsonl.gz", out)
    return {"examples": len(recs), "corrupted": len(chosen), "how": how}


def eval_names(cfg: InstructAblation) -> dict[str, str]:
    """The metrics of results.json by kind: {"heldout": name} plus, with `heldout.prompt_use`,
    {"prompt_use": name + "_prompt_use"}."""
    names = {"heldout": cfg.heldout.name}
    if cfg.heldout.prompt_use:
        names["prompt_use"] = f"{cfg.heldout.name}_prompt_use"
    return names


def other_prompts(records: list[dict]) -> list[dict]:
    """Each example's assistant turns after the next example's other turns (a cyclic shift): the same
    response bytes, under a prompt they do not answer."""
    out = []
    for r, donor in zip(records, records[1:] + records[:1]):
        context = [m for m in donor["messages"] if m["role"] != "assistant"]
        out.append({"id": r["id"], "messages": context + [m for m in r["messages"] if m["role"] == "assistant"]})
    return out


def _prompt_use_sets(cfg: InstructAblation) -> dict[str, str]:
    if not cfg.heldout.prompt_use:
        return {}
    return {"true_prompts": f"{cfg.heldout.name}_true_prompts", "other_prompts": f"{cfg.heldout.name}_other_prompts"}


def point_metrics(cfg: InstructAblation, eval_sets: dict) -> dict[str, float]:
    """{metric: value} of one evaluated budget: the response bpb of each eval set, and `prompt_use` = response
    bpb under the true prompts - under other examples' prompts (bits per byte the prompt saves, negated,
    so that lower is better as for bpb)."""
    out = {}
    for kind, name in eval_names(cfg).items():
        if kind == "prompt_use":
            sets = _prompt_use_sets(cfg)
            out[name] = eval_sets[sets["true_prompts"]]["bpb"] - eval_sets[sets["other_prompts"]]["bpb"]
        else:
            out[name] = eval_sets[name]["bpb"]
    return out


def build_heldout(cfg: InstructAblation, run: Path, tok, out: Path) -> tuple[list[str], list[str], dict]:
    """(eval files, prompts of the whole slice, stats): the slice's examples that fit in seq_len (up to
    max_examples, in id-hash order), and with `prompt_use` the same responses under their own and under
    another example's prompt (the pairs where both fit)."""
    h = cfg.heldout
    sliced = sorted(
        (r for r in read_chat_run(run) if r["messages"] and id_fraction(r["id"], "heldout") < h.fraction),
        key=lambda r: id_fraction(r["id"], "heldout"),
    )
    fits = [r for r in sliced if len(encode_chat(tok, r["messages"])[0]) <= cfg.seq_len + 1]
    chosen = fits[: h.max_examples]
    if not chosen:
        raise ConfigError(f"heldout: fraction {h.fraction} of {run} selects no example that fits seq_len")
    sets = {"heldout": chosen}
    if h.prompt_use:  # the pairs whose response also fits in seq_len after the other prompt
        swapped = other_prompts(chosen)
        ok = [len(encode_chat(tok, r["messages"])[0]) <= cfg.seq_len + 1 for r in swapped]
        sets["true_prompts"] = [r for r, k in zip(chosen, ok) if k]
        sets["other_prompts"] = [r for r, k in zip(swapped, ok) if k]
    paths = []
    for kind, name in {**eval_names(cfg), **_prompt_use_sets(cfg)}.items():
        if kind == "prompt_use":
            continue
        paths.append(str(out / "eval" / f"{name}.jsonl.gz"))
        write_jsonl_gz(paths[-1], [{"id": r["id"], "messages": r["messages"]} for r in sets[kind]])
    stats = {"slice": len(sliced), "evaluated": len(chosen), "too_long": len(sliced) - len(fits),
             **({"prompt_use_pairs": len(sets["true_prompts"])} if "true_prompts" in sets else {})}  # fmt: skip
    return paths, [prompt_of(r["messages"]) for r in sliced], stats
