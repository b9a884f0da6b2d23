"""Training throughput of each model preset: tokens/s (and MFU on CUDA), printed as a markdown table.

    python bench/train.py                                  # CPU: micro, tiny (200/20 steps), small (5), 1 thread
    python bench/train.py --presets micro --micro-batch 4  # the ablation preset at another batch
    python bench/train.py --device cuda --peak-tflops 989  # H100 SXM dense bf16 peak; 1979 is with sparsity
    python -m bench.train --quick                          # what `curate bench --quick` runs

Measures the training step of train() (training/loop.py: forward, backward, clip, AdamW) on random tokens
with each preset's sequence length and micro-batch (on CPU one sequence per step for small and base,
so that a step takes seconds, not minutes); the first `--warmup` steps (allocation,
torch.compile) are not timed. MFU = FLOPs/token * tokens/s / peak FLOP/s with FLOPs/token =
6 * N + 12 * n_layers * d_model * seq_len (PaLM, Chowdhery et al. 2022, appendix B; nanoGPT's
estimate_mfu). N counts the tied embedding once: it is the lm_head matmul, which is real compute.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from training.evaluate import autocast
from training.model import build_model, count_params, get_preset


def bench_preset(
    name: str, device: torch.device, steps: int, warmup: int, vocab: int | None, compile_: bool, micro: int
) -> dict:
    """Time `steps` training steps of preset `name` with `micro` sequences per step."""
    p = get_preset(name)
    vocab = vocab or p.vocab_size
    torch.manual_seed(0)
    model = build_model(name, vocab).to(device)
    n, n_ne = count_params(model), count_params(model, non_embedding=True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")
    fwd = torch.compile(model) if compile_ else model
    x = torch.randint(0, vocab, (micro, p.seq_len + 1), device=device)
    t0 = None
    for i in range(warmup + steps):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        with autocast(device):
            logits = fwd(input_ids=x[:, :-1]).logits
        loss = F.cross_entropy(logits.float().view(-1, vocab), x[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    tps = steps * micro * p.seq_len / dt
    flops_per_token = 6 * n + 12 * p.n_layers * p.d_model * p.seq_len
    return {
        "preset": name,
        "params": n,
        "flops_per_token": flops_per_token,
        "non_emb": n_ne,
        "vocab": vocab,
        "batch": f"{micro}x{p.seq_len}",
        "steps": steps,
        "s_per_step": dt / steps,
        "tokens_per_s": tps,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--presets", default="micro,tiny,small")
    ap.add_argument(
        "--results",
        default="runs/ablations/demo/results.json",
        help="an ablation's results.json: its wall_seconds is printed with the table (the demo's by default)",
    )
    ap.add_argument(
        "--steps", type=int, help="timed steps per preset (default: CPU tiny 20, small 5, base 2; CUDA 20)"
    )
    ap.add_argument(
        "--micro-batch", type=int, help="sequences per step (default: the preset's; 1 on CPU but tiny)"
    )
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first (1 for base on CPU)")
    ap.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (1: 2 ran 4x slower on a shared 2-core box)"
    )
    ap.add_argument("--vocab", type=int, help="vocabulary (default: each preset's)")
    ap.add_argument("--peak-tflops", type=float, default=989.0, help="accelerator bf16 dense peak, TFLOP/s")
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile on CUDA")
    ap.add_argument("--quick", action="store_true", help="fewer steps; on CPU tiny and small only")
    ap.add_argument("--data", help="unused: the model trains on random tokens (accepted for `curate bench`)")
    args = ap.parse_args()
    device = torch.device(args.device)
    cpu = device.type == "cpu"
    if args.quick and cpu and args.presets == "micro,tiny,small":
        args.presets = "micro,tiny"
    torch.set_num_threads(args.threads)
    if not cpu:
        torch.backends.cuda.matmul.allow_tf32 = True
    rows = []
    for name in args.presets.split(","):
        p = get_preset(name)
        steps = args.steps or ({"micro": 200, "tiny": 20, "small": 5, "base": 2}.get(name, 5) if cpu else 20)
        if args.quick:
            steps = min(steps, 5)
        micro = args.micro_batch or (p.micro_batch if not cpu or name in ("micro", "tiny") else 1)
        warmup = 1 if cpu and name not in ("micro", "tiny") else args.warmup
        compile_ = not cpu and not args.no_compile
        rows.append(bench_preset(name, device, steps, warmup, args.vocab, compile_, micro))
    where = (
        torch.cuda.get_device_name() if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    )
    print(
        f"\ntraining throughput on {where} (torch {torch.__version__}, {'bf16 autocast' if device.type == 'cuda' else 'fp32'})\n"
    )
    head = "| preset | params | non-emb params | vocab | micro-batch | timed steps | s/step | tokens/s |"
    sep = "|---|---:|---:|---:|---|---:|---:|---:|"
    if device.type == "cuda":
        head, sep = head + " MFU |", sep + "---:|"
    print(head)
    print(sep)
    for r in rows:
        line = (
            f"| {r['preset']} | {r['params'] / 1e6:.2f}M | {r['non_emb'] / 1e6:.2f}M | {r['vocab']} | {r['batch']} "
            f"| {r['steps']} | {r['s_per_step']:.3f} | {r['tokens_per_s']:,.0f} |"
        )
        if device.type == "cuda":
            line += f" {r['flops_per_token'] * r['tokens_per_s'] / (args.peak_tflops * 1e12):.1%} |"
        print(line)
    _print_ablation_wall(args.results)


def _print_ablation_wall(path: str) -> None:
    """The wall time an ablation recorded (results.json `wall_seconds`), with its training throughput."""
    import json
    from pathlib import Path

    p = Path(path)
    if not p.exists():
        print(f"\n(no {p}: run `curate ablate recipes/ablations/demo.yaml` to time the demo)")
        return
    res = json.loads(p.read_text())
    wall = res.get("wall_seconds")
    if wall is None:
        print(f"\n{p}: no wall_seconds (written before results.json schema 2)")
        return
    tps = res.get("train_tokens_per_s")
    print(
        f"\nablation {res.get('name')} ({res.get('model')}): wall time {wall:.0f}s ({wall / 60:.1f} min)"
        + (f", {tps:,.0f} training tokens/s per run" if tps else "")
        + " -- as recorded; check the machine's load at that time"
    )


if __name__ == "__main__":
    main()
