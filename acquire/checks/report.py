"""Findings and the report that carries them: table, JSON, markdown, and a folder with plots."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

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
        """The findings table first, then one section per finding (with its figure if ``figures`` names it)."""
        figures = figures or {}
        lines = [f"# Alignment check ({self.use_case})", ""] + ([self.protocol, ""] if self.protocol else [])
        if not self.findings:
            return "\n".join(lines + ["No findings."])
        lines += ["| # | severity | finding | features |", "| --- | --- | --- | --- |"]
        lines += [f"| {i} | {f.severity} | {f.title} | {', '.join(f.features) or '-'} |"
                  for i, f in enumerate(self.findings, 1)]
        for i, f in enumerate(self.findings, 1):
            lines += ["", f"## {i}. [{f.severity}] {f.title} (`{f.id}`)", ""]
            if i in figures:
                lines += [f"![{f.id}]({figures[i]})", ""]
            lines += [f"- {k}: {v}" for k, v in f.evidence.items()]
            lines += ["", f"What to do: {f.advice}"]
        return "\n".join(lines) + "\n"

    def write(self, directory: str | Path) -> Path:
        """Write ``report.md``, ``report.json`` and one PNG per plottable finding, atomically."""
        import matplotlib.pyplot as plt

        import acquire._json as strict_json
        from acquire._io import atomic_directory
        from acquire.checks.plots import plot_finding

        with atomic_directory(Path(directory), marker="report.json") as tmp:
            figures = {}
            for i, f in enumerate(self.findings, 1):
                ax = plot_finding(f)
                if ax is not None:
                    figures[i] = f"figure-{i:02d}-{f.id}.png"
                    ax.figure.savefig(tmp / figures[i], dpi=110)
                    plt.close(ax.figure)
            (tmp / "report.md").write_text(self.to_markdown(figures), "utf-8")
            (tmp / "report.json").write_text(strict_json.dumps(self.to_dict(), indent=2, default=_plain), "utf-8")
        return Path(directory)


def _plain(value):
    """JSON for NumPy scalars and arrays."""
    return value.tolist() if hasattr(value, "tolist") else str(value)
