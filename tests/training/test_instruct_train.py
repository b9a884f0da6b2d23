"""Fine-tuning on chat shards (training/instruct_train.py): the loss mask, example isolation, the loader's
order, starting from a checkpoint, response bpb, and the bad inputs that exit 2.

Run: pytest tests/training/test_instruct_train.py
"""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from training.cli import main
from training.data import write_jsonl_gz
from training.errors import ConfigError
from training.instruct_shards import (
    END,
    chat_tokenizer,
    encode_chat,
    order_key,
    tokenize_chat_run,
)
from training.instruct_train import IGNORE, ChatLoader, PromptHoldout, chat_loader, load_init
from training.model import build_model
from training.shards import load_index
from training.tokenizer import save_tokenizer, train_bpe
from training.train import TrainConfig, train

from .conftest import CONVS, chat_run, make_run, sample_docs


def test_loss_is_on_assistant_tokens_only(tmp_path, tokenizer_dir):
    run = chat_run(tmp_path / "run", CONVS[-1:])
    tokenize_chat_run(run, tokenizer_dir, val_fraction=0.0)
    folder, index = load_index(run)
    tok = chat_tokenizer(folder / "tokenizer")
    ids, _ = encode_chat(tok, CONVS[-1])
    x, y = chat_loader(folder, index, seq_len=128, seed=0).next(1)
    targets = [int(t) for t in y[0] if t != IGNORE]
    # the targets are exactly the assistant contents, each followed by <|end|>, in order
    want = []
    for m in CONVS[-1]:
        if m["role"] == "assistant":
            want += tok.backend_tokenizer.encode(m["content"], add_special_tokens=False).ids + [
                tok.get_vocab()[END]
            ]
    assert targets == want
    # and the training loss equals the mean NLL over those positions only
    torch.manual_seed(0)
    model = build_model("micro", vocab_size=len(tok), seq_len=128)
    logits = model(input_ids=x).logits
    loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
    pos = [i for i in range(y.shape[1]) if y[0, i] != IGNORE]
    manual = torch.stack([F.cross_entropy(logits[0, i], torch.tensor(ids[i + 1])) for i in pos]).mean()
    assert torch.allclose(loss, manual, atol=1e-5)


def _row_losses(run, tokenizer_dir, convs, model):
    chat_run(run, convs)
    tokenize_chat_run(run, tokenizer_dir, val_fraction=0.0)
    folder, index = load_index(run)
    loader = chat_loader(folder, index, seq_len=128, seed=0)
    loader._perm, loader._perm_epoch = np.arange(len(convs)), 0  # file order
    x, y = loader.next(len(convs))
    logits = model(input_ids=x).logits
    ce = F.cross_entropy(logits.transpose(1, 2), y, ignore_index=IGNORE, reduction="none")
    return [float(ce[r].sum()) for r in range(len(convs))]


def test_changing_example_a_never_changes_the_loss_of_b(tmp_path, tokenizer_dir):
    torch.manual_seed(0)
    model = build_model("micro", vocab_size=len(chat_tokenizer(tokenizer_dir)), seq_len=128).eval()
    a = [{"role": "user", "content": "Say hi."}, {"role": "assistant", "content": "Hi."}]
    a2 = [{"role": "user", "content": "Say hi, then write a much longer answer please."},
          {"role": "assistant", "content": "Hi. Here is a much longer answer than before, with more words."}]  # fmt: skip
    b = CONVS[-1]
    with torch.no_grad():
        before = _row_losses(tmp_path / "r1", tokenizer_dir, [a, b], model)
        after = _row_losses(tmp_path / "r2", tokenizer_dir, [a2, b], model)
    assert before[0] != pytest.approx(after[0])  # A's loss did change
    assert after[1] == pytest.approx(before[1], rel=1e-5)  # B's did not


def _pretrain(tmp_path, tokenizer_dir) -> str:
    run = make_run(tmp_path / "web", sample_docs()[:40])
    assert main(["tokenize", run, "--tokenizer", tokenizer_dir, "--val-fraction", "0.1"]) == 0
    cfg = TrainConfig(data=run, out_dir=str(tmp_path / "pre"), model="micro", tokens=2048, seq_len=64,
                      val_max_tokens=500, quiet=True)  # fmt: skip
    train(cfg)
    return str(tmp_path / "pre" / "checkpoint")


