"""A Bayesian generalized linear model in PyMC: parameter uncertainty counts in the value of information.

The features enter through the normal scores of a Gaussian copula (``u_j = Φ⁻¹(F_j(x_j))``; a
discrete value sits at the mean of its latent interval), so every feature is on one scale and the
latent ``u`` is jointly Gaussian with correlation ``R``. The linear predictor is
``η = α + u·β`` with a regularized horseshoe prior on ``β`` (Piironen & Vehtari, 2017), so 30
features do not overfit 500 rows. Links with a closed-form marginal over a Gaussian ``η``:

- binary: probit, ``P(y = 1) = Φ(η)``;
- multiclass: ordered probit with cut points ``c``, ``P(y ≤ k) = Φ(c_k − η)`` (classes are ordered);
- continuous: ``y ~ N(η, σ²)`` on the standardized target.

**Missing inputs are integrated out in the model, at fit and at predict time alike.** Given the
observed ``u_o``, the missing ``u_m`` are Gaussian (``μ_c``, ``Σ_c`` from ``R``), so ``η`` is
Gaussian with mean ``α + u_o·β_o + μ_c·β_m`` and variance ``s² = β_mᵀ Σ_c β_m``, and

    P(y = 1 | x_o, θ) = Φ(m / √(1 + s²))      (ordered: Φ((c_k − m)/√(1 + s²)); Gaussian: N(m, σ² + s²))

exactly: no point imputation, no sampled missing values.

Inference: NUTS (PyMC's sampler) by default, ADVI as the fast option. R-hat, ESS and
divergences (arviz) are kept in ``diagnostics_`` and raised as warnings with their numbers. The
posterior is saved as NetCDF (``posterior.nc``, an arviz ``InferenceData``); never pickle.
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from pathlib import Path
from typing import ClassVar, Sequence

import numpy as np
from scipy.special import ndtr

import acquire._json as strict_json
from acquire.conditional import GaussianCopula
from acquire.exceptions import DataError, ModelError
from acquire.predictors.base import Predictor

__all__ = ["BayesianPredictor", "ConvergenceWarning"]


class ConvergenceWarning(UserWarning):
    """The sampler's diagnostics (R-hat, ESS, divergences) suggest the posterior is not trustworthy."""


def _looks_discrete(column: np.ndarray, max_levels: int = 12) -> bool:
    """Few distinct whole-number values: treated as discrete by the copula."""
    v = column[~np.isnan(column)]
    return v.size > 0 and np.unique(v).size <= max_levels and bool(np.all(v == np.round(v)))


