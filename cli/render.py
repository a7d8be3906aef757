"""Turn results into text: an 80-column table, JSON or CSV. Presentation only, no logic."""

from __future__ import annotations

import io
import math
from typing import Any, Sequence


def to_json(obj: Any) -> str:
    """Strict JSON: a missing or non-finite number is ``null`` (``acquire._json``)."""
    from acquire._json import dumps

    return dumps(obj, indent=2, default=_default)


def _default(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def table(rows: Sequence[Sequence[Any]], header: Sequence[str], align: str | None = None,
          formats: Sequence[str | None] | None = None) -> str:
    """A plain text table; ``align`` is 'l'/'r' per column (default: first left, rest right);
    ``formats`` an optional format spec per column for floats (e.g. ".2f")."""
    align = align or "l" + "r" * (len(header) - 1)
    formats = formats or [None] * len(header)
    cells = [[str(h) for h in header]] + [[_cell(v, f) for v, f in zip(row, formats)] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for k, r in enumerate(cells):
        lines.append("  ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(r, widths, align)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths).rstrip())
    return "\n".join(lines)


def _cell(v: Any, fmt: str | None = None) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float) and fmt:
        return format(v, fmt)
    if isinstance(v, float):
        if v == 0:
            return "0"
        return f"{v:.4f}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)


def csv_text(frame) -> str:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def ranking_table(ranking, label: str) -> str:
    """The human view of a :class:`acquire.Ranking`, fitting 80 columns."""
    d = ranking.to_dict()
    unit = "nats" if d["objective"] == "eig" else "utility"
    money = d["currency"] or "cost units"
    observed = ", ".join(f"{k}={_short(v)}" for k, v in d["case"]["observed"].items()) or "nothing"
    out = [f"Case {label}; observed: {observed}"]
    cur = d["current"]
    if "probabilities" in cur:
        target = cur.get("target", "y")
        probs = ", ".join(f"P({target}={k})={v:.3f}" for k, v in cur["probabilities"].items())
        line = f"Now: {probs}; entropy {cur['entropy']:.3f} nats"
        if "best_action" in cur:
            line += f"; best action: {cur['best_action']}"
        out.append(line)
    else:
        out.append(f"Now: mean {cur['mean']:.4g}, sd {cur['sd']:.4g}")
    budget = "none" if d["budget"] is None else f"{d['budget']:g} {money}"
    out.append(f"Objective: {d['objective'].upper()} ({unit}); exchange rate {d['exchange_rate']:g} {unit} per {money}; "
               f"budget: {budget}")
    out.append("")
    rows = []
    for c in ranking.candidates:
        name = c.feature if c.kind == "feature" else f"{c.feature} [{c.kind}: {len(c.members)}]"
        # no Monte Carlo error to show: say what the value is instead
        se = {"exact": "exact", "quadrature": "quadrature"}.get(c.method, c.se)
        rows.append([name, c.cost, c.value, se, c.net_value, c.value_per_cost, "" if c.within_budget else "over budget"])
    out.append(table(rows, ["test", "cost", "value", "se", "net value", "value/cost", ""],
                     formats=[None, ".2f", ".4g", ".2g", ".4g", ".4g", None]))
    out.append("")
    if d["stop"]:
        from acquire.engine.pricing import NOT_WORTH

        out.append(f"Stop: {d['stop_reason']}.")
        paid = [c for c in ranking.candidates if c.within_budget and c.cost > 0]
        if d["stop_reason"] == NOT_WORTH and paid:
            best = max(paid, key=lambda c: c.value / c.cost)
            out.append(f"(The best, {best.feature}, would be worth its cost at an exchange rate below "
                       f"{best.value / best.cost:.3g} {unit} per {money}.)")
    else:
        out.append(f"Next: order {d['recommendation']} (best value per cost with positive net value).")
    return "\n".join(out)


def _short(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)