def test_finetune_from_checkpoint_reports_response_bpb(tmp_path, tokenizer_dir):
    ckpt = _pretrain(tmp_path, tokenizer_dir)
    run = chat_run(tmp_path / "chat", CONVS)
    tokenize_chat_run(run, ckpt, val_fraction=0.2)
    folder, index = load_index(run)
    model = load_init(ckpt, folder, index, 64, folder / "tokenizer")
    from safetensors.torch import load_file

    saved = load_file(f"{ckpt}/model.safetensors")
    emb = model.get_input_embeddings().weight
    n0 = saved["model.embed_tokens.weight"].shape[0]
    assert emb.shape[0] == n0 + 4  # the four chat specials were added
    assert torch.equal(emb[:n0], saved["model.embed_tokens.weight"])
    assert torch.allclose(emb[n0:], saved["model.embed_tokens.weight"].mean(0).expand(4, -1))
    assert torch.equal(model.model.layers[0].mlp.up_proj.weight, saved["model.layers.0.mlp.up_proj.weight"])
    held = tmp_path / "held.jsonl.gz"
    write_jsonl_gz(held, [{"id": "h0", "messages": CONVS[-1]}])
    rec = train(TrainConfig(data=str(run), out_dir=str(tmp_path / "ft"), model="micro", init_from=ckpt,
                            examples=8, seq_len=64, micro_batch=2, eval_sets=[str(held)], quiet=True))  # fmt: skip
    ev = rec["eval_sets"]["held"]
    tok = chat_tokenizer(folder / "tokenizer")
    assistant = [m["content"] for m in CONVS[-1] if m["role"] == "assistant"]
    assert ev["bytes"] == sum(len(a.encode()) for a in assistant)
    assert ev["tokens"] == sum(
        len(tok.backend_tokenizer.encode(a, add_special_tokens=False).ids) for a in assistant
    )
    assert 0 < ev["bpb"] < 20 and rec["examples"] == 8 and rec["init_from"] == ckpt
    assert rec["validation"]["loss"] is not None


