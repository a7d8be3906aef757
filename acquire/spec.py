"""The problem spec: load, validate against the shipped JSON Schema, and answer questions about it.

A spec declares the target, the candidate measurements with their costs, the shared-cost
groups, the panels and the use case (see DESIGN.md, "Interfaces"). Every error names the
file, the key path and the problem on one line, e.g.
``pima.yaml: features[3].cost: -1 is less than the minimum of 0``.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import jsonschema
import numpy as np
import pandas as pd
import yaml

from acquire._typing import PathLike
from acquire.exceptions import DataError, SpecError

__all__ = ["FeatureSpec", "Spec", "Unit", "found_levels", "levels_line", "load_spec"]


@lru_cache(maxsize=1)
def _schema() -> dict:
    text = resources.files("acquire").joinpath("schema/spec.schema.json").read_text("utf-8")
    return json.loads(text)


def _one_line(text: str) -> str:
    """A problem as one line: line breaks inside keys or values are shown escaped."""
    return "\\n".join(text.splitlines())


def _key_path(path: Sequence[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def cell_text(value: Any, limit: int = 60) -> str:
    """A cell as quoted in an error reason: its repr, cut to ``limit`` characters (a 1 MiB cell is not copied)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(str(value)):,} characters)"


@dataclass(frozen=True)
class FeatureSpec:
    """One candidate measurement as declared in the spec."""

    name: str
    type: str
    cost: float
    unit: str | None = None
    range: tuple[float, float] | None = None
    levels: tuple | None = None
    group: str | None = None
    panel: str | None = None
    available: str = "before_decision"
    role: str = "measurement"
    sensitive: bool = False
    description: str | None = None
    monotone: str | None = None  # "increasing" / "decreasing": a constraint on the tree predictor

    @property
    def monotone_sign(self) -> int:
        """+1 increasing, −1 decreasing, 0 unconstrained (XGBoost's ``monotone_constraints`` entry)."""
        return {"increasing": 1, "decreasing": -1}.get(self.monotone or "", 0)

    @property
    def is_discrete(self) -> bool:
        return self.type != "continuous"


@dataclass(frozen=True)
class Unit:
    """What can be ordered as one test: a single feature, a panel, or a whole shared-cost group."""

    name: str
    members: tuple[str, ...]
    kind: str  # "feature" | "panel" | "group"