class BayesianPredictor(Predictor):
    """Bayesian GLM with horseshoe shrinkage, fitted by NUTS or ADVI (scikit-learn conventions).

    Parameters
    ----------
    inference : {"nuts", "advi"}
    draws, tune, chains : int
        NUTS draws and tuning steps per chain (ADVI: ``draws`` from the fitted approximation).
    advi_iterations : int
    target_accept : float
    expected_nonzero : float or None
        Prior guess of how many coefficients matter (sets the horseshoe's global scale); default p/3.
    seed : int
    progressbar : bool
        Show PyMC's progress bar while sampling or fitting.
    prior : {"horseshoe", "normal"}
        Shrinkage on ``β``: the regularized horseshoe, or ``N(0, prior_scale²)`` per coefficient
        (conjugate for a continuous target with a known ``noise_sd``; used to test against closed forms).
    prior_scale : float
    noise_sd : float or None
        Continuous target: the noise s.d. on the standardized scale if known; None gives it a
        half-normal prior.

    Attributes
    ----------
    kind_, n_classes_, n_features_in_
    copula_ : GaussianCopula
        The latent scale of the features and the model of the missing ones.
    alpha_ : ndarray (T,)
    beta_ : ndarray (T, p)
    cutpoints_ : ndarray (T, K − 1) or None
    sigma_ : ndarray (T,) or None
        Posterior draws (T = chains × draws).
    y_mean_, y_scale_ : float
        Standardization of a continuous target.
    idata_ : arviz.InferenceData
    diagnostics_ : dict
    """

    capabilities = frozenset({"posterior_draws"})

    name = "bayes"
    files_required: ClassVar[tuple[str, ...]] = ("posterior.nc", "predictor_copula.json")  # read at load: the manifest must list them with checksums

    def __init__(self, *, inference: str = "nuts", draws: int = 500, tune: int = 500, chains: int = 2,
                 advi_iterations: int = 10000, target_accept: float = 0.95, expected_nonzero: float | None = None,
                 seed: int = 0, progressbar: bool = False, prior: str = "horseshoe", prior_scale: float = 1.0,
                 noise_sd: float | None = None):
        self.inference = inference
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.advi_iterations = advi_iterations
        self.target_accept = target_accept
        self.expected_nonzero = expected_nonzero
        self.seed = seed
        self.progressbar = progressbar
        self.prior = prior
        self.prior_scale = prior_scale
        self.noise_sd = noise_sd

    # ---- the latent scale ---------------------------------------------------------------
    def _latent(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(U_fill, pattern, Sigma)``: normal scores with missing entries at their conditional
        mean, each row's missingness pattern, and each pattern's conditional covariance (P, p, p)."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise DataError(f"X has shape {X.shape}; expected (n, {self.n_features_in_})")
        R = self.copula_.correlation_
        U = np.zeros_like(X)
        for j, marginal in enumerate(self.copula_.marginals_):
            ok = ~np.isnan(X[:, j])
            U[ok, j] = marginal.latent_point(X[ok, j])
        missing = np.isnan(X)
        patterns, pattern = np.unique(missing, axis=0, return_inverse=True)
        pattern = pattern.reshape(-1)
        sigma = np.zeros((len(patterns), X.shape[1], X.shape[1]))
        for k, miss in enumerate(patterns):
            if not miss.any():
                continue
            o, m = np.flatnonzero(~miss), np.flatnonzero(miss)
            rows = pattern == k
            if o.size:
                W = np.linalg.solve(R[np.ix_(o, o)], R[np.ix_(o, m)]).T  # (m, o): E[u_m | u_o] = W u_o
                U[np.ix_(rows, m)] = U[np.ix_(rows, o)] @ W.T
                sigma[k][np.ix_(m, m)] = R[np.ix_(m, m)] - W @ R[np.ix_(o, m)]
            else:
                sigma[k][np.ix_(m, m)] = R[np.ix_(m, m)]
        return U, pattern, sigma

    # ---- fitting ------------------------------------------------------------------------
    def fit(self, X: np.ndarray, y: np.ndarray, *, kind: str, n_classes: int = 0,
            mask_units: Sequence[Sequence[int]] | None = None,
            discrete: Sequence[bool] | None = None) -> "BayesianPredictor":
        """Fit the copula, then the GLM's posterior; ``mask_units`` is not needed (missing values are
        integrated out exactly). ``discrete`` flags the copula's discrete features (default: columns
        with at most 12 whole-number values)."""
        import pymc as pm
        import pytensor.tensor as pt

        if self.inference not in ("nuts", "advi"):
            raise ModelError(f"inference must be 'nuts' or 'advi', got {self.inference!r}")
        if self.prior not in ("horseshoe", "normal"):
            raise ModelError(f"prior must be 'horseshoe' or 'normal', got {self.prior!r}")
        X = np.ascontiguousarray(X, dtype=np.float64)
        y = np.asarray(y)
        self.kind_, self.n_features_in_ = kind, X.shape[1]
        self.n_classes_ = 0 if kind == "continuous" else max(int(n_classes), 2)
        if discrete is None:
            discrete = [_looks_discrete(X[:, j]) for j in range(X.shape[1])]
        self.copula_ = GaussianCopula().fit(X, list(discrete))
        U, pattern, sigma = self._latent(X)
        n, p = U.shape
        p0 = self.expected_nonzero if self.expected_nonzero is not None else max(1.0, p / 3)
        tau0 = p0 / max(p - p0, 1.0) / np.sqrt(n)
        if kind == "continuous":
            self.y_mean_, self.y_scale_ = float(np.mean(y)), float(np.std(y) or 1.0)
            y_std = (y - self.y_mean_) / self.y_scale_
        has_missing = bool(sigma.any())

        with pm.Model(), _quiet_pymc(not self.progressbar):
            if self.prior == "horseshoe":
                tau = pm.HalfCauchy("tau", beta=tau0)
                lam = pm.HalfCauchy("lam", beta=1.0, shape=p)
                c2 = pm.InverseGamma("c2", alpha=2.0, beta=2.0 * 2.0**2)  # slab: ν = 4, scale 2
                lam_tilde = pt.sqrt(c2 * lam**2 / (c2 + tau**2 * lam**2))
                z = pm.Normal("z", 0.0, 1.0, shape=p)
                beta = pm.Deterministic("beta", z * tau * lam_tilde)
            else:
                beta = pm.Normal("beta", 0.0, self.prior_scale, shape=p)
            mean = pt.dot(pt.as_tensor(U), beta)
            s2 = (pt.tensordot(pt.tensordot(pt.as_tensor(sigma), beta, axes=[[2], [0]]), beta, axes=[[1], [0]])[pattern]
                  if has_missing else 0.0)
            if kind == "binary":
                alpha = pm.Normal("alpha", 0.0, 2.0)
                prob = pt.clip(0.5 * pt.erfc(-(alpha + mean) / pt.sqrt(1.0 + s2) / np.sqrt(2.0)), 1e-12, 1 - 1e-12)
                pm.Bernoulli("y", p=prob, observed=(y > 0).astype(int))
            elif kind == "multiclass":
                alpha = pt.constant(0.0)
                cuts = pm.Normal("cutpoints", 0.0, 3.0, shape=self.n_classes_ - 1,
                                 transform=pm.distributions.transforms.ordered,
                                 initval=np.linspace(-1, 1, self.n_classes_ - 1))
                scale = pt.sqrt(1.0 + s2)[:, None] if has_missing else 1.0
                cdf = 0.5 * pt.erfc(-(cuts[None, :] - mean[:, None]) / scale / np.sqrt(2.0))
                probs = pt.concatenate([cdf[:, :1], cdf[:, 1:] - cdf[:, :-1], 1.0 - cdf[:, -1:]], axis=1)
                pm.Categorical("y", p=pt.clip(probs, 1e-12, 1.0), observed=y.astype(int))
            else:
                alpha = pm.Normal("alpha", 0.0, 2.0)
                sigma_y = (pm.HalfNormal("sigma", 1.0) if self.noise_sd is None else
                           pm.Deterministic("sigma", pt.as_tensor(float(self.noise_sd))))
                pm.Normal("y", mu=alpha + mean, sigma=pt.sqrt(sigma_y**2 + s2), observed=y_std)
            if self.inference == "nuts":
                idata = pm.sample(draws=self.draws, tune=self.tune, chains=self.chains, cores=1,
                                  target_accept=self.target_accept, random_seed=self.seed,
                                  progressbar=self.progressbar, compute_convergence_checks=False)
            else:
                approx = pm.fit(self.advi_iterations, method="advi", random_seed=self.seed, progressbar=self.progressbar)
                idata = approx.sample(self.draws * self.chains, random_seed=self.seed)
        keep = ["alpha", "beta", "cutpoints", "sigma", "tau"]
        self.idata_ = _thin(idata, [v for v in keep if v in idata.posterior])
        self._read_draws()
        self.diagnostics_ = self._diagnose()
        return self

    def _read_draws(self) -> None:
        post = self.idata_.posterior

        def draws(name):
            if name not in post:
                return None
            v = np.asarray(post[name].values, dtype=np.float64)
            return v.reshape(v.shape[0] * v.shape[1], *v.shape[2:])

        self.beta_ = np.ascontiguousarray(draws("beta"))
        alpha = draws("alpha")
        self.alpha_ = np.zeros(len(self.beta_)) if alpha is None else alpha
        self.cutpoints_ = draws("cutpoints")
        self.sigma_ = draws("sigma")

    def _diagnose(self) -> dict:
        import arviz as az

        post = self.idata_.posterior
        out: dict = {"inference": self.inference, "draws": int(post.sizes["chain"] * post.sizes["draw"]),
                     "chains": int(post.sizes["chain"])}
        if self.inference == "nuts":
            names = [v for v in ("alpha", "beta", "cutpoints", "sigma") if v in post and float(post[v].std()) > 0]
            rhat = az.rhat(self.idata_, var_names=names)
            ess = az.ess(self.idata_, var_names=names)
            out["max_rhat"] = float(max(float(rhat[v].max()) for v in names))
            out["min_ess_bulk"] = float(min(float(ess[v].min()) for v in names))
            out["divergences"] = int(self.idata_.sample_stats["diverging"].sum()) if "sample_stats" in self.idata_ else 0
            problems = []
            if out["max_rhat"] > 1.01:
                problems.append(f"max R-hat {out['max_rhat']:.3f} > 1.01")
            if out["min_ess_bulk"] < 100 * out["chains"]:
                problems.append(f"min bulk ESS {out['min_ess_bulk']:.0f} < {100 * out['chains']}")
            if out["divergences"]:
                problems.append(f"{out['divergences']} divergent transitions")
            if problems:
                warnings.warn("NUTS: " + "; ".join(problems) + " (more --tune/--draws, or inference='advi' for a "
                              "rough fit)", ConvergenceWarning, stacklevel=3)
        return out

    # ---- prediction ---------------------------------------------------------------------
    def linear_predictor(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(m, s²)``, each (T, n): the mean and the variance of ``η`` per posterior draw and row,
        with the missing features integrated out."""
        self._check_fitted()
        U, pattern, sigma = self._latent(X)
        m = self.alpha_[:, None] + self.beta_ @ U.T
        s2_pattern = np.einsum("ti,kij,tj->tk", self.beta_, sigma, self.beta_)
        return m, s2_pattern[:, pattern]

    def predict_draws(self, X: np.ndarray) -> np.ndarray:
        """``p(y | x_o, θ_t)`` for every posterior draw: (T, n, K) class probabilities, or
        (T, n, 2) Gaussian ``[mean, variance]`` on the target's scale."""
        m, s2 = self.linear_predictor(X)
        if self.kind_ == "binary":
            p1 = ndtr(m / np.sqrt(1.0 + s2))
            return np.stack([1.0 - p1, p1], axis=-1)
        if self.kind_ == "multiclass":
            cdf = ndtr((self.cutpoints_[:, None, :] - m[..., None]) / np.sqrt(1.0 + s2)[..., None])
            return np.diff(np.concatenate([np.zeros(m.shape + (1,)), cdf, np.ones(m.shape + (1,))], axis=-1), axis=-1)
        var = (self.sigma_[:, None] ** 2 + s2) * self.y_scale_**2
        return np.stack([self.y_mean_ + self.y_scale_ * m, var], axis=-1)

    def predict_distribution(self, X: np.ndarray) -> np.ndarray:
        """The posterior predictive: draws averaged (a Gaussian's variance adds the spread of the means)."""
        d = self.predict_draws(X)
        if self.kind_ != "continuous":
            return d.mean(axis=0)
        mean = d[..., 0].mean(axis=0)
        return np.column_stack([mean, d[..., 1].mean(axis=0) + d[..., 0].var(axis=0)])

    # ---- persistence --------------------------------------------------------------------
    def save(self, directory: Path) -> dict:
        self._check_fitted()
        self.idata_.to_netcdf(str(Path(directory) / "posterior.nc"), engine="h5netcdf")
        (Path(directory) / "predictor_copula.json").write_text(strict_json.dumps(self.copula_.to_dict()), "utf-8")
        meta = {"name": self.name, "kind": self.kind_, "n_classes": self.n_classes_,
                "n_features": self.n_features_in_, "diagnostics": self.diagnostics_,
                "params": {k: getattr(self, k) for k in ("inference", "draws", "tune", "chains", "advi_iterations",
                                                        "target_accept", "expected_nonzero", "seed", "prior",
                                                        "prior_scale", "noise_sd")}}
        if self.kind_ == "continuous":
            meta["y_mean"], meta["y_scale"] = self.y_mean_, self.y_scale_
        return meta

    @classmethod
    def load(cls, directory: Path, meta: dict) -> "BayesianPredictor":
        import arviz as az

        from acquire.conditional import conditional_from_dict

        self = cls(**meta.get("params", {}))
        self.kind_, self.n_classes_, self.n_features_in_ = meta["kind"], int(meta["n_classes"]), int(meta["n_features"])
        self.diagnostics_ = meta.get("diagnostics", {})
        if self.kind_ == "continuous":
            self.y_mean_, self.y_scale_ = float(meta["y_mean"]), float(meta["y_scale"])
        try:
            self.idata_ = az.from_netcdf(str(Path(directory) / "posterior.nc"))
            copula = conditional_from_dict(json.loads((Path(directory) / "predictor_copula.json").read_text("utf-8")))
            if not isinstance(copula, GaussianCopula):
                raise ValueError("predictor_copula.json must hold a gaussian_copula")
            self.copula_ = copula
            self._read_draws()
        except (OSError, KeyError, ValueError, json.JSONDecodeError) as exc:
            raise ModelError(f"{directory}: unreadable Bayesian posterior: {exc}") from None
        if self.beta_.ndim != 2 or self.beta_.shape[1] != self.n_features_in_:
            raise ModelError(f"{directory}: the posterior has {self.beta_.shape[-1]} coefficients; expected {self.n_features_in_}")
        return self


@contextlib.contextmanager
def _quiet_pymc(quiet: bool):
    """Silence PyMC's "Initializing NUTS..." log lines while fitting (restored afterwards)."""
    logger = logging.getLogger("pymc")
    level = logger.level
    if quiet:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _thin(idata, names: list[str]):
    """Keep only the parameters prediction needs (and sampler stats), so posterior.nc stays small."""
    import arviz as az

    groups = {"posterior": idata.posterior[names]}
    if "sample_stats" in idata.groups():
        groups["sample_stats"] = idata.sample_stats[["diverging"]] if "diverging" in idata.sample_stats else idata.sample_stats
    return az.InferenceData(**groups)
