"""Shapley values of coalition games: who deserves the credit for a value of information, or a prediction.

A *game* gives the value ``v(S)`` of every coalition ``S`` of its players (bitmasks, see
:mod:`acquire.estimators.shapley`). Three games ship:

- :class:`ValueOfInformationGame` — players are a case's missing tests; ``v(S) = V(S | x_o)``,
  the value of acquiring the tests in ``S`` together. Its Shapley values split the value of
  acquiring everything, so tests that are worthless alone but decisive together are credited.
- :class:`PredictionGame` — players are the observed features; ``v(S) = p(y = class | x_S)`` from
  the masked predictor (the model's own prediction when only ``S`` is known).
- :class:`PathDependentTreeGame` — the game XGBoost's ``pred_contribs`` (path-dependent
  TreeSHAP) explains; used to check the estimators against an established implementation.

:func:`shapley_values` estimates the split: ``exact`` enumerates all ``2^m`` coalitions,
``permutation`` samples antithetic permutations, ``kernel`` is KernelSHAP (constrained weighted
regression on sampled coalitions); the sampled ones report standard errors and stop at a
tolerance. Efficiency ``Σ φ = v(M) − v(∅)`` holds exactly for ``exact`` and ``permutation``
and by construction (a constraint) for ``kernel``.
"""

from __future__ import annotations

import functools

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from acquire.estimators.shapley import (exact_shapley, path_dependent_values, permutation_contributions,
                                        permutation_prefixes)
from acquire.exceptions import AcquireError
from acquire.engine.estimator import t_quantile

__all__ = ["Game", "ValueOfInformationGame", "PredictionGame", "PathDependentTreeGame", "ShapleyResult",
           "shapley_values"]

MAX_EXACT_PLAYERS = 14