@dataclass
class Spec:
    """A validated problem spec. Build it with :func:`load_spec`."""

    target: dict
    features: list[FeatureSpec]
    groups: dict[str, float] = field(default_factory=dict)
    use_case: dict = field(default_factory=lambda: {"kind": "risk_prediction"})
    name: str | None = None
    description: str | None = None
    currency: str | None = None
    source: str = "<spec>"
    raw: dict = field(default_factory=dict)

    # ---- questions about the spec -------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def target_name(self) -> str:
        return self.target["name"]

    @property
    def target_kind(self) -> str:
        return self.target["kind"]

    def feature(self, name: str) -> FeatureSpec:
        for f in self.features:
            if f.name == name:
                return f
        raise DataError(f"unknown feature {name!r}; the spec declares: {', '.join(self.feature_names)}")

    @functools.cached_property
    def cost_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The costs as arrays, computed once: own cost per feature ``(p,)``, group membership
        ``(p, G)`` (groups in declaration order) and each group's shared cost ``(G,)``."""
        groups = list(self.groups)
        own = np.array([f.cost for f in self.features], dtype=np.float64)
        member_of = np.array([[f.group == g for g in groups] for f in self.features],
                             dtype=bool).reshape(len(self.features), len(groups))
        return own, member_of, np.array([self.groups[g] for g in groups], dtype=np.float64)

    @functools.cached_property
    def range_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Each feature's declared ``(lower, upper)`` bounds ``(p,)``, ±inf where none is declared."""
        bounds = [f.range if f.range is not None else (-np.inf, np.inf) for f in self.features]
        lower, upper = np.array(bounds, dtype=np.float64).reshape(-1, 2).T
        return lower, upper

    def index_of(self, names: Sequence[str]) -> list[int]:
        """Column positions of ``names`` in :attr:`feature_names`; unknown names are a DataError."""
        pos = {n: i for i, n in enumerate(self.feature_names)}
        unknown = [n for n in names if n not in pos]
        if unknown:
            raise DataError(
                f"unknown feature name(s) {', '.join(map(repr, unknown))}; "
                f"the spec declares: {', '.join(self.feature_names)}"
            )
        return [pos[n] for n in names]

    def units(self, *, include_groups: bool = True) -> list[Unit]:
        """Orderable tests: panels (members together), lone features, and, per shared-cost group
        with several units, one candidate holding every unit that needs the group's procedure."""
        units: list[Unit] = []
        seen_panels: set[str] = set()
        for f in self.features:
            if f.available == "after_decision":
                continue
            if f.panel is None:
                units.append(Unit(f.name, (f.name,), "feature"))
            elif f.panel not in seen_panels:
                seen_panels.add(f.panel)
                members = tuple(g.name for g in self.features if g.panel == f.panel and g.available != "after_decision")
                units.append(Unit(f.panel, members, "panel"))
        if include_groups:
            for g in self.groups:
                needing = [u for u in units if any(self.feature(m).group == g for m in u.members)]
                if len(needing) > 1:
                    units.append(Unit(g, tuple(m for u in needing for m in u.members), "group"))
        return units

    @property
    def utility(self) -> np.ndarray | None:
        u = self.use_case.get("utility")
        return None if u is None else np.asarray(u, dtype=np.float64)

    @property
    def actions(self) -> list[str] | None:
        return self.use_case.get("actions")

    @property
    def classes(self) -> list | None:
        return self.target.get("classes")

    @staticmethod
    def exchange_rate_key(objective: str) -> str:
        """The spec key of the exchange rate for ``objective``: ``use_case.nats_per_cost`` (EIG) or
        ``use_case.cost_per_utility`` (EVSI)."""
        return "nats_per_cost" if objective == "eig" else "cost_per_utility"

    def exchange_rate(self, objective: str) -> float:
        """λ in ``net_value = value − cost × λ`` for ``objective``, as the spec declares it.

        Raises
        ------
        SpecError
            When the spec declares none: with no rate the stop rule could never fire and every
            policy would buy every test, so there is no silent default.
        """
        key = self.exchange_rate_key(objective)
        if key not in self.use_case:
            what = "nats of information" if objective == "eig" else "units of utility"
            raise SpecError(
                f"{self.source}: use_case.{key} is not set; the stop rule needs the exchange rate ({what} one unit "
                f"of cost is worth): add e.g. '{key}: 0.005' under use_case (or pass --exchange-rate / exchange_rate=; 0 never stops)")
        return float(self.use_case[key])

    # ---- data ----------------------------------------------------------------------
    def encode(self, frame: pd.DataFrame, *, what: str = "data") -> np.ndarray:
        """The feature columns as a float matrix (NaN = missing), levels mapped to codes 0..L-1.

        Raises DataError naming the column and the first offending row for a missing
        column, a non-numeric value, an unknown level, inf, or a value outside ``range``.
        """
        X, problems = self.encode_rows(frame, what=what)
        if problems:
            raise DataError(problems[min(problems)])
        return X

    def encode_rows(self, frame: pd.DataFrame, *, what: str = "data",
                    level_hints: bool = True) -> tuple[np.ndarray, dict[int, str]]:
        """Like :meth:`encode`, but a bad value spoils only its row: returns the matrix and
        ``{row position: first problem}`` (those rows' bad cells are NaN). A missing column is
        still an error for the whole frame. ``level_hints``: a column of text in a feature without
        levels gets the spec line to add, from the levels the column holds (for whole files being
        fitted; off when ranking, where a row's reason must not depend on the other rows)."""
        missing = [n for n in self.feature_names if n not in frame.columns]
        if missing:
            raise DataError(f"{what}: missing column(s) {', '.join(map(repr, missing))} declared in the spec")
        out = np.empty((len(frame), len(self.features)), dtype=np.float64)
        problems: dict[int, str] = {}
        for j, f in enumerate(self.features):
            out[:, j], issues = self._encode_column(f, frame[f.name], what, level_hints)
            for pos, reason in issues.items():
                problems.setdefault(pos, reason)
        return out, dict(sorted(problems.items()))

    def _encode_column(self, f: FeatureSpec, col: pd.Series, what: str,
                       level_hints: bool = True) -> tuple[np.ndarray, dict[int, str]]:
        rows = col.index
        issues: dict[int, str] = {}
        if f.levels is not None:
            values = np.full(len(col), np.nan)
            for pos, v in enumerate(col.to_numpy(dtype=object)):
                try:
                    values[pos] = self._level_code(f, v, what, rows[pos])
                except DataError as exc:
                    issues[pos] = str(exc)
        else:
            numeric = pd.to_numeric(col, errors="coerce")
            values = np.array(numeric.to_numpy(dtype=np.float64, na_value=np.nan))  # writable
            text = numeric.isna().to_numpy() & col.notna().to_numpy()
            hint = ""
            if level_hints and text.any() and (f.is_discrete or (text.sum() >= 2 and text.sum() == col.notna().sum())):
                hint = "; " + self._levels_hint(f, col)  # a column of categories: say the line that declares them
            for bad in np.flatnonzero(text):
                pos = int(bad)
                issues[pos] = f"{what}: row {rows[pos]}, column {f.name!r}: {cell_text(col.iloc[pos])} is not a number{hint}"
        for pos, reason in self._value_issues(f, values, rows, what).items():
            issues.setdefault(pos, reason)
        if issues:
            values[list(issues)] = np.nan
        return values, issues

    def _levels_hint(self, f: FeatureSpec, column: pd.Series) -> str:
        """A column of text for a feature without levels: the values found and the line to add."""
        found = found_levels(column)
        order = " (in the order of the scale)" if f.type == "ordinal" else ""
        where = f"features[{self.feature_names.index(f.name)}]"
        if f.type == "continuous":
            return (f"the column holds only text but is declared continuous; if it is a category, set type: "
                    f"categorical and {levels_line(found)} under {where} in the spec")
        return f"the spec declares no levels for this {f.type} feature: add {levels_line(found)}{order} under {where}"

    @staticmethod
    def _level_code(f: FeatureSpec, v: Any, what: str, row: Any) -> float:
        if pd.api.types.is_scalar(v) and pd.isna(v):  # None, NaN, pd.NA, NaT
            return np.nan
        for i, level in enumerate(f.levels or ()):
            if v == level or str(v) == str(level):
                return float(i)
        raise DataError(f"{what}: row {row}, column {f.name!r}: unknown level {cell_text(v)}; expected one of {list(f.levels or ())}")

    @staticmethod
    def _value_issues(f: FeatureSpec, values: np.ndarray, rows: Any, what: str) -> dict[int, str]:
        """``{position: problem}`` for inf values and values outside the declared range."""
        issues: dict[int, str] = {}
        for pos in np.flatnonzero(np.isinf(values)):
            issues[int(pos)] = (f"{what}: row {rows[pos]}, column {f.name!r}: infinite value (or a number too large "
                                f"for a 64-bit float)")
        if f.range is not None:
            lo, hi = f.range
            for pos in np.flatnonzero((values < lo) | (values > hi)):
                issues.setdefault(int(pos), f"{what}: row {rows[pos]}, column {f.name!r}: {values[pos]:g} is outside "
                                            f"the spec's range [{lo:g}, {hi:g}]")
        return issues

    def encode_case(self, case: Mapping[str, Any]) -> np.ndarray:
        """One case (feature → value; absent or NaN = not measured) as a float row; unknown names are errors."""
        if isinstance(case, pd.Series):
            case = case.to_dict()
        if not isinstance(case, Mapping):
            raise DataError(f"a case must be a mapping of feature name to value, got {type(case).__name__}")
        self.index_of(list(case))
        x = np.full(len(self.features), np.nan)
        for j, f in enumerate(self.features):
            v = case.get(f.name)
            if f.levels is not None:
                x[j] = self._level_code(f, v, "case", 0)
            elif v is not None and not (isinstance(v, float) and np.isnan(v)):
                if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating, str)):
                    raise DataError(f"case: row 0, column {f.name!r}: {cell_text(v)} is not a number")
                try:
                    x[j] = float(v)
                except ValueError:
                    raise DataError(f"case: row 0, column {f.name!r}: {cell_text(v)} is not a number") from None
        lower, upper = self.range_arrays
        for bad in np.flatnonzero(np.isinf(x) | (x < lower) | (x > upper)):  # the first bad value, in spec order
            raise DataError(self._value_issues(self.features[bad], x[bad:bad + 1], [0], "case")[0])
        return x

    def encode_target(self, series: pd.Series, *, what: str = "data") -> np.ndarray:
        """Class indices (classification, order of ``target.classes``) or floats (continuous)."""
        if series.isna().any():
            raise DataError(f"{what}: target {self.target_name!r} is missing in row {series.isna().idxmax()}")
        if self.target_kind == "continuous":
            y = pd.to_numeric(series, errors="coerce")
            if y.isna().any():
                raise DataError(f"{what}: target {self.target_name!r} has a non-numeric value in row {y.isna().idxmax()}")
            return y.to_numpy(dtype=np.float64)
        classes = self.classes
        if classes is None:  # never inferred from the data at hand: a slice with one class would flip labels
            raise DataError(f"{what}: the spec declares no target.classes, so the class order is unknown; add "
                            f"target.classes (e.g. classes: {json.dumps(_plain_values(found_levels(series)))}) "
                            f"or use a model fitted on it (fitting fixes the order)")
        lookup = {c: i for i, c in enumerate(classes)} | {str(c): i for i, c in enumerate(classes)}
        unknown = [v for v in series.unique() if v not in lookup and str(v) not in lookup]
        if unknown:
            raise DataError(f"{what}: target {self.target_name!r} has value(s) {unknown[:3]} not in target.classes {classes}")
        return np.array([lookup.get(v, lookup.get(str(v))) for v in series], dtype=np.int64)

    def with_classes_from(self, series: pd.Series) -> "Spec":
        """This spec with ``target.classes`` fixed (sorted) from ``series``, the whole training target,
        when the spec declares none; ``self`` when it does or the target is continuous. Fitting does
        this once and stores the order with the model: it is never inferred from later data."""
        if self.target_kind == "continuous" or self.classes is not None:
            return self
        classes = _plain_values(found_levels(series, limit=10_000))
        data = self.to_dict()
        data["target"] = dict(data["target"], classes=classes)
        return self._replaced(data)

    def _replaced(self, data: dict) -> "Spec":
        spec = load_spec(data)
        spec.source = self.source  # still the user's file in messages
        return spec

    def to_dict(self) -> dict:
        """The spec as declared: a deep copy, so editing it never edits this spec."""
        return copy.deepcopy(self.raw)

    def with_use_case(self, kind: str) -> "Spec":
        """A new spec identical to this one but for ``use_case.kind`` (this one is left as it is)."""
        data = self.to_dict()
        data["use_case"] = dict(data.get("use_case") or {}, kind=kind)
        return self._replaced(data)


