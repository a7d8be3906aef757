"""Result objects as lifelines shows them: a one-line repr in a shell, an HTML table in a notebook."""

from __future__ import annotations


def test_result_objects_are_short_in_a_shell_and_tables_in_a_notebook(pima, pima_model):
    from acquire.checks import check
    from acquire.engine.shapley import ValueOfInformationGame, shapley_values
    from acquire.simulate import simulate

    frame, spec = pima
    ranking = pima_model.rank({"age": 30.0})
    result = shapley_values(ValueOfInformationGame(pima_model.ranker(n_draws=256), {"age": 30.0, "bmi": 25.0}))
    sim = simulate(frame, spec, ["greedy", "all"], seed=0, max_cases=20, n_boot=20)
    report = check(pima_model, frame.head(120), checks=["leaky_features"])
    for obj in (ranking, result, sim, report):
        assert len(repr(obj)) < 200 and "\n" not in repr(obj), repr(obj)  # Simulation's was 4 KB of DataFrames
        assert obj._repr_html_().count("<table") == 1
    assert "ci_lower" in result._repr_html_() and "ci_upper" in ranking._repr_html_()
    # the simulation's summary names its interval by level too; JSON keeps the old names one release
    assert {"normalized_auc_ci_lower_95", "normalized_auc_ci_upper_95"} <= set(sim.summary.columns)
    s = sim.summary.iloc[0]
    assert s["normalized_auc_ci_lower_95"] <= s["normalized_auc"] <= s["normalized_auc_ci_upper_95"]
    import json

    first = json.loads(sim.to_json())["policies"][0]
    assert first["auc_lo"] == first["normalized_auc_ci_lower_95"] and first["auc_hi"] == first["normalized_auc_ci_upper_95"]


def test_summaries_name_the_interval_level(pima_model):
    from acquire.engine.shapley import ValueOfInformationGame, shapley_values

    ranking = pima_model.rank({"age": 30.0}, method="mc", n_draws=256)
    table = ranking.summary
    assert table.index.name == "feature" and list(table.index) == [c.feature for c in ranking.candidates]
    assert {"ci_lower_95", "ci_upper_95", "dof"} <= set(table.columns)
    assert (table["ci_lower_95"] <= table["value"]).all() and (table["value"] <= table["ci_upper_95"]).all()
    result = shapley_values(ValueOfInformationGame(pima_model.ranker(n_draws=256), {"age": 30.0, "bmi": 25.0}))
    assert {"ci_lower_95", "ci_upper_95"} <= set(result.summary.columns) and result.summary.index.name == "player"
