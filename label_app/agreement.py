"""Inter-annotator agreement per task: Krippendorff's alpha (nominal), Cohen's kappa per pair,
per-label specific agreement and annotator-by-annotator confusion.

Adjudicated rows are a reviewer's final decision, not an independent annotation, so they are left out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Any

from .schema import Schema


def units_for(labels: list[dict[str, str]], task: str) -> dict[str, dict[str, str]]:
    """sentence_id -> {annotator: value} for one task (empty values and adjudications left out)."""
    units: dict[str, dict[str, str]] = defaultdict(dict)
    for r in labels:
        if r.get("source") == "adjudicated" or not r.get(task):
            continue
        units[r["sentence_id"]][r["annotator"]] = r[task]
    return dict(units)


def krippendorff_alpha_nominal(units: dict[str, dict[str, str]]) -> float | None:
    """Krippendorff's alpha for nominal data; None when undefined (fewer than two values or no variation)."""
    o: Counter[tuple[str, str]] = Counter()
    for values in units.values():
        vals = list(values.values())
        m = len(vals)
        if m < 2:
            continue
        for i, c in enumerate(vals):
            for j, k in enumerate(vals):
                if i != j:
                    o[(c, k)] += 1.0 / (m - 1)
    n_c: Counter[str] = Counter()
    for (c, _k), w in o.items():
        n_c[c] += w
    n = sum(n_c.values())
    if n <= 1:
        return None
    observed = sum(w for (c, k), w in o.items() if c != k)
    expected = sum(n_c[c] * n_c[k] for c in n_c for k in n_c if c != k)
    if expected == 0:
        return None
    return 1.0 - (n - 1) * observed / expected


def cohen_kappa(a: list[str], b: list[str]) -> float | None:
    """Cohen's kappa of two equally long label lists; None when undefined (chance agreement is 1)."""
    n = len(a)
    if n == 0:
        return None
    p_o = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    p_e = sum(ca[k] * cb[k] for k in ca) / (n * n)
    if p_e == 1:
        return None
    return (p_o - p_e) / (1 - p_e)


@dataclass
class PairAgreement:
    a: str
    b: str
    n: int
    kappa: float | None
    percent: float
    confusion: dict[str, dict[str, int]]


@dataclass
class TaskAgreement:
    task: str
    annotators: list[str]
    units: int
    units_multi: int
    alpha: float | None
    pairs: list[PairAgreement] = field(default_factory=list)
    per_label: dict[str, float | None] = field(default_factory=dict)


def task_agreement(labels: list[dict[str, str]], task: str, label_order: list[str] | None = None) -> TaskAgreement:
    """Agreement figures of one task over label rows (one current row per sentence and annotator)."""
    units = units_for(labels, task)
    annotators = sorted({a for u in units.values() for a in u})
    multi = {s: u for s, u in units.items() if len(u) >= 2}
    result = TaskAgreement(task, annotators, len(units), len(multi), krippendorff_alpha_nominal(multi))
    order = list(label_order or sorted({v for u in units.values() for v in u.values()}))
    for x, y in combinations(annotators, 2):
        shared = [s for s, u in multi.items() if x in u and y in u]
        if not shared:
            continue
        la = [multi[s][x] for s in shared]
        lb = [multi[s][y] for s in shared]
        conf: dict[str, dict[str, int]] = {}
        for p, q in zip(la, lb, strict=True):
            conf.setdefault(p, {}).setdefault(q, 0)
            conf[p][q] += 1
        result.pairs.append(PairAgreement(x, y, len(shared), cohen_kappa(la, lb),
                                          sum(p == q for p, q in zip(la, lb, strict=True)) / len(shared), conf))
    # specific (positive) agreement per label over all annotator pairs of each sentence
    both: Counter[str] = Counter()
    slots: Counter[str] = Counter()
    for u in multi.values():
        for x, y in combinations(sorted(u), 2):
            slots[u[x]] += 1
            slots[u[y]] += 1
            if u[x] == u[y]:
                both[u[x]] += 2
    for lab in order + sorted(set(slots) - set(order)):
        result.per_label[lab] = both[lab] / slots[lab] if slots[lab] else None
    return result


def agreement_report(labels: list[dict[str, str]], schema: Schema) -> dict[str, TaskAgreement]:
    """Agreement for both tasks."""
    return {t.name: task_agreement(labels, t.name, t.names) for t in schema.tasks}


def report_json(report: dict[str, TaskAgreement]) -> dict[str, Any]:
    return {task: asdict(ta) for task, ta in report.items()}


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def report_text(report: dict[str, TaskAgreement]) -> str:
    """A readable agreement report."""
    out: list[str] = []
    for task, ta in report.items():
        n_ann = len(ta.annotators)
        out.append(f"{task}: {n_ann} annotator{'' if n_ann == 1 else 's'}, {ta.units} sentences labelled, "
                   f"{ta.units_multi} by two or more")
        out.append(f"  Krippendorff's alpha (nominal): {_fmt(ta.alpha)}")
        if not ta.pairs:
            out.append("  Cohen's kappa: no two annotators labelled the same sentence yet")
        for p in ta.pairs:
            out.append(f"  Cohen's kappa {p.a} / {p.b}: {_fmt(p.kappa)} (n={p.n}, {p.percent:.0%} identical)")
            labs = sorted(set(p.confusion) | {q for row in p.confusion.values() for q in row})
            width = max(len(x) for x in labs + [p.a]) + 1
            corner = f"{p.a} \\ {p.b}"
            out.append("    " + corner.ljust(width + 3) + " ".join(f"{q[:10]:>10}" for q in labs))
            for lab in labs:
                out.append("    " + f"{lab:<{width + 3}}" + " ".join(
                    f"{p.confusion.get(lab, {}).get(q, 0):>10}" for q in labs))
        seen = {k: v for k, v in ta.per_label.items() if v is not None}
        if seen:
            out.append("  per-label agreement: " + ", ".join(f"{k} {v:.2f}" for k, v in seen.items()))
        out.append("")
    return "\n".join(out).rstrip() + "\n"
