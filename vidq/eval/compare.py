"""Two eval result files side by side: what differs in their setup, and whether the accuracy
difference is significant.

Items are paired by ``id``.  When the runs share items, the test is exact McNemar on the
shared items (only discordant pairs carry information); otherwise the pooled
two-proportion z-test on each run's own items.  Groups (``by_frames``/``by_depth`` of a
NIAH run, ``by_group`` of ``mc``) are compared the same way, group by group.

Knows nothing about the CLI; reads plain JSON written by ``vidq eval``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidq.errors import InputError
from vidq.eval.stats import accuracy, mcnemar_exact, two_proportion_test

SETUP_KEYS = ("model", "quant", "compress", "ratio", "frames", "accuracy", "subtitles", "device", "size", "strict",
              "mode", "protocol")  # run-block keys compared (plus versions)
ALPHA = 0.05  # significance level reported
GROUP_FIELDS = {"vidq.eval.niah": ("frames", "depth"), "vidq.eval.mc": ("group",)}  # item fields to split by


@dataclass(frozen=True)
class Difference:
    """Accuracy of A and B on one slice, and the test of their difference."""

    label: str  # "overall", "frames=64", "group=long"
    n_a: int  # items of A in the slice
    n_b: int  # items of B in the slice
    acc_a: float  # accuracy of A
    acc_b: float  # accuracy of B
    test: str  # "mcnemar" (paired) or "two-proportion"
    paired: int  # items present in both (McNemar)
    only_a: int  # paired items A got right and B wrong
    only_b: int  # paired items B got right and A wrong
    p_value: float  # two-sided

    @property
    def delta(self) -> float:
        return self.acc_b - self.acc_a

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA

    def as_dict(self) -> dict[str, Any]:
        return {"slice": self.label, "n_a": self.n_a, "n_b": self.n_b, "accuracy_a": round(self.acc_a, 6),
                "accuracy_b": round(self.acc_b, 6), "delta": round(self.delta, 6), "test": self.test,
                "paired": self.paired, "only_a": self.only_a, "only_b": self.only_b,
                "p_value": round(self.p_value, 6), "significant": self.significant}


@dataclass
class Comparison:
    """Everything ``vidq eval compare`` prints."""

    schema: str  # the results' schema, e.g. "vidq.eval.mc/1"
    setup: list[tuple[str, Any, Any]] = field(default_factory=list)  # (key, A's value, B's value) where they differ
    slices: list[Difference] = field(default_factory=list)  # overall first, then groups
    speed: list[tuple[str, Any, Any]] = field(default_factory=list)  # (metric, A, B)


def load_result(path: str | os.PathLike) -> dict[str, Any]:
    """A results JSON written by ``vidq eval``; ``InputError`` when it is not one."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise InputError(f"{path}: no such file") from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not a readable JSON file ({e})") from e
    schema = data.get("schema") if isinstance(data, dict) else None
    if not isinstance(schema, str) or not schema.startswith("vidq.eval.") or not isinstance(data.get("items"), list):
        raise InputError(f"{path}: not a 'vidq eval' result (no vidq.eval.* schema with items)")
    return data


def _flags(items: Sequence[Mapping[str, Any]]) -> dict[str, bool]:
    return {str(i["id"]): bool(i.get("correct")) for i in items if "id" in i}


def difference(label: str, a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]]) -> Difference:
    """Compare two item lists: McNemar on shared ids when there are any, else two proportions."""
    fa, fb = _flags(a), _flags(b)
    shared = sorted(set(fa) & set(fb))
    acc_a, acc_b = accuracy(list(fa.values())), accuracy(list(fb.values()))
    if shared:
        only_a = sum(1 for i in shared if fa[i] and not fb[i])
        only_b = sum(1 for i in shared if fb[i] and not fa[i])
        return Difference(label, acc_a.n, acc_b.n, acc_a.accuracy, acc_b.accuracy, "mcnemar", len(shared),
                          only_a, only_b, mcnemar_exact(only_a, only_b))
    _, p = two_proportion_test(acc_a.correct, acc_a.n, acc_b.correct, acc_b.n)
    return Difference(label, acc_a.n, acc_b.n, acc_a.accuracy, acc_b.accuracy, "two-proportion", 0, 0, 0, p)


def _slices(schema: str, a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[Difference]:
    out = [difference("overall", a, b)]
    for fld in GROUP_FIELDS.get(schema.split("/")[0], ()):
        values = sorted({i.get(fld) for i in a + b if i.get(fld) is not None}, key=lambda v: (str(type(v)), v))
        for v in values:
            label = f"{fld}={v * 100:g}%" if fld == "depth" else f"{fld}={v}"
            out.append(difference(label, [i for i in a if i.get(fld) == v], [i for i in b if i.get(fld) == v]))
    return out


def compare(a: dict[str, Any], b: dict[str, Any]) -> Comparison:
    """The comparison of two loaded results (schemas must match)."""
    if a["schema"] != b["schema"]:
        raise InputError(f"cannot compare a {a['schema']} result with a {b['schema']} one")
    run_a, run_b = a.get("run") or {}, b.get("run") or {}
    setup = [(k, run_a.get(k), run_b.get(k)) for k in SETUP_KEYS if run_a.get(k) != run_b.get(k)]
    va, vb = run_a.get("versions") or {}, run_b.get("versions") or {}
    setup += [(f"versions.{k}", va.get(k), vb.get(k)) for k in sorted(set(va) | set(vb)) if va.get(k) != vb.get(k)]
    sa, sb = a.get("speed") or {}, b.get("speed") or {}
    speed = [(k, sa.get(k), sb.get(k)) for k in ("median_wall_s", "median_ttft_s", "total_wall_s", "peak_gpu_bytes",
                                                 "peak_rss_bytes") if sa.get(k) is not None or sb.get(k) is not None]
    return Comparison(schema=a["schema"], setup=setup, slices=_slices(a["schema"], a["items"], b["items"]), speed=speed)
