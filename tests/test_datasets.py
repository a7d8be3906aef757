import hashlib
import re

from acquire import datasets


def test_list_and_shapes(pima, breast_cancer):
    assert datasets.list_datasets() == ["breast_cancer", "care_management", "flchain", "icu", "kidney_treatment", "pbc",
                                        "pima"]
    frame, spec = pima
    assert frame.shape == (532, 9) and frame["type"].value_counts().to_dict() == {"No": 355, "Yes": 177}
    assert (frame["source"] == "Pima.tr").sum() == 200
    frame, spec = breast_cancer
    assert frame.shape == (569, 31) and frame["diagnosis"].value_counts().to_dict() == {"benign": 357, "malignant": 212}
    assert frame[spec.feature_names].notna().all().all()


def test_checksums_match_provenance():
    for name in datasets.list_datasets():
        text = datasets.provenance(name)
        stated = re.search(r"SHA-256 `([0-9a-f]{64})`", text).group(1)
        actual = hashlib.sha256(datasets.data_path(name).read_bytes()).hexdigest()
        assert actual == stated, name


def test_data_within_spec_ranges(pima, breast_cancer):
    for frame, spec in (pima, breast_cancer, *(datasets.load(n) for n in ("flchain", "kidney_treatment", "care_management",
                                                                           "pbc", "icu"))):
        X = spec.encode(frame)  # raises on any value outside the spec
        assert X.shape == (len(frame), len(spec.features))


def test_describe_lists_costs():
    info = datasets.describe("pima")
    assert info["rows"] == 532 and info["groups"] == {"blood_draw": 2.10}
    assert {f["name"]: f["cost"] for f in info["features"]}["glu"] == 15.51


def test_flchain():
    frame, spec = datasets.load("flchain")
    assert frame.shape == (7874, 11) and frame["death"].value_counts().to_dict() == {0: 5705, 1: 2169}
    assert frame["creatinine"].isna().sum() == 1350  # natural missingness: candidates for acquisition
    assert spec.feature("sex").sensitive and spec.groups == {"serum": 10.0}
    assert {"flc_grp", "futime", "chapter"}.isdisjoint(spec.feature_names)  # derived or post-outcome


def test_pbc_censoring_is_explicit():
    frame, spec = datasets.load("pbc")
    assert frame.shape == (345, 21) and frame["death_4y"].value_counts().to_dict() == {0: 245, 1: 100}
    died = (frame["status"] == 2) & (frame["futime"] <= 1461)
    assert (frame["death_4y"] == died).all()  # the target is death within 4 years
    assert ((frame["futime"] > 1461) | died).all()  # nobody censored or transplanted before 4 years
    assert spec.feature("stage").group == "liver_biopsy" and spec.feature("trt").role == "treatment"


def test_icu_blood_gas_panel_and_sensitive_race():
    frame, spec = datasets.load("icu")
    assert frame.shape == (200, 21) and frame["died"].value_counts().to_dict() == {"No": 160, "Yes": 40}
    assert [f.name for f in spec.features if f.panel == "blood_gas"] == ["po2", "ph", "pco", "bic"]
    assert spec.feature("race").sensitive and frame["race"].value_counts().to_dict() == {"White": 175, "Black": 15,
                                                                                         "Other": 10}
    assert frame["coma"].value_counts().to_dict() == {"none": 185, "coma": 10, "stupor": 5}
