"""Every figure the project draws keeps the house style (acquire.plots): a title naming the dataset
and n, labelled axes with the currency on cost axes, intervals explained, legends off the data,
and PNG + SVG on disk."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from acquire import plots  # noqa: E402
from acquire.simulate import Simulation  # noqa: E402


def _sim(policies=("greedy", "static", "random", "all", "half", "none")) -> Simulation:
    """A simulation result with known curves (no fitting): each policy's metric rises with cost."""
    grid = np.linspace(0, 10, 11)
    curves = pd.concat([pd.DataFrame({"policy": p, "cost": grid, "metric": 0.5 + 0.03 * k + 0.02 * grid,
                                      "lo": 0.45 + 0.03 * k + 0.02 * grid, "hi": 0.55 + 0.03 * k + 0.02 * grid})
                        for k, p in enumerate(policies)])
    steps = pd.DataFrame([{"policy": p, "case": c, "step": s, "acquired": None if s == 0 else f"t{s}",
                           "cumulative_cost": 2.0 * s} for p in policies for c in range(5) for s in range(1 + c % 3)])
    return Simulation(steps, curves, pd.DataFrame({"policy": list(policies)}), "auroc", 0.8, 10.0, {"n_test": 5},
                      dataset="toyset", currency="CAD")


def _texts(fig) -> str:
    return " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))


def _legend_clear_of_data(ax) -> None:
    """The legend (on the axes or the figure) does not overlap any axes' data area."""
    fig = ax.figure
    fig.canvas.draw()
    legends = [a.get_legend() for a in fig.axes if a.get_legend() is not None] + list(fig.legends)
    assert legends, "a figure without a legend explains nothing it draws"
    for legend in legends:
        box = legend.get_window_extent()
        for a in fig.axes:
            if a.get_visible():
                assert not box.overlaps(a.get_window_extent()), f"legend covers the data of {a.get_title()!r}"


@pytest.mark.parametrize("policies", [("greedy", "all"), ("greedy", "static", "random", "all", "half", "none")])
def test_simulation_curves_read_on_their_own(policies):
    sim = _sim(policies)
    ax = sim.plot()
    fig = ax.figure
    text = _texts(fig)
    assert "toyset" in text and "n = 5 held-out cases" in text and "AUROC" in text
    assert "(CAD)" in text and "bootstrap 95 % interval over cases" in text
    _legend_clear_of_data(ax)
    if len(policies) > 3:  # small multiples: one panel per policy, so six bands never merge into one blob
        assert len([a for a in fig.axes if a.get_visible()]) == len(policies)
        assert {a.get_title() for a in fig.axes if a.get_visible()} == set(policies)
    plots.close(fig)


def test_costs_and_tests_figures_name_their_axes_and_currency():
    sim = _sim(("greedy", "all"))
    for ax in (sim.plot_costs(), sim.plot_tests()):
        assert ax.get_xlabel() and ax.get_ylabel() and "toyset" in ax.get_title()
        _legend_clear_of_data(ax)
        plots.close(ax.figure)
    ax = sim.plot_costs()
    assert "(CAD)" in ax.get_ylabel() and ax.get_ylim()[0] == 0
    plots.close(ax.figure)


def test_frontier_is_points_with_intervals_labelled_by_exchange_rate():
    sim = _sim(("greedy",))
    front = pd.DataFrame({"exchange_rate": [0.0, 0.001, 0.01, 0.1], "mean_cost": [10.0, 6.0, 2.0, 0.5],
                          "auroc": [0.8, 0.79, 0.74, 0.6], "auroc_lo": [0.75, 0.74, 0.69, 0.55],
                          "auroc_hi": [0.85, 0.84, 0.79, 0.65], "cases": 40})
    ax = sim.plot_frontier(front)
    text = _texts(ax.figure)
    for rate in ("λ=0.1", "λ=0.01", "λ=0.001", "λ=0"):
        assert rate in text
    assert "n = 40 held-out cases" in text and "(CAD)" in ax.get_xlabel() and "nats per CAD" in text
    # the points are markers, not a line joining them (no policy achieves the segments between)
    joined = [line for line in ax.get_lines() if line.get_linestyle() not in ("None", "", " ")
              and len(line.get_xdata()) == len(front) and line.get_drawstyle() == "default"]
    assert not joined
    bars = [c for c in ax.containers if isinstance(c, matplotlib.container.ErrorbarContainer)]
    assert bars and bars[0].has_yerr
    _legend_clear_of_data(ax)
    plots.close(ax.figure)


def test_frontier_marks_measured_falls_and_reads_an_error_metric_the_right_way_up():
    """AUROC: the step line is the running maximum over cost and a point whose paired change interval lies
    below 0 is marked. RMSE (lower is better): the running minimum, a rise excluding 0 is marked, and no
    '99 %' line (99 % of an error is no target)."""
    front = pd.DataFrame({"exchange_rate": [0.0, 0.001, 0.01, 0.1], "mean_cost": [10.0, 6.0, 2.0, 0.5],
                          "auroc": [0.8, 0.70, 0.74, 0.6], "auroc_lo": [0.75, 0.65, 0.69, 0.55],
                          "auroc_hi": [0.85, 0.75, 0.79, 0.65], "cases": 40,
                          "auroc_change": [0.1, -0.04, 0.14, np.nan], "auroc_change_lo": [0.05, -0.07, 0.1, np.nan],
                          "auroc_change_hi": [0.15, -0.01, 0.2, np.nan]})
    for metric, higher in (("auroc", True), ("rmse", False)):
        sim = _sim(("greedy",))
        sim.metric = metric
        shown = front if higher else front.rename(columns=lambda c: c.replace("auroc", "rmse")).assign(
            rmse=[0.3, 0.4, 0.36, 0.5], rmse_lo=[0.25, 0.35, 0.31, 0.45], rmse_hi=[0.35, 0.45, 0.41, 0.55],
            rmse_change_lo=[-0.15, 0.01, -0.2, np.nan], rmse_change_hi=[-0.05, 0.07, -0.1, np.nan])
        ax = sim.plot_frontier(shown)
        step = next(line for line in ax.get_lines() if line.get_drawstyle() == "steps-post")
        ys = shown.sort_values("mean_cost")[metric]
        np.testing.assert_array_equal(step.get_ydata(), ys.cummax() if higher else ys.cummin())
        marked = [c for c in ax.collections if "measurably worse" in str(c.get_label())]
        assert len(marked) == 1 and marked[0].get_offsets().tolist() == [[6.0, shown[metric].iloc[1]]]
        assert ("99 % of every test bought" in _texts(ax.figure)) == higher
        plots.close(ax.figure)