def test_checkpoint_with_another_tokenizer_exits_2(tmp_path, tokenizer_dir, capsys):
    ckpt = _pretrain(tmp_path, tokenizer_dir)
    other = save_tokenizer(
        train_bpe((d["text"] for d in sample_docs()[:20]), vocab_size=300), tmp_path / "t2"
    )
    run = chat_run(tmp_path / "chat", CONVS)
    tokenize_chat_run(run, other, val_fraction=0.0)
    cfg = tmp_path / "ft.yaml"
    cfg.write_text(f"data: {run}\nout_dir: {tmp_path / 'ft'}\nmodel: micro\ninit_from: {ckpt}\nexamples: 4\n")
    assert main(["train", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"{ckpt}/tokenizer.json" in err and "differs" in err


def test_mask_without_targets_in_context_exits_2(tmp_path, tokenizer_dir, capsys):
    long_user = [{"role": "user", "content": "word " * 200}, {"role": "assistant", "content": "ok"}]
    run = chat_run(tmp_path / "run", [long_user] * 3)
    tokenize_chat_run(run, tokenizer_dir, val_fraction=0.0)
    cfg = tmp_path / "t.yaml"
    cfg.write_text(f"data: {run}\nout_dir: {tmp_path / 'o'}\nmodel: micro\nexamples: 2\nseq_len: 32\n")
    assert main(["train", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "train_00000.npy" in err and "no targets" in err


def test_loader_refuses_an_all_zero_mask(tmp_path):
    ids = np.arange(10, dtype=np.uint16)
    with pytest.raises(ConfigError, match="no targets"):
        ChatLoader([(ids, np.zeros(10, np.uint8), np.array([0, 5, 10]), "x.npy")], 16, 0, 0)


def test_prompt_holdout_matches_near_duplicates_only():
    h = PromptHoldout(["Give three tips for staying healthy and eating well every day."])
    assert h.matches("Give three tips for staying healthy and eating well every single day!")
    assert not h.matches("Translate the following sentence into French.")
    assert json.dumps(h.threshold)


def test_loader_order_is_a_permutation_with_length_grouped_batches():
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 200, size=512)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    ids = np.zeros(offsets[-1], np.uint16)
    mask = np.ones(offsets[-1], np.uint8)
    loader = ChatLoader([(ids, mask, offsets, "x.npy")], 256, 0, 0)
    order = loader.order(0, 8)
    assert sorted(order.tolist()) == list(range(512))  # every example once per epoch
    assert not np.array_equal(order, loader.order(1, 8))  # a fresh order every epoch

    def padded(o):
        return sum(lengths[o[i : i + 8]].max() * 8 for i in range(0, 512, 8))

    assert padded(order) < 0.8 * padded(np.random.default_rng(1).permutation(512))


def test_loader_order_follows_example_ids_so_variants_sharing_ids_stay_paired():
    """Two variants that share most example ids (one lost 10 of 600, the other has every length changed)
    see nearly the same examples first for a given seed; another seed draws another subset."""
    rng = np.random.default_rng(0)

    def loader(lengths, keys, seed=0):
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        n = int(offsets[-1])
        return ChatLoader([(np.zeros(n, np.uint16), np.ones(n, np.uint8), offsets, "x.npy")], 256, seed, 0,
                          [np.asarray(keys, np.uint64)])  # fmt: skip

    lengths = rng.integers(5, 200, size=600)
    keys = np.array([order_key(f"ex{i}") for i in range(600)], dtype=np.uint64)

    def first(ld, n=300):
        return set(ld.keys[ld.order(0, 8)[:n]].tolist())

    base = first(loader(lengths, keys))
    assert len(base & first(loader(lengths[10:], keys[10:]))) >= 285
    block = first(loader(lengths, keys), 256)  # a block of 32 batches: a set fixed by the ids alone
    assert first(loader(rng.integers(5, 200, size=600), keys), 256) == block  # other lengths
    assert first(loader(np.roll(lengths, 1), np.roll(keys, 1)), 256) == block  # file order does not matter
    assert len(base & first(loader(lengths, keys, seed=1))) < 200  # about half, by chance


def test_eval_cli_reports_response_bpb_of_a_chat_file(tmp_path, tokenizer_dir, capsys):
    """`curate eval CKPT --data chat.jsonl.gz`: response bpb (assistant text only), the same number the
    fine-tuning run reports for that file; a plain-text file next to it keeps the document bpb."""
    ckpt = _pretrain(tmp_path, tokenizer_dir)
    run = chat_run(tmp_path / "chat", CONVS)
    tokenize_chat_run(run, ckpt, val_fraction=0.2)
    held = tmp_path / "held.jsonl.gz"
    write_jsonl_gz(held, [{"id": "h0", "messages": CONVS[-1]}])
    rec = train(TrainConfig(data=str(run), out_dir=str(tmp_path / "ft"), model="micro", init_from=ckpt,
                            examples=8, seq_len=64, micro_batch=2, eval_sets=[str(held)], quiet=True))  # fmt: skip
    plain = tmp_path / "plain.jsonl.gz"
    write_jsonl_gz(plain, [{"id": "p0", "text": "A mutable sequence is a list."}])
    out = tmp_path / "ev.json"
    ft_ckpt = str(tmp_path / "ft" / "checkpoint")
    assert main(["eval", ft_ckpt, "--data", str(held), "--data", str(plain), "--out", str(out)]) == 0
    got = json.loads(out.read_text())["eval_sets"]
    assistant = "".join(m["content"] for m in CONVS[-1] if m["role"] == "assistant")
    assert got["held"]["bytes"] == len(assistant.encode()) == rec["eval_sets"]["held"]["bytes"]
    assert got["held"]["bpb"] == pytest.approx(rec["eval_sets"]["held"]["bpb"], rel=1e-5)
    assert got["plain"]["bytes"] == len(b"A mutable sequence is a list.")
    assert "held: loss" in capsys.readouterr().out
    # the pretrained (plain-text) checkpoint has no chat specials: they are added, the file still evaluates
    assert main(["eval", ckpt, "--data", str(held), "--out", str(tmp_path / "ev0.json")]) == 0
    assert json.loads((tmp_path / "ev0.json").read_text())["eval_sets"]["held"]["bpb"] > 0