#: a spec is a few kilobytes; these bound what a crafted one can cost before it is refused
MAX_SPEC_BYTES = 1 << 20
MAX_YAML_NODES = 100_000
MAX_MESSAGE = 300


def _clip(text: str, limit: int = MAX_MESSAGE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _safe_yaml(text: str, label: str) -> Any:
    """``yaml.safe_load`` after refusing alias bombs: a document whose nodes, with every alias
    (``*name``) expanded, would number more than :data:`MAX_YAML_NODES` (a few hundred bytes can
    otherwise expand to gigabytes). Counted on the event stream, before anything is built."""
    sizes: dict[str, int] = {}
    stack: list[list] = [[None, 0]]  # [anchor, nodes so far] per open collection
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            stack.append([event.anchor, 1])
            continue
        if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            anchor, size = stack.pop()
        elif isinstance(event, yaml.AliasEvent):
            anchor, size = None, sizes.get(event.anchor or "", 1)
        elif isinstance(event, yaml.ScalarEvent):
            anchor, size = event.anchor, 1
        else:
            continue
        if anchor is not None:
            sizes[anchor] = size
        stack[-1][1] += size
        if stack[-1][1] > MAX_YAML_NODES or size > MAX_YAML_NODES:
            raise SpecError(f"{label}: the YAML expands to more than {MAX_YAML_NODES:,} values through its aliases "
                            f"(*name); a spec does not need that many, write the values out")
    return yaml.safe_load(text)


def _non_finite(data: Any, path: tuple = ()) -> Iterator[tuple]:
    """Key paths of NaN, infinite or unrepresentably large numbers anywhere in ``data``."""
    if isinstance(data, bool):
        return
    if isinstance(data, float) and not math.isfinite(data):
        yield path
    elif isinstance(data, int) and abs(data) > 1e300:
        yield path
    elif isinstance(data, Mapping):
        for k, v in data.items():
            yield from _non_finite(v, path + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _non_finite(v, path + (i,))


def _read(source: PathLike | Mapping) -> tuple[dict, str]:
    if isinstance(source, Mapping):
        return dict(source), "<spec>"
    path = Path(source)
    label = path.name
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise SpecError(f"{source}: spec file not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise SpecError(f"{str(source)!r}: cannot read spec: {exc}") from None
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError(f"{label}: {len(text):,} bytes is too large for a spec (at most {MAX_SPEC_BYTES:,})")
    kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
    try:
        data = json.loads(text) if kind == "JSON" else _safe_yaml(text, label)
    except SpecError:
        raise
    except (json.JSONDecodeError, yaml.YAMLError, ValueError, TypeError, AttributeError, KeyError, OverflowError,
            RecursionError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]  # a bad !!int, !!timestamp, deep nesting
        raise SpecError(f"{label}: not valid {kind}: {_clip(first)}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{label}: a spec must be a mapping at the top level, got {type(data).__name__}")
    return data, label


def load_spec(source: PathLike | Mapping, *, frame: pd.DataFrame | None = None) -> Spec:
    """Load and validate a spec from a YAML/JSON file or a mapping.

    Parameters
    ----------
    source : path or mapping
        A ``.yaml``/``.yml``/``.json`` file, or the already-parsed mapping.
    frame : DataFrame, optional
        The data the spec describes. When given, a problem about levels quotes the values
        found in the data as the line to add (``levels: ["<=20", "20-50", ">50"]``).

    Raises
    ------
    SpecError
        Every problem of the file, one line each: ``FILE: key.path: problem``.
    """
    data, label = _read(source)
    bad = list(itertools.islice(_non_finite(data), 20))
    if bad:  # NaN and infinity pass every "minimum" in the schema: refuse them first
        raise SpecError("\n".join(_one_line(f"{label}: {_key_path(p)}: must be a finite number") for p in bad))
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(itertools.islice(validator.iter_errors(data), 200),
                    key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:  # every problem of the file in one run, one line each: the schema's, then the cross-key ones
        lines = [_one_line(f"{label}: {_key_path(e.absolute_path)}: {_clip(e.message)}") for e in errors[:50]]
        try:
            _build(data, label, frame)
        except SpecError as exc:
            lines += str(exc).splitlines()
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            pass  # too malformed for the cross-key checks; the schema's lines say why
        raise SpecError("\n".join(dict.fromkeys(lines)))
    return _build(data, label, frame)


def _plain_values(values: Sequence[Any]) -> list:
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def levels_line(values: Sequence[Any]) -> str:
    """The spec line that declares ``values`` as levels, e.g. ``levels: ["<=20", "20-50", ">50"]``."""
    return "levels: " + json.dumps(_plain_values(values))


def found_levels(column: pd.Series, limit: int = 20) -> list:
    """The distinct non-missing values of ``column``, sorted (numbers as numbers), at most ``limit``."""
    values = column.dropna().unique().tolist()
    try:
        values = sorted(values)
    except TypeError:
        values = sorted(values, key=str)
    return values[:limit]


def _build(data: dict, label: str, frame: pd.DataFrame | None = None) -> Spec:
    problems: list[str] = []

    def fail(path: str, message: str) -> None:
        problems.append(_one_line(f"{label}: {path}: {message}"))

    target = dict(data["target"])
    groups = {k: float(v["shared_cost"]) for k, v in (data.get("groups") or {}).items()}
    features: list[FeatureSpec] = []
    names: set[str] = set()
    for i, f in enumerate(data["features"]):
        where = f"features[{i}]"
        if f["name"] in names:
            fail(f"{where}.name", f"duplicate feature name {f['name']!r}")
        if f["name"] == target["name"]:
            fail(f"{where}.name", f"{f['name']!r} is the target; it cannot also be a feature")
        names.add(f["name"])
        rng = f.get("range")
        if rng is not None and not rng[0] < rng[1]:
            fail(f"{where}.range", f"low {rng[0]} must be below high {rng[1]}")
        if f.get("group") is not None and f["group"] not in groups:
            fail(f"{where}.group", f"group {f['group']!r} is not declared under groups")
        if f.get("monotone") is not None and f["type"] == "categorical":
            fail(f"{where}.monotone", "a categorical feature has no order to be monotone in; remove monotone or "
                                      "make the feature ordinal")
        if f.get("monotone") is not None and target.get("kind") == "multiclass":
            fail(f"{where}.monotone", "monotone constraints need a binary or continuous target (a multiclass "
                                      "prediction has no single direction)")
        if f["type"] == "binary" and f.get("levels") is not None and len(f["levels"]) != 2:
            fail(f"{where}.levels", f"a binary feature has 2 levels, got {len(f['levels'])}")
        if f["type"] == "categorical" and f.get("levels") is None:
            if frame is not None and f["name"] in frame.columns:
                hint = f"the data holds {levels_line(found_levels(frame[f['name']]))}; add that line under {f['name']!r}"
            else:
                hint = f"add e.g. levels: [\"a\", \"b\"] under {f['name']!r}, listing every value the column holds"
            fail(f"{where}.levels", f"a categorical feature needs its levels: {hint}")
        features.append(
            FeatureSpec(
                name=f["name"], type=f["type"], cost=float(f["cost"]), unit=f.get("unit"),
                range=None if rng is None else (float(rng[0]), float(rng[1])),
                levels=None if f.get("levels") is None else tuple(f["levels"]),
                group=f.get("group"), panel=f.get("panel"),
                available=f.get("available", "before_decision"), role=f.get("role", "measurement"),
                sensitive=bool(f.get("sensitive", False)), description=f.get("description"),
                monotone=f.get("monotone"),
            )
        )
    panels_said: set[str] = set()
    for f in features:  # a ranking lists features, groups and panels by name: each name means one thing
        if f.panel is not None and f.panel not in panels_said:
            panels_said.add(f.panel)
            if f.panel in names:
                fail("features", f"panel name {f.panel!r} is also a feature name")
            if f.panel in groups:
                fail("features", f"panel name {f.panel!r} is also a group name")
            if f.panel == target["name"]:
                fail("features", f"panel name {f.panel!r} is also the target's name")
    for g in groups:
        if g in names:
            fail(f"groups.{g}", f"group name {g!r} is also a feature name; rename the group")
        if g == target["name"]:
            fail(f"groups.{g}", f"group name {g!r} is also the target's name; rename the group")

    use_case = dict(data.get("use_case") or {"kind": "risk_prediction"})
    if "utility" in use_case:
        if target["kind"] == "continuous":
            fail("use_case.utility", "a utility matrix needs a classification target (binary or multiclass)")
        classes = target.get("classes")
        if classes is None:
            fail("target.classes", "required when use_case.utility is given (it orders the utility's columns)")
        actions = use_case.get("actions")
        if actions is None:
            fail("use_case.actions", "required when use_case.utility is given (it names the utility's rows)")
        u = use_case["utility"]
        if actions is not None and len(u) != len(actions):
            fail("use_case.utility", f"has {len(u)} rows; expected {len(actions)}, one per action")
        for a, row in enumerate(u):
            if classes is not None and len(row) != len(classes):
                fail(f"use_case.utility[{a}]", f"has {len(row)} entries; expected {len(classes)}, one per class in target.classes")
    if target["kind"] == "binary" and target.get("classes") is not None and len(target["classes"]) != 2:
        fail("target.classes", f"a binary target has 2 classes, got {len(target['classes'])}")
    if problems:
        raise SpecError("\n".join(problems))
    return Spec(
        target=target, features=features, groups=groups, use_case=use_case,
        name=data.get("name"), description=data.get("description"), currency=data.get("currency"),
        source=label, raw=data,
    )
