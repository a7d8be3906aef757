import json

import numpy as np
import pytest

import acquire
from acquire import ModelError, fit_model, load_model
from acquire.predictors import XGBoostPredictor


def test_masked_xgboost_is_calibrated_on_held_out_pima(pima_model):
    report = {r["missing_fraction"]: r for r in pima_model.metrics["by_missingness"]}
    assert set(report) == {0.0, 0.25, 0.5, 0.75}
    assert report[0.0]["auroc"] > 0.78 and report[0.0]["log_loss"] < 0.55
    # performance degrades gracefully, not catastrophically, as tests go missing
    assert report[0.5]["auroc"] > 0.7
    assert report[0.75]["log_loss"] < 0.693 + 0.05  # no worse than a coin plus a little


def test_breast_cancer_model(breast_cancer):
    frame, spec = breast_cancer
    # one ensemble, not a bag: the last check below (a group worth at least its best panel) is a property
    # of this model, not a law; XGBoost and the copula are separate models, so nothing makes the value
    # monotone in the set. With the default bag of 5 this case values the aspirate group at 0.011 and its
    # concavity panel at 0.021 nats (8,192 draws each).
    model = fit_model(frame, spec, predictor="xgboost", seed=0, predictor_params={"n_estimators": 100, "n_bags": 1})
    assert model.metrics["by_missingness"][0]["auroc"] > 0.97
    ranking = model.rank({"mean_radius": 20.0, "mean_texture": 25.0, "radius_error": 1.0, "worst_radius": 25.0,
                          "texture_error": 1.0, "worst_texture": 30.0})
    kinds = {c.feature: c.kind for c in ranking.candidates}
    assert kinds["aspirate"] == "group" and kinds["area"] == "panel" and "radius" not in kinds
    # the aspirate is already paid (radius and texture were measured): a panel costs its members' own costs
    for c in ranking.candidates:
        if c.kind == "panel":
            assert c.cost == pytest.approx(sum(model.spec.feature(m).cost for m in c.members))
            assert c.cost == pytest.approx(2 * model.spec.feature(c.members[0]).cost)  # mean_ member is half
    group = next(c for c in ranking.candidates if c.kind == "group")
    assert group.value >= max(c.value for c in ranking.candidates if c.kind == "panel") - 3 * group.se


def test_model_directory_round_trip(pima_model, pima_model_dir):
    loaded = load_model(pima_model_dir)
    X = np.array([[np.nan, 140.0, 70.0, np.nan, 33.0, 0.5, 50.0], [2, 90, np.nan, 20, 25, np.nan, 30]], dtype=float)
    np.testing.assert_array_equal(loaded.predictor.predict_distribution(X), pima_model.predictor.predict_distribution(X))
    case = {"age": 50, "bmi": 33.0}
    assert loaded.rank(case).to_dict() == pima_model.rank(case).to_dict()
    manifest = json.loads((pima_model_dir / "manifest.json").read_text())
    assert set(manifest["files"]) == {"conditional.json", "metrics.json", "predictor.ubj", "spec.json",
                                      "training_rows.json"}
    assert not any(p.suffix in {".pkl", ".pickle", ".joblib"} for p in pima_model_dir.iterdir())


@pytest.mark.parametrize("damage, message", [
    (lambda d: (d / "predictor.ubj").write_bytes((d / "predictor.ubj").read_bytes()[:100]), "predictor.ubj does not match its checksum"),
    (lambda d: (d / "conditional.json").write_text("{}"), "conditional.json does not match its checksum"),
    (lambda d: (d / "spec.json").unlink(), "file 'spec.json' listed in the manifest is missing"),
    (lambda d: (d / "manifest.json").write_text("{not json"), "manifest.json: unreadable"),
    (lambda d: (d / "manifest.json").unlink(), "not an acquire model (no manifest.json)"),
])
def test_corrupt_model_directories_are_refused(pima_model, tmp_path, damage, message):
    d = pima_model.save(tmp_path / "m")
    damage(d)
    with pytest.raises(ModelError) as err:
        load_model(d)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_save_is_atomic_and_refuses_foreign_folders(pima_model, tmp_path):
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(Exception, match="not an acquire model; refusing to overwrite"):
        pima_model.save(foreign)
    assert (foreign / "keep.txt").read_text() == "mine"
    d = pima_model.save(tmp_path / "m")
    pima_model.save(d)  # replacing our own model is fine
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "notes"]  # no temporary folders left


def test_continuous_target_predicts_mean_and_variance():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    y = 2 * X[:, 0] + rng.normal(scale=0.5 + (X[:, 1] > 0), size=600)
    model = XGBoostPredictor(n_estimators=60, mask_copies=4).fit(X, y, kind="continuous")
    full = model.predict_distribution(np.array([[1.0, -1.0, 0.0], [1.0, 1.0, 0.0]]))
    assert full[0, 0] == pytest.approx(2.0, abs=0.5) and full[1, 1] > full[0, 1]  # heteroscedastic
    hidden = model.predict_distribution(np.array([[np.nan, -1.0, 0.0]]))
    assert hidden[0, 1] > full[0, 1]  # hiding the strong feature raises the variance


