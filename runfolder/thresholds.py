"""The threshold format of summary.json `thresholds` (docs/CONTRACTS.md, "Thresholds").

`{step_id: {key: {"op": "min" | "max", "value": number, "per_lang"?: {lang: number},
"metric"?: metadata key (when it differs from `key`), "param"?: recipe parameter}}}`.
`min`: a document is kept when its metric >= the limit; `max`: kept when <= the limit. Nothing else is
accepted: a different spelling is a bug in the op that wrote it, reported here by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OPS = ("min", "max")


@dataclass
class Threshold:
    """One threshold: documents whose `metric` is below (`min`) or above (`max`) the limit are removed."""

    step: str
    key: str
    op: str
    value: float
    per_lang: dict[str, float] = field(default_factory=dict)
    metric: str = ""  # the metadata key the limit applies to (defaults to `key`)
    param: str | None = None

    def __post_init__(self):
        self.metric = self.metric or self.key

    @property
    def keeps_below(self) -> bool:
        return self.op == "max"

    def limit(self, lang: str | None = None) -> float:
        return self.per_lang.get(lang, self.value) if lang is not None else self.value

    def keeps(self, value: float, lang: str | None = None) -> bool:
        lim = self.limit(lang)
        return value <= lim if self.op == "max" else value >= lim

    def to_dict(self) -> dict:
        out = {"op": self.op, "value": self.value}
        if self.per_lang:
            out["per_lang"] = dict(self.per_lang)
        if self.metric != self.key:
            out["metric"] = self.metric
        if self.param:
            out["param"] = self.param
        return out


def parse_thresholds(thresholds: dict | None) -> list[Threshold]:
    """Every threshold of a summary's `thresholds` section, in step order.

    Raises:
        ValueError: an entry that is not in the format above (names the step and key).
    """
    out = []
    for step, entries in (thresholds or {}).items():
        for key, spec in (entries or {}).items():
            where = f"thresholds.{step}.{key}"
            if not isinstance(spec, dict):
                raise ValueError(f"{where}: expected a mapping with op and value, got {spec!r}")  # noqa: TRY004
            unknown = set(spec) - {"op", "value", "per_lang", "metric", "param"}
            if unknown:
                raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
            if spec.get("op") not in OPS:
                raise ValueError(f"{where}: op must be one of {OPS}, got {spec.get('op')!r}")
            value = spec.get("value")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{where}: value must be a number, got {value!r}")  # noqa: TRY004
            per_lang = spec.get("per_lang") or {}
            if not isinstance(per_lang, dict) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in per_lang.values()
            ):
                raise ValueError(f"{where}: per_lang must map a language to a number")
            out.append(Threshold(step=str(step), key=str(key), op=spec["op"], value=float(value),
                                 per_lang={str(k): float(v) for k, v in per_lang.items()},
                                 metric=str(spec.get("metric") or key), param=spec.get("param")))
    return out
