import json

import numpy as np
import pandas as pd
import pytest

from acquire import DataError, SpecError, load_spec
from acquire.datasets import load

GOOD = {
    "target": {"name": "y", "kind": "binary", "classes": [0, 1]},
    "groups": {"blood": {"shared_cost": 2.0}},
    "features": [
        {"name": "a", "type": "continuous", "cost": 1.0, "range": [0, 10], "group": "blood"},
        {"name": "b", "type": "continuous", "cost": 3.0, "group": "blood"},
        {"name": "c", "type": "categorical", "cost": 0.5, "levels": ["lo", "mid", "hi"]},
    ],
    "use_case": {"kind": "risk_prediction", "actions": ["wait", "treat"], "utility": [[0, -10], [-1, -2]]},
}


def with_change(path, value):
    spec = json.loads(json.dumps(GOOD))
    node = spec
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return spec


def test_good_spec_loads_with_defaults():
    spec = load_spec(GOOD)
    assert spec.feature_names == ["a", "b", "c"]
    assert spec.feature("a").available == "before_decision" and spec.feature("a").role == "measurement"
    assert spec.groups == {"blood": 2.0}
    assert [(u.name, u.kind, u.members) for u in spec.units()] == [
        ("a", "feature", ("a",)), ("b", "feature", ("b",)), ("c", "feature", ("c",)), ("blood", "group", ("a", "b"))]


@pytest.mark.parametrize("path, value, message", [
    (("features", 1, "cost"), -1, "features[1].cost: -1 is less than the minimum of 0"),
    (("features", 0, "colour"), "red", "features[0]: Additional properties are not allowed ('colour' was unexpected)"),
    (("target", "kind"), "ordinalish", "target.kind: 'ordinalish' is not one of"),
    (("features", 0, "group"), "urine", "features[0].group: group 'urine' is not declared under groups"),
    (("features", 0, "range"), [5, 1], "features[0].range: low 5 must be below high 1"),
    (("use_case", "utility"), [[0, 1], [2, 3], [4, 5]], "use_case.utility: has 3 rows; expected 2, one per action"),
    (("use_case", "utility"), [[0, 1, 2], [2, 3, 4]], "use_case.utility[0]: has 3 entries; expected 2"),
    (("target", "classes"), KeyError, "target.classes: required when use_case.utility is given"),
    (("features", 2, "levels"), KeyError, "features[2].levels: a categorical feature needs its levels"),
    (("features",), [], "features: []"),  # jsonschema words it "is too short" (4.20) or "should be non-empty" (4.26)
])
def test_spec_errors_name_the_key_path(path, value, message):
    with pytest.raises(SpecError) as err:
        load_spec(with_change(path, value))
    assert message in str(err.value)
    assert all(line.startswith("<spec>: ") for line in str(err.value).splitlines())  # one line per problem


def test_duplicate_and_target_names_are_rejected():
    spec = with_change(("features", 1, "name"), "a")
    with pytest.raises(SpecError, match=r"features\[1\].name: duplicate feature name 'a'"):
        load_spec(spec)
    with pytest.raises(SpecError, match="is the target"):
        load_spec(with_change(("features", 1, "name"), "y"))


def test_spec_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("target: {name: y, kind: binary\nfeatures: [")
    with pytest.raises(SpecError, match=r"^bad.yaml: not valid YAML"):
        load_spec(bad)
    neg = tmp_path / "neg.json"
    neg.write_text(json.dumps(with_change(("features", 0, "cost"), -3)))
    with pytest.raises(SpecError, match=r"^neg.json: features\[0\].cost: -3 is less than the minimum of 0$"):
        load_spec(neg)
    with pytest.raises(SpecError, match="spec file not found"):
        load_spec(tmp_path / "missing.yaml")
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(SpecError, match="must be a mapping"):
        load_spec(scalar)


def test_encode_checks_values():
    spec = load_spec(GOOD)
    X = spec.encode(pd.DataFrame({"a": [1.0, np.nan], "b": [2, 3], "c": ["hi", "lo"]}))
    np.testing.assert_array_equal(X, [[1.0, 2.0, 2.0], [np.nan, 3.0, 0.0]])
    cases = [
        (pd.DataFrame({"a": [11.0], "b": [1], "c": ["lo"]}), "row 0, column 'a': 11 is outside the spec's range [0, 10]"),
        (pd.DataFrame({"a": [1.0, 1.0], "b": ["x", 2], "c": ["lo", "lo"]}), "row 0, column 'b': 'x' is not a number"),
        (pd.DataFrame({"a": [1.0], "b": [np.inf], "c": ["lo"]}), "column 'b': infinite value"),
        (pd.DataFrame({"a": [1.0], "b": [1], "c": ["max"]}), "column 'c': unknown level 'max'"),
        (pd.DataFrame({"a": [1.0], "c": ["lo"]}), "missing column(s) 'b'"),
    ]
    for frame, message in cases:
        with pytest.raises(DataError) as err:
            spec.encode(frame)
        assert message in str(err.value)


def test_bundled_specs_load(pima, breast_cancer):
    _, pima_spec = pima
    assert pima_spec.feature("glu").cost + pima_spec.groups["blood_draw"] == pytest.approx(17.61)
    assert all(pima_spec.feature(n).cost == 1.0 for n in ["npreg", "bp", "skin", "bmi", "ped", "age"])
    _, bc_spec = breast_cancer
    panels = [u for u in bc_spec.units() if u.kind == "panel"]
    assert len(panels) == 10 and all(len(p.members) == 3 for p in panels)
    assert [u.name for u in bc_spec.units() if u.kind == "group"] == ["aspirate"]
    assert load("pima")[1].exchange_rate("evsi") == 1.0


def test_to_dict_is_a_deep_copy(pima):
    _, spec = pima
    data = spec.to_dict()
    data["features"][0]["cost"] = 999.0
    data["use_case"]["kind"] = "treatment"
    assert spec.features[0].cost != 999.0
    assert spec.to_dict()["features"][0]["cost"] != 999.0 and spec.to_dict()["use_case"]["kind"] != "treatment"


def test_with_use_case_leaves_the_spec_alone(pima):
    _, spec = pima
    other = spec.with_use_case("treatment")
    assert other.use_case["kind"] == "treatment" and spec.use_case["kind"] == "risk_prediction"