def test_save_writes_png_and_svg_atomically_and_refuses_to_clobber_a_folder(tmp_path):
    ax = plots.new_axes()
    ax.plot([0, 1], [0, 1])
    written = plots.save(ax.figure, tmp_path / "fig.png")
    assert [p.name for p in written] == ["fig.png", "fig.svg"]
    assert (tmp_path / "fig.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "fig.svg").read_text().lstrip().startswith("<?xml")
    (tmp_path / "dir.svg").mkdir()
    from acquire.exceptions import AcquireError

    with pytest.raises(AcquireError):
        plots.save(ax.figure, tmp_path / "dir.png")
    assert (tmp_path / "dir.svg").is_dir()
    plots.close(ax.figure)


def test_shapley_bars_say_what_their_error_bars_are():
    from acquire.engine.shapley import ShapleyResult

    sampled = ShapleyResult(["a", "b"], np.array([0.2, -0.05]), np.array([0.01, 0.02]), 0.0, 0.15, "enumerated", 4,
                            unit="nats", dof=np.array([7, 7]))
    ax = sampled.plot(case="pima row 0")
    text = _texts(ax.figure)
    assert "pima row 0" in text and "value ∓ t(7 dof) · se" in text and "(nats)" in ax.get_xlabel()
    _legend_clear_of_data(ax)
    plots.close(ax.figure)
    exact = ShapleyResult(["a", "b"], np.array([0.2, -0.05]), np.zeros(2), 0.0, 0.15, "exact", 4, unit="nats",
                          dof=np.array([0, 0]))
    ax = exact.plot()
    assert "no sampling error" in _texts(ax.figure)
    assert not [c for c in ax.containers if isinstance(c, matplotlib.container.ErrorbarContainer)]
    plots.close(ax.figure)


def test_every_check_finding_figure_keeps_the_style():
    """One synthetic finding per plottable check, drawn with its report's context."""
    from acquire.checks.plots import PLOTS, Context, plot_finding
    from acquire.checks.report import Finding

    findings = [
        Finding("treatment_confounding", "t reverses", "high", {"naive_risk_difference": 0.17, "naive_ci95": [0.1, 0.2],
                "stratified_risk_difference": -0.05, "stratified_ci95": [-0.09, -0.02], "strata": 5}, ["t"]),
        Finding("sensitive_proxies", "proxies", "high", {"contrast": "group=B", "all_features_ci95": [0.9, 0.95],
                "per_feature_auroc": {"x": {"auroc": 0.9, "ci95": [0.85, 0.95]}}}, ["x"],
                data={"auroc": {"x": 0.9}, "all_features": 0.93}),
        Finding("proxy_target", "proxy", "high", {"audit": "need"}, ["g"],
                data={"g=A": {"mean_risk": [0.1, 0.5], "mean_audit": [1, 2]}, "g=B": {"mean_risk": [0.1, 0.5],
                                                                                    "mean_audit": [1.5, 3]}}),
        Finding("testing_burden", "burden", "warning", {"mean_cost": 3.0, "cases": 600}, ["g"],
                data={"by_group": {"g=A": {"mean_cost": 2.0, "lo": 1.5, "hi": 2.5},
                                   "g=B": {"mean_cost": 5.0, "lo": 4.0, "hi": 6.0}}}),
        Finding("subgroup_performance", "hole", "warning", {"metric": "auroc"}, ["c"],
                data={"overall": 0.8, "slices": {"c=1": {"auroc": 0.6, "ci95": [0.5, 0.7], "expected_by_model": 0.75},
                                                 "c=2": {"auroc": 0.8, "ci95": [0.7, 0.9], "expected_by_model": 0.8}}}),
        Finding("leaky_features.too_predictive", "leak", "warning", {"single_feature_auroc": 0.97, "ci95": [0.95, 0.99],
                                                                     "threshold": 0.95}, ["x"]),
        Finding("objective_disagreement", "differ", "info", {"share_top_test_differs": 0.25, "cases": 99}),
    ]
    assert {f.id for f in findings} == set(PLOTS)
    for f in findings:
        ax = plot_finding(f, context=Context("toyset", 4000, "CAD"))
        text = _texts(ax.figure)
        assert "toyset" in text and ("n = 600 cases" if f.id == "testing_burden" else "n = ") in text, f.id
        assert ax.get_xlabel(), f.id
        if f.id == "testing_burden":
            assert "(CAD)" in ax.get_xlabel()
        if ax.containers and any(isinstance(c, matplotlib.container.ErrorbarContainer) for c in ax.containers):
            assert "bootstrap 95 % interval over cases" in text, f.id
        _legend_clear_of_data(ax)
        plots.close(ax.figure)
