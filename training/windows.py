"""The pretraining data order: fixed-length windows of the train split, reshuffled every epoch.

Why windows and not documents: every step sees full sequences (no padding), and a budget larger than
the data simply repeats it while `epochs` says how often, which is what the ablation flags. Why a seeded
permutation per epoch: two runs with the same seed see the same windows in the same order whatever the
variant's size, so a run is reproducible and a wsd branch can copy the position and continue.
"""

from __future__ import annotations

import numpy as np
import torch

from training.errors import ConfigError


class WindowLoader:
    """Non-overlapping windows of `seq_len + 1` tokens (stride seq_len) over the train shards, in a
    seeded random order per epoch; `epochs` counts how many times the data has been seen.

    `pool_windows` keeps only that many windows, drawn at random from the whole split (the first ones of
    a permutation seeded by `seed`): a fixed unique pool for repetition studies. A random subset rather
    than a prefix, so a small pool has the same distribution as the full data (a prefix is a handful of
    documents); the first k of one permutation, so pools of one seed are nested."""

    POOL_SALT = 7_919  # keeps the pool draw independent of the per-epoch order draws

    def __init__(self, arrays: list[np.ndarray], seq_len: int, seed: int, pool_windows: int | None = None):
        self.arrays, self.seq_len, self.seed = arrays, seq_len, seed
        self.index = np.array(
            [(a, s) for a, arr in enumerate(arrays) for s in range(0, len(arr) - seq_len, seq_len)],
            dtype=np.int64,
        ).reshape(-1, 2)
        if len(self.index) == 0:
            raise ConfigError(f"the train split has fewer than seq_len+1 = {seq_len + 1} tokens")
        if pool_windows is not None:
            if not 0 < pool_windows <= len(self.index):
                raise ConfigError(
                    f"pool of {pool_windows} windows: the train split holds {len(self.index)} "
                    f"({len(self.index) * seq_len:,} tokens)"
                )
            pick = np.random.default_rng([self.POOL_SALT, seed]).permutation(len(self.index))[:pool_windows]
            self.index = self.index[np.sort(pick)]
        self.taken = 0  # windows handed out so far
        self._perm, self._perm_epoch = np.empty(0, dtype=np.int64), -1

    @property
    def tokens_per_epoch(self) -> int:
        return len(self.index) * self.seq_len

    @property
    def epochs(self) -> float:
        return self.taken / len(self.index)

    def stats(self) -> dict:
        """Counts for eval.json beyond `epochs` (ChatLoader's interface): a window loader has none."""
        return {}

    def _order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.index))

    def next(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        rows = []
        for _ in range(batch):
            epoch, pos = divmod(self.taken, len(self.index))
            if self._perm_epoch != epoch:
                self._perm, self._perm_epoch = self._order(epoch), epoch
            a, s = self.index[self._perm[pos]]
            rows.append(np.asarray(self.arrays[a][s : s + self.seq_len + 1], dtype=np.int64))
            self.taken += 1
        xy = torch.from_numpy(np.stack(rows))
        return xy[:, :-1], xy[:, 1:]
