"""Read and check an ablation's results.json (the contract in docs/CONTRACTS.md, "results.json").

The dashboard and any other reader go through `load_results`, which refuses a file that breaks the
contract with one error naming the first offending key, instead of rendering half a page. `validate`
returns every problem (tests use it to pin the writer to the contract).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

SCHEMA = 2  # 1: per-variant fits and `comparisons[].at` (before issue 11)


class ResultsError(ValueError):
    """results.json is missing, not JSON, or breaks the contract."""


def _num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _ci(x) -> bool:
    return x is None or (isinstance(x, list) and len(x) == 2 and all(v is None or _num(v) for v in x))


def validate(res: dict) -> list[str]:
    """Every contract violation in `res`, as 'key: problem' strings (empty when valid)."""
    errs: list[str] = []
    if not isinstance(res, dict):
        return ["top level: expected an object"]
    for key in ("variants", "comparisons", "multipliers", "controls", "evals", "wall_seconds"):
        if key not in res:
            errs.append(f"{key}: missing")
    if errs:
        return errs
    shapes = {"variants": dict, "comparisons": list, "multipliers": list, "controls": list}
    errs = [f"{k}: not a{'n object' if t is dict else ' list'}" for k, t in shapes.items() if not isinstance(res[k], t)]
    errs += [f"{k}[{i}]: not an object" for k in ("comparisons", "multipliers", "controls") if isinstance(res[k], list)
             for i, x in enumerate(res[k]) if not isinstance(x, dict)]
    errs += [f"variants.{k}: not an object with a points list" for k, v in (res["variants"].items() if
             isinstance(res["variants"], dict) else []) if not isinstance(v, dict) or not isinstance(v.get("points", []), list)]
    if isinstance(res["evals"], list) and not all(isinstance(e, str) for e in res["evals"]):
        errs.append("evals: not a list of names")
    elif isinstance(res["evals"], dict):  # schema 3: name -> what was scored {docs, bytes, sources, out_of_pool}
        errs += [f"evals.{k}: not an object" for k, v in res["evals"].items() if not isinstance(v, dict)]
    elif not isinstance(res["evals"], list):
        errs.append("evals: not a list of names or an object of scored sets")
    if res.get("fit") is not None and not isinstance(res["fit"], dict):
        errs.append("fit: not an object")
    for key in ("name", "model", "baseline", "metric", "budget_unit"):
        if res.get(key) is not None and not isinstance(res[key], str):
            errs.append(f"{key}: not a string")
    if errs:  # the checks below index these shapes
        return errs
    if not _num(res["wall_seconds"]):
        errs.append("wall_seconds: not a number")
    evals = res["evals"]
    for name, v in res["variants"].items():
        for i, p in enumerate(v.get("points", [])):
            where = f"variants.{name}.points[{i}]"
            if not isinstance(p, dict):
                errs.append(f"{where}: not an object")
                continue
            for k in ("tokens", "bytes", "seed", "epochs"):
                if not _num(p.get(k)):
                    errs.append(f"{where}.{k}: missing or not a number")
            bpb = p.get("bpb")
            if not isinstance(bpb, dict) or not all(_num(bpb.get(e)) for e in evals):
                errs.append(f"{where}.bpb: needs a number for every eval in {evals}")
    for i, c in enumerate(res["comparisons"]):
        for k in ("variant", "baseline", "eval"):
            if not isinstance(c.get(k), str):
                errs.append(f"comparisons[{i}].{k}: missing")
        if not _num(c.get("tokens")) or not _num(c.get("delta_bpb")) or not _ci(c.get("ci95")):
            errs.append(f"comparisons[{i}]: needs tokens, delta_bpb and ci95 [lo, hi] (or null)")
    for i, m in enumerate(res["multipliers"]):
        if not isinstance(m.get("extrapolated"), bool) or not _ci(m.get("ci95")):
            errs.append(f"multipliers[{i}]: needs extrapolated (bool) and ci95")
        elif m["extrapolated"] and m.get("value") is not None:
            errs.append(f"multipliers[{i}]: an extrapolated multiplier must have value null")
        elif not m["extrapolated"] and not _num(m.get("value")):
            errs.append(f"multipliers[{i}].value: not a number")
    for i, c in enumerate(res["controls"]):
        if not isinstance(c.get("name"), str) or not isinstance(c.get("passed"), bool):
            errs.append(f"controls[{i}]: needs name and passed (bool)")
    fit = res.get("fit")
    if fit is not None and (not isinstance(fit.get("ok"), bool) or "se_beta_rel" not in fit):
        errs.append("fit: needs ok (bool) and se_beta_rel")
    return errs


def load_results(path: str | Path) -> dict:
    """results.json of an ablation folder (or the file itself), checked against the contract."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    if not p.exists():
        raise ResultsError(f"{p}: not found")
    try:
        res = json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as e:  # bad JSON or UTF-8, a 5,000-digit integer, nesting 10^5 deep
        raise ResultsError(f"{p}: not valid JSON ({type(e).__name__}: {str(e)[:200]})") from None
    errs = validate(res)
    if errs:
        more = f" (+{len(errs) - 1} more)" if len(errs) > 1 else ""
        raise ResultsError(f"{p}: {errs[0]}{more}")
    return res
