"""Inter-annotator agreement per task: Krippendorff's alpha (nominal), Cohen's kappa per pair,
per-label specific agreement and annotator-by-annotator confusion.

Adjudicated rows are a reviewer's final decision, not an independent annotation, so they are left out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Any

from .gold import ADJUDICATED
from .schema import Schema


def units_for(labels: list[dict[str, str]], task: str) -> dict[str, dict[str, str]]:
    """sentence_id -> {annotator: value} for one task (empty values and adjudications left out)."""
    units: dict[str, dict[str, str]] = defaultdict(dict)
    for r in labels:
        if r.get("source") == ADJUDICATED or not r.get(task):
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


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """Rows as aligned columns; widths from the content, so no name is ever cut."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths,
                                                                                                   strict=True)))
    return [line(header).rstrip()] + [line(r).rstrip() for r in rows]


def report_text(report: dict[str, TaskAgreement]) -> str:
    """A compact agreement report: one line per task, one per annotator pair, per-label agreement in one table.

    Confusion matrices are only in the JSON report (`report_json`, `agreement --json`).
    """
    out = _table(["task", "annotators", "sentences", "by 2+", "alpha"],
                 [[task, str(len(ta.annotators)), str(ta.units), str(ta.units_multi), _fmt(ta.alpha)]
                  for task, ta in report.items()], {1, 2, 3, 4})
    pairs = [[task, f"{p.a} / {p.b}", str(p.n), _fmt(p.kappa), f"{p.percent:.0%}"]
             for task, ta in report.items() for p in ta.pairs]
    out.append("")
    if pairs:
        out.append("Cohen's kappa per annotator pair (n: sentences both labelled)")
        out += _table(["task", "pair", "n", "kappa", "identical"], pairs, {2, 3, 4})
    else:
        out.append("Cohen's kappa: no two annotators labelled the same sentence yet")
    per_label = [[task, lab, f"{v:.2f}"] for task, ta in report.items() for lab, v in ta.per_label.items()
                 if v is not None]
    if per_label:
        out.append("")
        out.append("Per-label (specific) agreement")
        out += _table(["task", "label", "agreement"], per_label, {2})
    out.append("")
    out.append("Alpha: Krippendorff's alpha (nominal) over sentences with two or more annotators; adjudicated labels "
               "are not counted. Confusion matrices: --json.")
    return "\n".join(out) + "\n"