def test_a_monotone_feature_moves_the_prediction_one_way_only(tmp_path):
    """features[].monotone: increasing. Unconstrained, P(diabetes) from glu alone had 13 decreasing
    steps on a 60-200 grid (dips up to 0.15); constrained, none, and the constraint survives a reload."""
    import acquire
    from acquire import datasets

    frame, spec = datasets.load("pima")
    data = spec.to_dict()
    next(f for f in data["features"] if f["name"] == "glu")["monotone"] = "increasing"
    model = acquire.fit_model(frame, acquire.load_spec(data), predictor="xgboost", seed=0, holdout=0, predictor_params={"n_estimators": 100})
    reloaded = acquire.load_model(model.save(tmp_path / "m"))
    grid = np.linspace(60, 200, 141)
    for predictor in (model.predictor, reloaded.predictor):
        for base in (np.full(7, np.nan), spec.encode(frame.head(3))[0], spec.encode(frame.head(3))[2]):
            X = np.repeat(base[None, :], grid.size, axis=0)
            X[:, 1] = grid
            p = predictor.predict_distribution(X)[:, 1]
            assert (np.diff(p) >= -1e-12).all()
    assert reloaded.predictor.monotone == "(0,1,0,0,0,0,0)"


@pytest.mark.parametrize("change, words", [
    (lambda d: d["features"][0].update(type="categorical", levels=[0, 1], monotone="increasing"),
     "categorical feature has no order"),
    (lambda d: d["target"].update(kind="multiclass", classes=["a", "b", "c"]) or d["features"][1].update(monotone="increasing"),
     "need a binary or continuous target"),
])
def test_monotone_is_refused_where_it_has_no_meaning(change, words):
    import acquire
    from acquire import datasets

    data = datasets.load("pima")[1].to_dict()
    data["use_case"] = {"kind": "risk_prediction"}
    change(data)
    with pytest.raises(acquire.SpecError, match=words):
        acquire.load_spec(data)


def test_monotone_with_a_predictor_that_cannot_apply_it_is_refused_before_fitting():
    import acquire
    from acquire import datasets

    frame, spec = datasets.load("pima")
    data = spec.to_dict()
    data["features"][1]["monotone"] = "increasing"
    with pytest.raises(acquire.AcquireError, match="constraint of the xgboost predictor"):
        acquire.fit_model(frame, acquire.load_spec(data), predictor="bayes", seed=0)


def test_a_bag_predicts_the_mean_margin_of_its_members():
    """average_boosters: one booster whose margin is the mean of the members' margins (XGBoost's own
    predictions of each member, float32 sums), for binary and multiclass targets."""
    import xgboost as xgb

    from acquire.predictors.xgboost import average_boosters

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y2 = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    y3 = np.digitize(X[:, 0] + X[:, 1], [-0.5, 0.5])
    X[rng.random(X.shape) < 0.2] = np.nan
    Xt = rng.normal(size=(100, 4))
    Xt[rng.random(Xt.shape) < 0.3] = np.nan
    for y, params in ((y2, {"objective": "binary:logistic"}), (y3, {"objective": "multi:softprob", "num_class": 3})):
        members = [xgb.train({**params, "max_depth": 3, "subsample": 0.7, "seed": s}, xgb.DMatrix(X, label=y), 15)
                   for s in range(4)]
        margins = [np.asarray(b.inplace_predict(Xt, predict_type="margin")).reshape(len(Xt), -1) for b in members]
        bag = average_boosters(members)
        assert bag.num_boosted_rounds() == 60
        got = np.asarray(bag.inplace_predict(Xt, predict_type="margin")).reshape(len(Xt), -1)
        np.testing.assert_allclose(got, np.mean(margins, axis=0), atol=2e-6)
        assert np.abs(got - margins[0]).max() > 1e-2  # the members differ: the mean is not any one of them
    with pytest.raises(ValueError, match="differ"):
        average_boosters([members[0], xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, label=y2), 2)])


def test_bagged_xgboost_round_trips_and_bag_zero_is_the_unbagged_model(tmp_path):
    from acquire import datasets

    frame, spec = datasets.load("pima")
    params = {"n_estimators": 30, "max_depth": 2, "mask_copies": 4}
    one = fit_model(frame, spec, predictor="xgboost", holdout=0, predictor_params={**params, "n_bags": 1})
    bag = fit_model(frame, spec, predictor="xgboost", holdout=0, predictor_params={**params, "n_bags": 3})
    X = spec.encode(frame)
    assert bag.predictor.booster_.num_boosted_rounds() == 3 * one.predictor.booster_.num_boosted_rounds()
    first = json.loads(bytes(one.predictor.booster_.save_raw("json")))["learner"]["gradient_booster"]["model"]["trees"]
    trees = json.loads(bytes(bag.predictor.booster_.save_raw("json")))["learner"]["gradient_booster"]["model"]["trees"]
    np.testing.assert_allclose(trees[0]["split_conditions"], first[0]["split_conditions"][:1] + [
        v / 3 if c == -1 else v for v, c in zip(first[0]["split_conditions"][1:], first[0]["left_children"][1:])],
        rtol=1e-6)  # bag 0's first tree, leaves divided by 3
    bag.save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert again.predictor.n_bags == 3
    np.testing.assert_array_equal(again.predictor.predict_distribution(X), bag.predictor.predict_distribution(X))
    with pytest.raises(acquire.DataError, match="n_bags"):
        XGBoostPredictor(n_bags=0).fit(X, np.zeros(len(X)), kind="binary")
