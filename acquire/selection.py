"""Choose the predictor: cross-validated log loss over the missingness acquisition creates.

``fit --predictor auto`` (the default) fits every candidate on K − 1 stratified folds and scores it
on the held-out fold in the states acquisition puts a case in: the **greedy-order curriculum**. The
first candidate fitted on the training folds (the reference: the copula classifier, or XGBoost of
depth 1 for a continuous target) runs the greedy value-of-information policy on each held-out case
from nothing measured (value per cost under the spec's costs, until no test adds value; at most
:data:`CURRICULUM_CASES` cases per fold, 64 draws for panels), and every candidate is scored on each
case at every step of its order: 0, 1, …, d tests observed, in the order the policy bought them.
The candidate with the least mean log loss over those states wins
(a continuous target: the least Gaussian negative log-likelihood), up to the one-standard-error rule:
a candidate within one standard error of the best (paired by fold) wins if it comes earlier in the
order below, so a near tie that another fold assignment could reverse is decided by preference
rather than by noise. The same rows score the
prevalence (the mean, for a continuous target) and a logistic regression (a linear regression), so the
table says when no candidate beats them. The table also
scores every candidate with each test unit hidden at random with probability 0, 25, 50 and 75 %
(:func:`acquire.metrics.missingness_report`), with Brier and AUROC; without a spec (no costs, no
policy) the choice falls back to the mean over those levels.

Candidates, in order of preference: the copula classifier (classification targets; it
marginalizes missing features exactly, and the value of a test is measured from the prediction
``rank`` prints) and masked XGBoost at three depths, shallowest first (1, 2 and 4: the regularization chosen by
cross-validation). A spec declaring ``features[].monotone`` keeps to XGBoost, which applies it.
XGBoost is cross-validated as one member of its bag (``n_bags=1``) and refitted as the full bag: the
log loss is convex in the margin and a bag averages its members' margins, so the bag's loss on a row
is at most the mean of its members' (Jensen), and the table's figure is an upper bound for the bag.
The Bayesian GLM is not a candidate: sampling it once per fold would take minutes; ask for it
with ``--predictor bayes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from acquire.exceptions import AcquireError
from acquire.metrics import _scores, baseline_models, missingness_report

__all__ = ["Selection", "candidates_for", "select_predictor"]

FOLDS = 5
#: held-out cases per fold that the reference model's greedy policy orders (a seeded sample beyond it)
CURRICULUM_CASES = 200
#: the curriculum's row in the table's ``missing_fraction`` column is the states' mean hidden share; its label
GREEDY = "greedy order"


@dataclass(frozen=True)
class Candidate:
    """A predictor and its settings, named as the selection table shows it."""

    predictor: str
    params: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.params.items() if k != "monotone")
        return f"{self.predictor}({settings})" if settings else self.predictor


def candidates_for(kind: str, *, monotone: bool = False) -> list[Candidate]:
    """The candidates ``auto`` compares for a target ``kind`` (see the module docstring)."""
    trees = [Candidate("xgboost", {"max_depth": 1, "n_estimators": 400}), Candidate("xgboost", {"max_depth": 2}),
             Candidate("xgboost", {"max_depth": 4})]
    if kind == "continuous" or monotone:
        return trees
    return [Candidate("copula"), *trees]


@dataclass
class Selection:
    """Result of :func:`select_predictor`.

    Attributes
    ----------
    chosen : Candidate
    table : DataFrame
        One row per candidate (and baseline) and missingness level: the held-out metrics averaged
        over the folds; ``chosen`` marks the winner.
        ``curriculum`` says which states a row scores: ``"greedy order"`` (every step of the reference
        policy's order; ``missing_fraction`` is those states' mean hidden share) or ``"random"``.
    score : str
        The metric minimized (``log_loss``, or ``nll`` for a continuous target).
    folds : int
    beats_prevalence : bool
        Whether the winner's mean score is below the prevalence baseline's on the same rows.
    curriculum : str
        What the choice was scored on: ``"greedy order"``, or ``"random"`` (no spec was given).
    per_fold : DataFrame or None
        The score the choice used, fold × candidate (the one-standard-error rule's input).
    """

    chosen: Candidate
    table: pd.DataFrame
    score: str
    folds: int
    beats_prevalence: bool
    curriculum: str = GREEDY
    per_fold: pd.DataFrame | None = None

    def mean_scores(self) -> pd.Series:
        """Each candidate's (and baseline's) score on the states the choice was scored on (the greedy-order
        curriculum, or the mean over the random missingness levels)."""
        rows = self.table[self.table["curriculum"] == self.curriculum]
        return rows.groupby("candidate", sort=False)[self.score].mean()

    def to_dict(self) -> dict:
        if self.curriculum == GREEDY:
            states = ("each held-out case at every step of the order in which the reference model's greedy "
                      "value-of-information policy buys its tests (0, 1, ..., d observed)")
        else:
            states = "each held-out fold with every test unit hidden at random with probability 0, 25, 50 and 75 %"
        return {"chosen": self.chosen.label, "predictor": self.chosen.predictor, "params": self.chosen.params,
                "score": self.score, "folds": self.folds, "beats_prevalence": self.beats_prevalence,
                "curriculum": self.curriculum,
                "protocol": f"{self.folds}-fold {'' if self.score == 'nll' else 'stratified '}cross-validation, "
                            f"scored on {states}",
                "table": self.table.to_dict(orient="records")}


def one_standard_error_choice(per_fold: pd.DataFrame) -> str:
    """The first column (candidates in order of preference) whose mean score is within one standard
    error of the best: ``mean(s_c − s_best) ≤ sd(s_c − s_best) / √folds``, differences paired by fold
    (Breiman's one-standard-error rule). A near tie, which a different fold assignment could reverse,
    goes to the preferred candidate rather than to the noise."""
    means = per_fold.mean(axis=0)
    best = str(means.idxmin())
    for label in per_fold.columns:
        diff = per_fold[label] - per_fold[best]
        se = float(diff.std(ddof=1)) / np.sqrt(len(diff)) if len(diff) > 1 else 0.0
        if float(diff.mean()) <= se + 1e-12:
            return str(label)
    return best


def select_predictor(X: np.ndarray, y: np.ndarray, *, kind: str, n_classes: int, units: Sequence[Sequence[int]],
                     discrete: Sequence[bool], seed: int = 0, folds: int = FOLDS, monotone: str | None = None,
                     candidates: Sequence[Candidate] | None = None, fixed: dict | None = None,
                     progress: Callable[[str], None] | None = None, spec: Any = None) -> Selection:
    """Cross-validate the candidates on ``X, y`` and return the :class:`Selection` (see the module docstring).

    ``fixed`` settings (a user's ``predictor_params``) override the candidates' own; a candidate whose
    predictor does not take all of them is left out (``n_estimators`` keeps to XGBoost). ``spec`` (its
    costs and units) lets the greedy policy order the held-out cases; without it the choice is scored
    on random missingness.
    """
    import inspect

    from acquire.predictors import PREDICTORS
    from acquire.splits import fold_splits

    classify = kind != "continuous"
    pool = list(candidates) if candidates is not None else candidates_for(kind, monotone=monotone is not None)
    if fixed:
        pool = [Candidate(c.predictor, {**c.params, **fixed}) for c in pool
                if set(fixed) <= set(inspect.signature(PREDICTORS[c.predictor].__init__).parameters)]
        pool = list({c.label: c for c in pool}.values())  # settings that make two candidates one
    if not pool:
        raise AcquireError(f"no candidate predictor takes the settings {sorted(fixed or {})}; name the predictor "
                           f"they belong to (--predictor)")
    smallest = int(np.bincount(y.astype(np.int64)).min()) if classify else len(y)
    folds = min(folds, smallest)
    if folds < 2:
        raise AcquireError(f"--predictor auto needs at least 2 rows of every class to cross-validate; the smallest "
                           f"class has {smallest}: add rows or name a predictor (--predictor xgboost)")
    rows: list[dict[str, Any]] = []
    if progress is not None:
        progress(f"choosing the predictor: {folds}-fold cross-validation of {', '.join(c.label for c in pool)}...")
    curriculum = GREEDY if spec is not None else "random"
    for f, (train, test) in enumerate(fold_splits(len(y), folds, seed, y=y, stratify=classify, option="--predictor auto")):
        baselines = baseline_models(X[train], y[train], kind, n_classes)
        states = None
        for c, cand in enumerate(pool):
            params = {"seed": seed, **cand.params} | ({"monotone": monotone} if monotone else {})
            if cand.predictor == "xgboost" and "n_bags" not in cand.params:
                params["n_bags"] = 1  # one member of the bag: its loss bounds the bag's (see the module docstring)
            model = PREDICTORS[cand.predictor](**params).fit(X[train], y[train], kind=kind, n_classes=n_classes,
                                                             mask_units=units, discrete=discrete)
            if states is None and spec is not None:  # the reference: the first candidate orders the cases
                states, state_y = greedy_states(model, spec, X[train], y[train], X[test], y[test],
                                                seed=seed + f, discrete=discrete)
            scored = missingness_report(model, X[test], y[test], units, seed=seed + f,
                                        baselines=baselines if c == 0 else None)
            for r in scored:
                r["curriculum"] = "random"
            if states is not None:
                greedy = {"missing_fraction": float(np.isnan(states).mean()), "n": int(len(states)),
                          "curriculum": GREEDY, **_scores(model.predict_distribution(states), state_y, kind)}
                if c == 0:
                    for name, predict in baselines.items():
                        greedy |= {f"{name}_{k}": v for k, v in _scores(predict(states), state_y, kind).items()}
                scored.insert(0, greedy)
            for r in scored:
                own = {k: v for k, v in r.items() if not any(k.startswith(b + "_") for b in baselines)}
                rows.append({"candidate": cand.label, "fold": f, **own})
                if c == 0:
                    for name in baselines:
                        picked = {k[len(name) + 1:]: v for k, v in r.items() if k.startswith(name + "_")}
                        rows.append({"candidate": f"{name} (baseline)", "fold": f, "curriculum": r["curriculum"],
                                     "missing_fraction": r["missing_fraction"], "n": r["n"], **picked})
    long = pd.DataFrame(rows)
    score = "log_loss" if classify else "nll"
    metrics = [m for m in ("log_loss", "brier", "brier_multiclass", "auroc", "accuracy", "nll", "rmse") if m in long]
    long["level"] = np.where(long["curriculum"] == GREEDY, -1.0, long["missing_fraction"])  # the curriculum first
    table = long.groupby(["candidate", "level"], sort=False).agg(
        {"curriculum": "first", "missing_fraction": "mean", **{m: "mean" for m in metrics}}).reset_index()
    order = {label: i for i, label in enumerate(dict.fromkeys([c.label for c in pool] + list(long["candidate"])))}
    table = table.sort_values(["candidate", "level"], key=lambda col: col.map(order) if col.name == "candidate"
                              else col, kind="stable").drop(columns="level").reset_index(drop=True)
    chosen_on = long[long["curriculum"] == curriculum]
    means = chosen_on.groupby("candidate", sort=False)[score].mean()
    labels = [c.label for c in pool]
    per_fold = chosen_on.groupby(["fold", "candidate"])[score].mean().unstack()[labels]
    best = one_standard_error_choice(per_fold)
    table.insert(1, "chosen", table["candidate"] == best)
    beats = bool(means[best] < means["prevalence (baseline)"])
    return Selection(chosen=pool[labels.index(best)], table=table, score=score, folds=folds, beats_prevalence=beats,
                     curriculum=curriculum, per_fold=per_fold)


def greedy_states(reference: Any, spec: Any, X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray,
                  y_test: np.ndarray, *, seed: int, discrete: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
    """The greedy-order curriculum of one fold: ``(states (N, p), their labels (N,))``.

    ``reference`` (a predictor fitted on the training rows) with its own feature model (or copulas
    fitted on the same rows) plays the greedy policy on the held-out cases from nothing measured:
    every case takes the engine's recommendation (value per cost under the spec's costs, single tests
    and panels, 64 draws for a panel) until no test adds value, as
    :class:`acquire.policies.GreedyValue` with exchange rate 0 does; a test whose value the data lacks
    is ordered, gives nothing and is not offered again. Each case gives one state per step, 0 … d
    tests observed in the order bought (at most :data:`CURRICULUM_CASES` cases, a seeded sample).
    """
    from acquire.conditional import conditional_for
    from acquire.engine import ValueOfInformation

    if len(X_test) > CURRICULUM_CASES:
        keep = np.sort(np.random.default_rng(seed).choice(len(X_test), CURRICULUM_CASES, replace=False))
        X_test, y_test = X_test[keep], y_test[keep]
    conditional = conditional_for(reference, X_train, y_train, discrete)
    ranker = ValueOfInformation(predictor=reference, conditional=conditional, spec=spec, exchange_rate=0.0,
                                include_groups=False, n_draws=64, seed=seed)
    n = len(X_test)
    x = np.full(X_test.shape, np.nan)
    tried = np.zeros(X_test.shape, dtype=bool)
    steps: list[list[np.ndarray]] = [[x[i].copy()] for i in range(n)]
    active = np.arange(n)
    while active.size:  # every open case takes its next step together: one batched choice
        batch = ranker.rank_batch(x[active], tried=tried[active])
        moved = []
        for k, i in enumerate(active):
            u = int(batch.decision.recommended[k])
            if u < 0:
                continue
            cols = spec.index_of(list(batch.units[u].members))
            x[i, cols] = X_test[i, cols]
            tried[i, cols] = np.isnan(X_test[i, cols])  # ordered, no result: not offered again
            steps[i].append(x[i].copy())
            moved.append(i)
        active = np.array(moved, dtype=np.int64)
    states = np.array([state for case in steps for state in case])
    labels = np.concatenate([np.full(len(case), y_test[i]) for i, case in enumerate(steps)])
    return states, labels