class Game(ABC):
    """A coalition game over named players.

    ``point(masks)`` gives the best estimate of each coalition's value (k,); ``values(masks)``
    gives R independent replicates (R, k) whose spread measures its error (R = 1 and equal to
    the point for a deterministic game). Both are cached per mask.
    """

    players: list[str]
    n_replicates: int = 1

    def __init__(self) -> None:
        self._cache: dict[int, tuple[np.ndarray, float]] = {}
        self.n_evaluations = 0

    def _fill(self, masks: np.ndarray) -> None:
        cache = self._cache
        todo = np.array([m for m in np.unique(masks).tolist() if m not in cache], dtype=np.int64)
        if todo.size:
            replicates, point = self._evaluate(todo)
            self.n_evaluations += todo.size
            for k, m in enumerate(todo.tolist()):
                cache[m] = (replicates[:, k], float(point[k]))

    def values(self, masks: np.ndarray) -> np.ndarray:
        masks = np.asarray(masks, dtype=np.int64)
        self._fill(masks)
        return np.stack([self._cache[m][0] for m in masks.tolist()], axis=1)

    def point(self, masks: np.ndarray) -> np.ndarray:
        masks = np.asarray(masks, dtype=np.int64)
        self._fill(masks)
        return np.array([self._cache[m][1] for m in masks.tolist()])

    @abstractmethod
    def _evaluate(self, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Replicate values (R, len(masks)) and point values (len(masks),) of coalitions not yet cached."""


class ValueOfInformationGame(Game):
    """``v(S) = V(S | x_o)``: the value of acquiring the missing tests in ``S`` (nats or utility).

    All coalitions share one set of joint draws of the missing features (common random numbers),
    so differences between coalitions carry little noise; the ranker's replicates give the
    standard errors.

    Parameters
    ----------
    ranker : ValueOfInformation
        Supplies the predictor, conditional model, objective and draws.
    case : mapping
        Feature → value; absent or NaN = missing.
    include_panels : bool, default=True
        Players are the orderable units (panels as one player); False makes every missing
        feature a player.
    """

    def __init__(self, ranker: Any, case: Mapping[str, Any] | None = None, *, x: np.ndarray | None = None,
                 include_panels: bool = True, chunk_rows: int = 262_144):
        super().__init__()
        self.ranker = ranker
        ranker.check_params()
        if (case is None) == (x is None):
            raise AcquireError("give a case (feature -> value) or an encoded row x, not both")
        self.x = ranker.spec.encode_case(case) if x is None else np.asarray(x, dtype=np.float64)
        self.unit = "nats" if getattr(ranker, "objective", "eig") == "eig" else "utility"  # what v(S) is measured in
        names = ranker.spec.feature_names
        observed = {names[j] for j in np.flatnonzero(~np.isnan(self.x))}
        if include_panels:
            units = [u for u in ranker.spec.units(include_groups=False) if any(m not in observed for m in u.members)]
            self.players = [u.name for u in units]
            self.columns = [[names.index(m) for m in u.members if m not in observed] for u in units]
        else:
            missing = np.flatnonzero(np.isnan(self.x))
            self.players = [names[j] for j in missing]
            self.columns = [[int(j)] for j in missing]
        if len(self.players) > 62:
            raise AcquireError(f"{len(self.players)} missing tests; Shapley values support at most 62 players")
        self.n_replicates = ranker.n_replicates
        self.chunk_rows = chunk_rows
        self._mc = ranker.monte_carlo()  # the engine's joint draws and value kernel

    @functools.cached_property
    def _joint(self) -> np.ndarray | None:
        """The engine's joint draws of the case's missing features (R, N, p); None when none is missing."""
        return self._mc.joint_draws(self.x) if np.isnan(self.x).any() else None

    def _draws(self) -> np.ndarray:
        assert self._joint is not None  # a coalition with members has missing columns to draw
        return self._joint

    def _evaluate(self, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        capabilities = getattr(self.ranker.predictor, "capabilities", ())
        if "tree_ensemble" in capabilities:
            return self._evaluate_trees(masks)
        if "class_gaussian" in capabilities:
            return self._evaluate_class_gaussian(masks)
        R, N = self.n_replicates, self.ranker.n_draws // self.n_replicates
        out = np.zeros((R, masks.size))
        pooled = np.zeros(masks.size)
        p = self.x.size
        step = max(1, self.chunk_rows // (R * N))
        for start in range(0, masks.size, step):
            block = masks[start:start + step]
            rows = np.empty((block.size, R, N, p))
            rows[:] = self.x
            for b, mask in enumerate(block):
                cols = [c for i, cs in enumerate(self.columns) if (int(mask) >> i) & 1 for c in cs]
                if cols:
                    rows[b][..., cols] = self._draws()[..., cols]
            pred = self.ranker.predictor.predict_distribution(rows.reshape(-1, p))
            pred = pred.reshape(block.size, R, N, pred.shape[-1])
            out[:, start:start + block.size] = self._mc.kernel(pred).T
            # the point value pools all R·N draws, as the ranker does (less plug-in bias)
            pooled[start:start + block.size] = self._mc.kernel(pred.reshape(block.size, 1, R * N, -1))[:, 0]
        return out, pooled


    def _evaluate_class_gaussian(self, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Class-Gaussian predictors (the copula classifier): the draws of the candidates' scores are the
        ones ``rank`` values the case's panels and groups from
        (:meth:`~acquire.engine.class_gaussian.ClassGaussianSetEstimator.case_draws`), each class's
        Gaussian is conditioned on the case's known scores once, and every coalition is valued in one
        numba call (:func:`~acquire.estimators.class_gaussian.coalition_values`): per coalition and
        class (or mixture component) one factor of the coalition's block, no rows materialized. The grand
        coalition's value is the value ``rank`` gives the set of every missing test."""
        from acquire.engine.class_gaussian import ClassGaussianSetEstimator
        from acquire.estimators.class_gaussian import coalition_values

        predictor = self.ranker.predictor
        # each player's columns the model has scores for (a feature it never saw is always missing)
        owned = [[c for c in cs if not predictor.unseen_[c]] for cs in self.columns]
        cand = sorted({c for cs in owned for c in cs})
        position = {c: k for k, c in enumerate(cand)}
        members = np.array([position[c] for cs in owned for c in cs], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum([len(cs) for cs in owned])]).astype(np.int64)
        sets = self.ranker.estimator(ClassGaussianSetEstimator)
        Z, means, covs, log_weights = sets.case_draws(self.x, cand)
        return coalition_values(np.ascontiguousarray(Z), offsets, members, np.ascontiguousarray(masks, dtype=np.int64),
                                means, covs, log_weights, sets.owner, self.n_replicates, sets.utility, sets.evsi)

    def _evaluate_trees(self, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tree ensembles: per-tree leaf tables shared by every coalition (no rows materialized)."""
        from acquire.estimators.coalitions import coalition_margins

        R, N = self.n_replicates, self.ranker.n_draws // self.n_replicates
        p = self.x.size
        player_of = np.full(p, -1, dtype=np.int64)
        for i, cols in enumerate(self.columns):
            player_of[cols] = i
        t = self.ranker.predictor.tree_arrays()
        draws = np.ascontiguousarray(self._joint.reshape(R * N, p)) if self._joint is not None else np.zeros((R * N, p))
        out, pooled = np.zeros((R, masks.size)), np.zeros(masks.size)
        step = max(1, self.chunk_rows // (R * N))
        for start in range(0, masks.size, step):
            block = np.ascontiguousarray(masks[start:start + step])
            margins = coalition_margins(self.x, draws, block, player_of, len(self.players), *t.kernel_args())
            dist = self.ranker.predictor.distribution_from_margins(margins.reshape(-1, margins.shape[-1]))
            pred = dist.reshape(block.size, R, N, dist.shape[-1])
            out[:, start:start + block.size] = self._mc.kernel(pred).T
            pooled[start:start + block.size] = self._mc.kernel(pred.reshape(block.size, 1, R * N, -1))[:, 0]
        return out, pooled


class PredictionGame(Game):
    """``v(S) = p(y = target | x_S)``: the masked predictor's output when only the features in ``S`` are known.

    Players are the case's observed features; ``target`` is a class index (default: the last
    class, the positive one for a binary target) or, for a continuous target, the mean.
    """

    def __init__(self, predictor: Any, spec: Any, case: Mapping[str, Any], *, target: int | None = None):
        super().__init__()
        self.predictor, self.x = predictor, spec.encode_case(case)
        self.observed = np.flatnonzero(~np.isnan(self.x))
        self.players = [spec.feature_names[j] for j in self.observed]
        self.target = target
        self.unit = spec.target_name if spec.target_kind == "continuous" else "probability"

    def _evaluate(self, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.full((masks.size, self.x.size), np.nan)
        for k, mask in enumerate(masks):
            on = [j for i, j in enumerate(self.observed) if (int(mask) >> i) & 1]
            rows[k, on] = self.x[on]
        pred = self.predictor.predict_distribution(rows)
        column = (pred.shape[1] - 1 if self.target is None else self.target) if self.predictor.kind_ != "continuous" else 0
        return pred[:, column][None, :], pred[:, column]


class PathDependentTreeGame(Game):
    """The coalition game of path-dependent TreeSHAP (XGBoost ``pred_contribs``) on the margin of ``group``."""

    def __init__(self, trees: Any, x: np.ndarray, feature_names: Sequence[str], *, group: int = 0):
        super().__init__()
        self.trees, self.x, self.group = trees, np.asarray(x, dtype=np.float64), group
        self.players = list(feature_names)
        self._players = np.arange(len(feature_names), dtype=np.int64)

    def _evaluate(self, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = self.trees
        v = path_dependent_values(self.x, masks, self._players, t.left, t.right, t.feature, t.threshold,
                                  t.default_left, t.value, t.cover, t.tree_start, t.tree_group, t.base_margin, self.group)
        return v[None, :], v


@dataclass
class ShapleyResult:
    """Shapley values of a game, with standard errors and the intervals their degrees of freedom call for.

    Attributes
    ----------
    values, se : ndarray (m,)
    v_empty, v_full : float
        ``v(∅)`` and ``v(M)``; ``Σ values = v_full − v_empty`` (efficiency).
    method : str
        What was done: "exact" (every coalition, coalition values without sampling error: ``se = 0``);
        "enumerated" (every coalition, Monte Carlo coalition values: ``se`` from their replicates);
        "permutation" or "kernel" (sampled coalitions).
    n_evaluations : int
        Coalition values computed.
    dof : ndarray of int (m,)
        Degrees of freedom of each ``se`` (0: nothing was sampled); ``ci_lower``/``ci_upper`` are
        ``values ∓ t_dof(0.975)·se``.
    """

    players: list[str]
    values: np.ndarray
    se: np.ndarray
    v_empty: float
    v_full: float
    method: str
    n_evaluations: int
    unit: str = ""
    extra: dict = field(default_factory=dict)
    dof: Any = None
    level: float = 0.95

    def __post_init__(self) -> None:
        m = len(self.players)
        self.dof = np.zeros(m, dtype=np.int64) if self.dof is None else np.broadcast_to(
            np.asarray(self.dof, dtype=np.int64), (m,)).copy()

    @property
    def efficiency_gap(self) -> float:
        return float(self.values.sum() - (self.v_full - self.v_empty))

    @property
    def ci_lower(self) -> np.ndarray:
        return self.values - t_quantile(self.level, self.dof) * self.se

    @property
    def ci_upper(self) -> np.ndarray:
        return self.values + t_quantile(self.level, self.dof) * self.se

    def to_frame(self) -> pd.DataFrame:
        total = self.v_full - self.v_empty
        frame = pd.DataFrame({"player": self.players, "shapley": self.values, "se": self.se, "dof": self.dof,
                              "ci_lower": self.ci_lower, "ci_upper": self.ci_upper,
                              "share": self.values / total if total != 0 else np.nan})
        return frame.sort_values("shapley", ascending=False, key=np.abs).reset_index(drop=True)

    @property
    def summary(self) -> pd.DataFrame:
        """lifelines-style: one row per player (the index), largest credit first, with the interval's
        level in its column names (``ci_lower_95``/``ci_upper_95``)."""
        level = f"{round(self.level * 100):d}"
        return self.to_frame().set_index("player").rename(
            columns={"ci_lower": f"ci_lower_{level}", "ci_upper": f"ci_upper_{level}"})

    def to_dict(self) -> dict:
        return {"method": self.method, "unit": self.unit, "v_empty": self.v_empty, "v_full": self.v_full,
                "efficiency_gap": self.efficiency_gap, "n_evaluations": self.n_evaluations, "ci_level": self.level,
                "players": [{"player": r["player"], "shapley": float(r["shapley"]), "se": float(r["se"]),
                             "dof": int(r["dof"]), "ci_lower": float(r["ci_lower"]), "ci_upper": float(r["ci_upper"]),
                             "share": None if pd.isna(r["share"]) else float(r["share"])}
                            for r in self.to_frame().to_dict(orient="records")]} | self.extra

    def plot(self, ax: Any = None, *, case: str | None = None, what: str | None = None,
             signs: tuple[str, str] = ("adds value", "takes value away"), **bar_kwargs: Any) -> Any:
        """Horizontal bars (largest credit on top) with their 95 % confidence intervals (t with the
        SE's degrees of freedom; none where nothing was sampled); returns the axes.

        ``case`` names the case in the title (e.g. "pima, row 0"); ``what`` names the game
        (default: the Shapley split of v(all) − v(none) in the result's unit); ``signs`` are the
        legend's words for a positive and a negative bar.
        """
        from matplotlib.patches import Patch

        import acquire.plots as plots

        frame = self.to_frame().iloc[::-1]
        ax = ax if ax is not None else plots.new_axes(8.0, 0.32 * len(frame) + 2.0)
        colors = [plots.PALETTE[0] if v >= 0 else plots.PALETTE[3] for v in frame["shapley"]]
        sampled = bool((frame["se"] > 0).any())
        err = [frame["shapley"] - frame["ci_lower"], frame["ci_upper"] - frame["shapley"]] if sampled else None
        ax.barh(frame["player"], frame["shapley"], xerr=err, color=colors, capsize=2, **bar_kwargs)
        ax.axvline(0, color="black", linewidth=0.8)
        unit = self.unit or "value"
        ax.set_xlabel(f"Shapley value ({unit})")
        ax.set_ylabel("test (player)")
        total = self.v_full - self.v_empty
        title = what or f"Shapley split of v(all) − v(none) = {total:.4g} {self.unit}".rstrip()
        how = f"{self.method}, {self.n_evaluations:,} coalitions"
        ax.set_title(plots.describe(title, dataset=case, who=how))
        handles: list[Any] = [Patch(color=plots.PALETTE[0]), Patch(color=plots.PALETTE[3])]
        labels = list(signs)
        if sampled:
            from matplotlib.lines import Line2D

            handles.append(Line2D([], [], color="black", marker="|", linestyle="-"))
            labels.append(f"error bar: {self.level:.0%} CI,\nvalue ∓ t({int(frame['dof'].max())} dof) · se\n"
                          f"of the {self.method} estimate")
        else:
            handles.append(Patch(color="white"))
            labels.append("no sampling error:\nno error bars")
        plots.legend_outside(ax, handles=handles, labels=labels)
        plots.finish(ax.figure)
        return ax

    def _repr_html_(self) -> str:
        """Notebooks: the total and method, then every player with its interval."""
        import html

        return (f"<p><b>{html.escape(repr(self)[1:-1])}</b> ({self.level:.0%} intervals: value ∓ t(dof)·se)</p>"
                + self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.4g}"))

    def __repr__(self) -> str:
        top = self.to_frame().iloc[0] if len(self.players) else None
        lead = f", largest {top.player} {top.shapley:.4g}" if top is not None else ""
        return f"<ShapleyResult over {len(self.players)} players by {self.method}: total {self.v_full - self.v_empty:.4g}{lead}>"


def shapley_values(game: Game, *, method: str = "auto", n_permutations: int = 256, n_coalitions: int = 2048,
                   tol: float | None = None, max_evaluations: int = 100_000, seed: int = 0) -> ShapleyResult:
    """Shapley values of ``game``.

    Parameters
    ----------
    method : {"auto", "exact", "enumerated", "permutation", "kernel"}
        "exact" (alias "enumerated") evaluates every coalition; the result's ``method`` says
        "enumerated" when the coalition values themselves are Monte Carlo. "auto" enumerates up to
        14 players and samples permutations beyond.
    n_permutations : int, default=256
        Permutations per round for "permutation" (half of them the reverses of the others).
    n_coalitions : int, default=2048
        Sampled coalitions per round for "kernel" (in complementary pairs).
    tol : float or None
        Keep sampling rounds until every standard error is below ``tol`` (or ``max_evaluations``).

    Examples
    --------
    A game where two tests are worthless alone and decisive together (``v = 1`` only for both):

    >>> import numpy as np
    >>> class Pair(Game):
    ...     players = ["a", "b", "noise"]
    ...     def _evaluate(self, masks):
    ...         v = ((masks & 3) == 3).astype(float)
    ...         return v[None, :], v
    >>> result = shapley_values(Pair(), method="exact")
    >>> dict(zip(result.players, result.values.round(3).tolist()))
    {'a': 0.5, 'b': 0.5, 'noise': 0.0}
    """
    m = len(game.players)
    if method not in ("auto", "exact", "enumerated", "permutation", "kernel"):
        raise AcquireError(f"method must be one of ['auto', 'exact', 'enumerated', 'permutation', 'kernel'], got {method!r}")
    if method == "enumerated":
        method = "exact"
    if m == 0:
        return ShapleyResult([], np.zeros(0), np.zeros(0), 0.0, 0.0, "exact", 0)
    if method == "auto":
        method = "exact" if m <= MAX_EXACT_PLAYERS else "permutation"
    if method == "exact" and m > 20:
        raise AcquireError(f"exact Shapley values over {m} players need 2^{m} coalitions; use method='permutation'")
    if method == "permutation" and n_permutations < 2:
        raise AcquireError(f"n_permutations == {n_permutations}, must be >= 2")
    if method == "kernel" and n_coalitions < 2 * m:
        raise AcquireError(f"n_coalitions == {n_coalitions} is too low for KernelSHAP over {m} players; "
                           f"it must be at least 2 * m = {2 * m}")
    full = (1 << m) - 1
    v_empty, v_full = (float(v) for v in game.point(np.array([0, full])))
    rng = np.random.default_rng(seed)
    if method == "exact":
        every = np.arange(1 << m, dtype=np.int64)
        values = exact_shapley(game.point(every)[None, :], m)[0]
        per_rep = exact_shapley(np.ascontiguousarray(game.values(every)), m)  # (R, m): the spread is the SE
        sampled = len(per_rep) > 1
        se = per_rep.std(axis=0, ddof=1) / np.sqrt(len(per_rep)) if sampled else np.zeros(m)
        dof = len(per_rep) - 1
        method = "enumerated" if sampled else "exact"
    elif method == "permutation":
        values, se, dof = _permutation(game, m, n_permutations, tol, max_evaluations, rng)
    else:
        values, se, dof = _kernel(game, m, n_coalitions, tol, max_evaluations, rng, v_empty, v_full)
    return ShapleyResult(list(game.players), values, se, v_empty, v_full, method, game.n_evaluations,
                         unit=getattr(game, "unit", ""), dof=dof)


def _permutation(game, m, n_per_round, tol, budget, rng):
    pair_means: list[np.ndarray] = []
    while True:
        half = max(1, n_per_round // 2)
        perms = np.argsort(rng.random((half, m)), axis=1)
        perms = np.concatenate([perms, perms[:, ::-1]])  # antithetic: each permutation and its reverse
        prefixes = permutation_prefixes(perms)
        v = game.point(prefixes.ravel()).reshape(prefixes.shape)
        contrib = permutation_contributions(perms, np.ascontiguousarray(v))
        pair_means.append(0.5 * (contrib[:half] + contrib[half:]))
        stacked = np.concatenate(pair_means)
        values = stacked.mean(axis=0)
        se = stacked.std(axis=0, ddof=1) / np.sqrt(len(stacked)) if len(stacked) > 1 else np.full(m, np.inf)
        if tol is None or se.max() <= tol or game.n_evaluations >= budget:
            return values, se, len(stacked) - 1


def _kernel(game, m, n_coalitions, tol, budget, rng, v_empty, v_full):
    """KernelSHAP with the border sizes enumerated.

    The Shapley kernel puts most of its weight on the smallest and largest coalitions, so sizes
    are taken from the border inward (s and m − s together) and enumerated completely while the
    budget allows; the rest of the budget samples the middle sizes in complementary pairs, in
    proportion to their kernel mass. Efficiency is a constraint of the weighted least squares.
    The SE is the delete-a-group jackknife over :data:`KERNEL_GROUPS` groups of sampled pairs
    (each re-solve keeps all but one group, so it stays in the estimator's near-linear regime),
    with ``groups − 1`` degrees of freedom.

    From :data:`KADD_FROM` coalitions on (with 2 sampled per coefficient), the middle sizes are sampled unpaired, a fixed
    number per size (in proportion to its kernel mass, without repeats), and the regression fits a
    2-additive game whose Shapley values are returned (k-additive KernelSHAP, Pelegrina et al.
    2023). With complementary pairs the 2-additive fit gives the 1-additive fit's values, so the
    pairing is what changes; on few samples the paired 1-additive fit is the better one
    (``benchmarks/bench_shapley.py``).
    """
    while True:
        values, se, dof = _kernel_once(game, m, n_coalitions, rng, v_empty, v_full)
        if tol is None or se.max() <= tol or game.n_evaluations >= budget:
            return values, se, dof
        n_coalitions *= 2


def _kernel_once(game, m, n_coalitions, rng, v_empty, v_full):
    from math import comb

    mass = {s: (m - 1) / (s * (m - s)) for s in range(1, m)}  # kernel weight × C(m, s), per size
    left = n_coalitions
    exact_masks, exact_w, sampled = [], [], []
    for s in range(1, m // 2 + 1):
        pair = [s] if s == m - s else [s, m - s]
        count = sum(comb(m, k) for k in pair)
        if count > left:
            sampled = [k for k in range(s, m - s + 1)]
            break
        for k in pair:
            every = _masks_of_size(m, k)
            exact_masks.extend(every.tolist())
            exact_w.extend([mass[k] / comb(m, k)] * every.size)
        left -= count
    exact_masks = np.array(exact_masks, dtype=np.int64)
    exact_w = np.array(exact_w)
    if not sampled or left < 4:
        z = ((exact_masks[:, None] >> np.arange(m)) & 1).astype(bool)
        values = _kernel_solve(z, game.point(exact_masks), m, v_empty, v_full, exact_w)
        return values, np.zeros(m), 0
    if n_coalitions >= KADD_FROM and m >= 3 and left >= m * (m + 1):  # sampled: ≥ 2 per coefficient
        return _kadd_sampled(game, m, left, sampled, mass, exact_masks, exact_w, rng, v_empty, v_full)
    size_mass = np.array([mass[k] for k in sampled])
    half = left // 2
    sizes = rng.choice(sampled, size=half, p=size_mass / size_mass.sum())
    order = np.argsort(rng.random((half, m)), axis=1)
    z_half = order < sizes[:, None]
    z_s = np.concatenate([z_half, ~z_half])  # complementary pairs
    w_s = np.full(len(z_s), size_mass.sum() / len(z_s))
    masks_s = (z_s * (np.int64(1) << np.arange(m, dtype=np.int64))).sum(axis=1)
    z_e = ((exact_masks[:, None] >> np.arange(m)) & 1).astype(bool) if exact_masks.size else np.zeros((0, m), bool)
    v_e = game.point(exact_masks) if exact_masks.size else np.zeros(0)
    v_s = game.point(masks_s)

    def solve(index):
        pick = np.concatenate([index, index + half])  # keep complementary pairs together
        w = np.concatenate([exact_w, np.full(pick.size, size_mass.sum() / pick.size)])
        return _kernel_solve(np.concatenate([z_e, z_s[pick]]), np.concatenate([v_e, v_s[pick]]), m, v_empty, v_full, w)

    values = _kernel_solve(np.concatenate([z_e, z_s]), np.concatenate([v_e, v_s]), m, v_empty, v_full,
                           np.concatenate([exact_w, w_s]))
    groups = np.array_split(rng.permutation(half), min(KERNEL_GROUPS, half))
    if len(groups) < 2:
        return values, np.full(m, np.inf), 0
    keep = np.arange(half)
    leave_out = np.stack([solve(np.setdiff1d(keep, g, assume_unique=True)) for g in groups])  # (G, m)
    G = len(groups)
    se = np.sqrt((G - 1) / G * ((leave_out - leave_out.mean(axis=0)) ** 2).sum(axis=0))
    return values, se, G - 1


#: groups of sampled coalition pairs in KernelSHAP's jackknife (its SE then rests on 15 dof)
KERNEL_GROUPS = 16
#: from this many coalitions on (with at least 2 sampled per coefficient of the 2-additive game, so its
#: variance can be estimated), KernelSHAP fits a 2-additive game to unpaired, size-stratified samples
KADD_FROM = 512


def _kadd_sampled(game, m, left, sampled, mass, exact_masks, exact_w, rng, v_empty, v_full):
    """The middle sizes ``sampled`` get ``left`` coalitions, a share per size in proportion to its
    kernel mass (largest remainder), each size's coalitions distinct and weighted ``mass / count``;
    the 2-additive weighted fit (:func:`_kadd_design`, :func:`_kadd_values`) gives the values; their SE
    is the fit's linearization (sandwich) variance with each size a stratum sampled without
    replacement, on (coalitions sampled − sizes) degrees of freedom."""
    from math import comb

    size_mass = np.array([mass[k] for k in sampled])
    raw = left * size_mass / size_mass.sum()
    counts = np.floor(raw).astype(np.int64)
    counts[np.argsort(raw - counts)[::-1][: left - int(counts.sum())]] += 1
    bits = np.int64(1) << np.arange(m, dtype=np.int64)
    masks_s, sizes_s = [], []
    for k, n_k in zip(sampled, counts):
        n_k = int(min(n_k, comb(m, k)))
        chosen = np.zeros(0, dtype=np.int64)
        if 2 * n_k > comb(m, k):  # most of the size: choose among all its coalitions
            chosen = rng.choice(_masks_of_size(m, k), size=n_k, replace=False)
        while chosen.size < n_k:  # distinct coalitions of size k, in the order drawn
            order = np.argsort(rng.random((2 * (n_k - chosen.size) + 8, m)), axis=1)
            drawn = ((order < k) * bits).sum(axis=1)
            pool = np.concatenate([chosen, drawn])
            _, first = np.unique(pool, return_index=True)
            chosen = pool[np.sort(first)][:n_k]
        masks_s.append(chosen)
        sizes_s.append(np.full(n_k, k))
    masks = np.concatenate(masks_s)
    sizes = np.concatenate(sizes_s)
    z_s = ((masks[:, None] >> np.arange(m)) & 1).astype(bool)
    z_e = ((exact_masks[:, None] >> np.arange(m)) & 1).astype(bool) if exact_masks.size else np.zeros((0, m), bool)
    A_e, y_e = _kadd_design(z_e, game.point(exact_masks) if exact_masks.size else np.zeros(0), m, v_empty, v_full)
    A_s, y_s = _kadd_design(z_s, game.point(masks), m, v_empty, v_full)
    # the weighted fit, and its standard error by linearization over the strata (sizes): each size's
    # coalitions are a sample without replacement of its C(m, k), weighted mass / count
    kinds, kind = np.unique(sizes, return_inverse=True)
    per_size = np.bincount(kind).astype(np.float64)
    w = np.array([mass[int(k)] for k in kinds]) / per_size
    lhs = (A_e * exact_w[:, None]).T @ A_e + (A_s * w[kind][:, None]).T @ A_s
    rhs = (A_e * exact_w[:, None]).T @ y_e + (A_s * w[kind][:, None]).T @ y_s
    try:
        head = np.linalg.solve(lhs, rhs)
    except np.linalg.LinAlgError:  # too few coalitions to pin every pair down: least norm
        head = np.linalg.lstsq(lhs, rhs, rcond=None)[0]
    values = _kadd_values(head, m, v_full - v_empty)
    score = A_s * (y_s - A_s @ head)[:, None]  # each sampled coalition's term of the normal equations
    finite = 1.0 - per_size / np.array([comb(m, int(k)) for k in kinds])  # sampling without replacement
    spread = _stratified_spread(score, kind, w, finite)
    to_values = _kadd_jacobian(m)  # φ = T·head + const
    try:
        sandwich = np.linalg.inv(lhs)
    except np.linalg.LinAlgError:
        sandwich = np.linalg.pinv(lhs)
    cov = to_values @ sandwich @ spread @ sandwich.T @ to_values.T
    dof = int(len(masks) - kinds.size)
    return values, np.sqrt(np.clip(np.diag(cov), 0.0, None)), dof


def _stratified_spread(score: np.ndarray, stratum: np.ndarray, weight: np.ndarray, finite: np.ndarray) -> np.ndarray:
    """``Σ_h (w_h n_h)² f_h cov_h / n_h``: the covariance of a stratified weighted sum of the rows of
    ``score`` (n, P), stratum ``h`` holding ``n_h`` rows each weighted ``w_h``, with finite-population
    factor ``f_h`` and ``cov_h`` its rows' sample covariance (a stratum of one row adds nothing). One
    product of the rows centred per stratum, each scaled by the square root of its stratum's factor."""
    H = weight.size
    onehot = (stratum[:, None] == np.arange(H)).astype(np.float64)  # (n, H)
    n_h = onehot.sum(axis=0)
    factor = np.where(n_h > 1, (weight * n_h) ** 2 * finite / (n_h * np.maximum(n_h - 1, 1)), 0.0)
    centred = (score - (onehot.T @ score / np.maximum(n_h, 1)[:, None])[stratum]) * np.sqrt(factor)[stratum][:, None]
    return centred.T @ centred


@functools.lru_cache(maxsize=256)
def _masks_of_size(m: int, k: int) -> np.ndarray:
    """Every coalition of ``k`` of ``m`` players as a bitmask, in increasing order (read-only, cached)."""
    if m <= 14:  # 2^m × m bits at most 1.8 MB
        every = np.arange(1 << m, dtype=np.int64)
        count = ((every[:, None] >> np.arange(m)) & 1).sum(axis=1)
        out = every[count == k]
    else:
        out = np.sort(np.fromiter(_combinations_masks(m, k), dtype=np.int64))
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=64)
def _kadd_shapley_map(m: int) -> np.ndarray:
    """``S`` (m, m + m(m−1)/2) with ``φ = S·coef`` for a 2-additive game's coefficients (the ``a_i``,
    then the ``c_ij`` for i < j): ``φ_i = a_i + ½ Σ_j c_ij``."""
    first, second = np.triu_indices(m, 1)
    incidence = np.zeros((m, first.size))
    incidence[first, np.arange(first.size)] = 0.5
    incidence[second, np.arange(first.size)] = 0.5
    out = np.hstack([np.eye(m), incidence])
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=64)
def _kadd_jacobian(m: int) -> np.ndarray:
    """``T`` (m, P) with ``φ = T·head + const``: the free coefficients ``head``, the last pair's
    coefficient being the total minus their sum (:func:`_kadd_values`)."""
    full = _kadd_shapley_map(m)
    out = full[:, :-1] - full[:, [-1]]
    out.flags.writeable = False
    return out


def _kadd_design(z: np.ndarray, v: np.ndarray, m: int, v_empty: float, v_full: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows and targets of the 2-additive fit ``g(S) = v(∅) + Σ_{i∈S} a_i + Σ_{i<j∈S} c_ij`` with
    ``g(M) = v(M)`` built in (the last coefficient is the total minus the others)."""
    first, second = np.triu_indices(m, 1)
    zf = z.astype(np.float64)
    F = np.hstack([zf, zf[:, first] * zf[:, second]])  # (n, m + m(m−1)/2)
    return F[:, :-1] - F[:, [-1]], v - v_empty - F[:, -1] * (v_full - v_empty)


def _kadd_values(head: np.ndarray, m: int, total: float) -> np.ndarray:
    """Shapley values ``φ_i = a_i + ½ Σ_j c_ij`` of the fitted 2-additive game (its free coefficients ``head``)."""
    return _kadd_shapley_map(m) @ np.append(head, total - head.sum())



def _combinations_masks(m: int, k: int):
    from itertools import combinations

    for combo in combinations(range(m), k):
        yield sum(1 << i for i in combo)


def _kernel_solve(z: np.ndarray, v: np.ndarray, m: int, v_empty: float, v_full: float,
                  w: np.ndarray) -> np.ndarray:
    """min Σ w (v(S) − v(∅) − Σ_{i∈S} φ_i)² subject to Σ φ = v(M) − v(∅)."""
    total = v_full - v_empty
    y = v - v_empty - z[:, -1] * total
    A = z[:, :-1].astype(np.float64) - z[:, [-1]].astype(np.float64)
    root = np.sqrt(w)
    head, *_ = np.linalg.lstsq(A * root[:, None], y * root, rcond=None)
    return np.append(head, total - head.sum())

