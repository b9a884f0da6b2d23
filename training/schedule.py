"""Learning-rate schedules: cosine, and warmup-stable-decay (whose stable phase does not depend on the
budget, which is what lets one run branch a cooldown at every budget; training/train.py)."""

from __future__ import annotations

import math


def lr_at(step: int, steps: int, peak: float, warmup: int, min_frac: float) -> float:
    """Cosine: linear warmup to `peak` over `warmup` steps, then cosine to `min_frac * peak` at `steps`."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (min_frac + (1 - min_frac) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def wsd_lr(step: int, steps: int, peak: float, warmup: int, decay: int) -> float:
    """Warmup-stable-decay: linear warmup over `warmup` steps, constant `peak`, then linear to 0 over
    the last `decay` steps of `steps`. Before `steps - decay` it does not depend on `steps`: that is
    what lets one stable run branch into every budget."""
    return peak * min(1.0, (step + 1) / warmup, (steps - step) / decay)


def decay_steps(steps: int, frac: float) -> int:
    return max(1, round(frac * steps))
