import hashlib
import re

from acquire import datasets


def test_list_and_shapes(pima, breast_cancer):
    assert datasets.list_datasets() == ["breast_cancer", "flchain", "kidney_treatment", "pima"]
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
    for frame, spec in (pima, breast_cancer, datasets.load("flchain"), datasets.load("kidney_treatment")):
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
