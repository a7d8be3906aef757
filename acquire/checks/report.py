"""Findings and the report that carries them: table, JSON, markdown, and a folder with plots."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SEVERITIES = ("info", "warning", "high")


@dataclass
class Finding:
    id: str
    title: str
    severity: str
    evidence: dict
    features: list = field(default_factory=list)
    advice: str = ""
    data: dict = field(default_factory=dict)  # what the finding's plot draws


@dataclass
class CheckReport:
    findings: list[Finding]
    use_case: str
    protocol: str = ""  # how the model's predictions were judged (held out, cross-fitted, as given), in words
    dataset: str | None = None  # the spec's name, for titles
    n_rows: int | None = None  # rows of the data the checks read
    currency: str | None = None  # the spec's currency, for cost axes

    @property
    def worst(self) -> str | None:
        levels = [SEVERITIES.index(f.severity) for f in self.findings]
        return SEVERITIES[max(levels)] if levels else None

    def __repr__(self) -> str:
        worst = self.worst
        return (f"<CheckReport for {self.use_case}: {len(self.findings)} finding(s)"
                + (f", worst {worst}" if worst else "") + ">")

    def _repr_html_(self) -> str:
        """Notebooks: the protocol in words, then one row per finding."""
        import html

        return (f"<p><b>{html.escape(repr(self)[1:-1])}</b></p><p>{html.escape(self.protocol)}</p>"
                + self.to_frame().to_html(index=False))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"id": f.id, "severity": f.severity, "title": f.title, "features": ",".join(f.features)}
                             for f in self.findings], columns=["id", "severity", "title", "features"])

    def to_dict(self) -> dict:
        return {"use_case": self.use_case, "worst": self.worst, "protocol": self.protocol,
                "findings": [asdict(f) for f in self.findings]}

    def to_markdown(self, figures: dict[int, str] | None = None) -> str:
        """The findings table first, then one section per finding: its evidence as Markdown tables
        (numbers formatted for people, a value and its 95 % interval in one cell), its figure if
        ``figures`` names it, and what to do."""
        figures = figures or {}
        about = " · ".join(p for p in (self.dataset, f"{self.n_rows:,} rows" if self.n_rows else None) if p)
        lines = [f"# Alignment check ({self.use_case})", ""] + ([f"Data: {about}", ""] if about else [])
        lines += [self.protocol, ""] if self.protocol else []
        if not self.findings:
            return "\n".join(lines + ["No findings."]) + "\n"
        lines += ["| # | severity | finding | features |", "| ---: | --- | --- | --- |"]
        lines += [f"| {i} | {f.severity} | {_cell(f.title)} | {', '.join(f.features) or '–'} |"
                  for i, f in enumerate(self.findings, 1)]
        for i, f in enumerate(self.findings, 1):
            lines += ["", f"## {i}. [{f.severity}] {f.title} (`{f.id}`)", ""]
            if i in figures:
                lines += [f"![{f.id}]({figures[i]})", ""]
            lines += evidence_markdown(f.evidence)
            lines += ["", f"**What to do:** {f.advice}"]
        return "\n".join(lines) + "\n"

    def write(self, directory: str | Path) -> Path:
        """Write ``report.md``, ``report.json`` and each plottable finding's figure (PNG and SVG), atomically."""
        import acquire._json as strict_json
        import acquire.plots as plots
        from acquire._io import atomic_directory
        from acquire.checks.plots import Context, plot_finding

        context = Context(self.dataset, self.n_rows, self.currency)
        with atomic_directory(Path(directory), marker="report.json") as tmp:
            figures = {}
            for i, f in enumerate(self.findings, 1):
                ax = plot_finding(f, context=context)
                if ax is not None:
                    figures[i] = f"figure-{i:02d}-{f.id}.png"
                    try:
                        plots.save(ax.figure, tmp / figures[i])
                    finally:
                        plots.close(ax.figure)
            (tmp / "report.md").write_text(self.to_markdown(figures), "utf-8")
            (tmp / "report.json").write_text(strict_json.dumps(self.to_dict(), indent=2, default=_plain), "utf-8")
        return Path(directory)


def number(value: Any) -> str:
    """A number as people read it: integers with thousands separators, others to 4 significant digits."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v != v:
            return "–"
        if v == int(v) and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:,.4g}" if 1e-3 <= abs(v) < 1e6 else f"{v:.3g}"
    return str(value)


def _interval(value: Any) -> str | None:
    """``[lo, hi]`` of two numbers as ``lo to hi``; None for anything else."""
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return f"{number(value[0])} to {number(value[1])}"
    return None


def _cell(value: Any) -> str:
    """One table cell: numbers formatted, intervals as ranges, lists joined, pipes escaped."""
    if isinstance(value, dict):
        text = "; ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    elif _interval(value) is not None:
        text = str(_interval(value))
    elif isinstance(value, (list, tuple)):
        text = ", ".join(_cell(v) for v in value) or "–"
    elif value is None:
        text = "–"
    else:
        text = number(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _fold_intervals(entries: dict) -> dict:
    """A value and the interval right after it in one entry ``value (95 % CI)``: ``x`` then ``x_ci95``,
    ``x_something`` then ``x_ci95``, or anything then ``ci95``."""
    out: dict = {}
    last = None
    for key, value in entries.items():
        prefix = key[: -len("ci95")].rstrip("_")
        follows = last is not None and (not prefix or last == prefix or last.startswith(prefix + "_"))
        if key.endswith("ci95") and follows and _interval(value) is not None \
                and isinstance(out[last], (int, float)) and not isinstance(out[last], bool):
            out[f"{last} (95 % CI)"] = f"{number(out.pop(last))} ({_interval(value)})"
            last = None
            continue
        out[key] = value
        last = key
    return out


def evidence_markdown(evidence: dict) -> list[str]:
    """Markdown lines for a finding's evidence: one table of its scalar entries, then one table per
    nested entry (a mapping of rows, e.g. per group or per slice, gets a column per field)."""
    flat = _fold_intervals(evidence)
    scalars = {k: v for k, v in flat.items() if not isinstance(v, dict)}
    lines = []
    if scalars:
        lines += ["| evidence | value |", "| --- | ---: |"]
        lines += [f"| {k.replace('_', ' ')} | {_cell(v)} |" for k, v in scalars.items()]
    for key, table in ((k, v) for k, v in flat.items() if isinstance(v, dict)):
        lines += ["", f"**{key.replace('_', ' ')}**", ""]
        if table and all(isinstance(row, dict) for row in table.values()):
            rows = {name: _fold_intervals(row) for name, row in table.items()}
            columns = list(dict.fromkeys(c for row in rows.values() for c in row))
            lines += ["| | " + " | ".join(c.replace("_", " ") for c in columns) + " |",
                      "| --- |" + " ---: |" * len(columns)]
            lines += [f"| {_cell(name)} | " + " | ".join(_cell(row.get(c)) for c in columns) + " |"
                      for name, row in rows.items()]
        else:
            lines += ["| | value |", "| --- | ---: |"] + [f"| {_cell(k)} | {_cell(v)} |" for k, v in table.items()]
    return lines


def _plain(value):
    """JSON for NumPy scalars and arrays."""
    return value.tolist() if hasattr(value, "tolist") else str(value)
