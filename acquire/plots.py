"""The house style of every figure acquire draws.

One place decides how a figure reads, so that each one can be read on its own:

- a **title** that names what is shown, the dataset and n (cases, or the case) and the policy;
- **axis labels with units**, and the currency on every cost axis (:func:`cost_label`);
- intervals **drawn and explained** in the legend or title (what they are, their level);
- **legends outside the data** (:func:`legend_outside`), so nothing covers a bar or a point;
- every figure **saved twice**, PNG for people and SVG for documents (:func:`save`), atomically.

The drawing functions live with their results (``Simulation.plot``, ``ShapleyResult.plot``,
``acquire.checks.plots``); they all go through these helpers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

#: colours in the order policies and groups get them (colour-blind safe: Okabe & Ito)
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: the grey of context (other policies, reference lines)
CONTEXT = "#9a9a9a"
#: text sizes (points) of tick labels, axis labels and legends
STYLE: dict[str, float] = {"xtick.labelsize": 8, "axes.labelsize": 9, "legend.fontsize": 8}


def new_axes(width: float = 7.5, height: float = 4.2) -> Any:
    """A fresh figure with one axes in the house style; returns the axes."""
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(width, height))
    _apply(ax)
    return ax


def new_grid(n: int, *, columns: int = 3, width: float = 10.0, row_height: float = 2.6) -> tuple[Any, list[Any]]:
    """A figure of ``n`` small multiples sharing both axes; returns (figure, the n axes used)."""
    import matplotlib.pyplot as plt

    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width, row_height * rows + 1.0), sharex=True, sharey=True,
                             squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    for ax in flat[:n]:
        _apply(ax)
    return fig, flat[:n]


def _apply(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=STYLE["xtick.labelsize"])
    ax.xaxis.label.set_size(STYLE["axes.labelsize"])
    ax.yaxis.label.set_size(STYLE["axes.labelsize"])


def describe(what: str, *, dataset: str | None = None, n: int | None = None, unit: str = "cases",
             who: str | None = None) -> str:
    """A figure title: ``what`` then ``dataset · n = 230 held-out cases · who`` (parts that are None left out).

    >>> describe("AUROC against test cost", dataset="pima", n=160, unit="held-out cases", who="greedy")
    'AUROC against test cost\\npima · n = 160 held-out cases · greedy'
    """
    parts = [p for p in (dataset, None if n is None else f"n = {n:,} {unit}", who) if p]
    return what + ("\n" + " · ".join(parts) if parts else "")


def cost_label(what: str, currency: str | None) -> str:
    """An axis label for money: ``"mean test cost per case (CAD)"``; ``(cost units)`` when the spec
    names no currency."""
    return f"{what} ({currency or 'cost units'})"


#: how the metrics read on an axis (the scikit-learn names, then what they measure)
METRIC_LABELS = {"auroc": "AUROC (area under the ROC curve)", "rmse": "RMSE (root mean squared error)",
                 "log_loss": "log loss (nats per case)", "accuracy": "accuracy (share of cases right)"}


def metric_label(metric: str) -> str:
    """The axis label for a metric name (the name itself when it has no longer label)."""
    return METRIC_LABELS.get(metric, metric)


def legend_outside(ax: Any, *, title: str | None = None, handles: Sequence[Any] | None = None,
                   labels: Sequence[str] | None = None) -> Any:
    """The legend to the right of the axes, off the data."""
    kwargs: dict[str, Any] = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0,
                              "frameon": False, "fontsize": STYLE["legend.fontsize"]}
    if title:
        kwargs |= {"title": title, "title_fontsize": STYLE["legend.fontsize"]}
    if handles is not None:
        return ax.legend(handles, labels, **kwargs)
    return ax.legend(**kwargs)


def finish(fig: Any) -> Any:
    """Lay the figure out with room for an outside legend and a two-line title."""
    fig.tight_layout()
    return fig


def save(fig: Any, path: str | os.PathLike, *, formats: Sequence[str] = ("png", "svg"), dpi: int = 120) -> list[Path]:
    """Write ``fig`` once per format beside ``path`` (its suffix replaced), each atomically; returns the paths.

    A path whose suffix is one of ``formats`` is written in that format first; the others follow
    with their own suffix (``curves.png`` → ``curves.png``, ``curves.svg``).
    """
    from acquire._io import atomic_file

    path = Path(path)
    written = []
    for fmt in formats:
        target = path if path.suffix.lower() == "." + fmt else path.with_suffix("." + fmt)
        with atomic_file(target) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight")
        written.append(target)
    return written


def close(fig: Any) -> None:
    """Release a figure drawn for a file (pyplot keeps every open figure alive)."""
    import matplotlib.pyplot as plt

    plt.close(fig)
