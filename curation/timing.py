"""Each pipeline step's own time: the time spent inside the step, not upstream and not downstream.

datatrove chains steps as generators, and a step times what it puts inside its own `track_time`
block. A step that times a block which pulls from upstream, or yields inside it, is charged for the
other steps' work too (the ledger once gave language ID 77.9 s in a full run against 14.9 s alone),
and a step that times nothing reports 0. So the builder wraps every step's `run` (`measure_own_time`):
the clock runs while the step's generator computes its next document and stops while the step waits
on its input (upstream) or while the document it yielded is processed (downstream). Wall and CPU time
(`time.thread_time`, which does not grow when other processes hold the cores) both go to the step's
stats as `own_seconds` / `own_cpu_seconds`; the ledger sums them over tasks into summary.json.

The same wrapper sees every document go in and come out, so it also counts their UTF-8 text bytes
(`bytes_in` / `bytes_kept`): the funnel's per-step token estimates come from them, for datatrove's
own filters as much as for ours, without each step counting.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

OWN_SECONDS, OWN_CPU_SECONDS = "own_seconds", "own_cpu_seconds"
BYTES_IN, BYTES_KEPT = "bytes_in", "bytes_kept"


def text_bytes(doc) -> int:
    """UTF-8 bytes of a document's text; 0 for what is not a document (aux stages pass other things)."""
    text = getattr(doc, "text", None)
    return len(text.encode("utf-8", "surrogatepass")) if isinstance(text, str) else 0


class _Clock:
    """Wall and CPU seconds accumulated by start/stop pairs."""

    __slots__ = ("cpu", "wall")

    def __init__(self):
        self.wall = 0.0
        self.cpu = 0.0


class _TimedInput:
    """The step's input, timing each `next()` so that upstream work can be subtracted."""

    def __init__(self, data: Iterable, clock: _Clock):
        self._it = iter(data)
        self._clock = clock
        self.bytes = 0

    def __iter__(self) -> Iterator:
        return self

    def __next__(self):
        w, c = time.perf_counter(), time.thread_time()
        try:
            doc = next(self._it)
        finally:
            self._clock.wall += time.perf_counter() - w
            self._clock.cpu += time.thread_time() - c
        self.bytes += text_bytes(doc)
        return doc


class OwnTimeRun:
    """Replaces `step.run` on the instance (picklable: it keeps the step, not a bound method)."""

    def __init__(self, step):
        self.step = step

    def __call__(self, data=None, rank: int = 0, world_size: int = 1):
        step = self.step
        upstream, inside = _Clock(), _Clock()
        source = _TimedInput(data, upstream) if data is not None else None
        gen = iter(type(step).run(step, source, rank, world_size) or ())
        kept = 0
        try:
            while True:
                w, c = time.perf_counter(), time.thread_time()
                try:
                    doc = next(gen)
                except StopIteration:
                    return
                finally:
                    inside.wall += time.perf_counter() - w
                    inside.cpu += time.thread_time() - c
                kept += text_bytes(doc)
                yield doc  # downstream runs here, off the clock
        finally:
            step.stat_update(OWN_SECONDS, value=max(inside.wall - upstream.wall, 0.0))
            step.stat_update(OWN_CPU_SECONDS, value=max(inside.cpu - upstream.cpu, 0.0))
            if source is not None:  # readers have no input; their bytes are the ledger's input bytes
                step.stat_update(BYTES_IN, value=source.bytes)
                step.stat_update(BYTES_KEPT, value=kept)


def measure_own_time(step):
    """Make `step` record its own wall and CPU seconds (see the module docstring); returns the step."""
    if not isinstance(step.__dict__.get("run"), OwnTimeRun):
        step.run = OwnTimeRun(step)
    return step
