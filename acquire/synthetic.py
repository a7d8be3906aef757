"""Seeded synthetic cases from a fitted model, for load tests of any size."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from acquire.exceptions import AcquireError

__all__ = ["generate"]


def generate(model: Any, n: int, *, seed: int = 0, missing: float = 0.0, chunk: int = 100_000) -> pd.DataFrame:
    """``n`` synthetic rows: features drawn from the conditional model, the target from the class
    mixture (a row's class is drawn first from the training priors) or, for a continuous target,
    from the predictor given the drawn features. ``missing`` hides each feature at that rate.

    Same seed, same rows. Levels are written back as their labels, so the frame looks like the
    training data and goes straight into ``rank_frame`` or ``acquire batch``.
    """
    if n < 0 or not 0 <= missing < 1:
        raise AcquireError(f"n must be >= 0 and missing in [0, 1); got n={n}, missing={missing}")
    spec, cond = model.spec, model.conditional
    p = len(spec.features)
    rng = np.random.default_rng(seed)
    parts = []
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        x = np.full(p, np.nan)
        if "class_mixture" in cond.capabilities:
            klass = rng.choice(len(cond.priors_), size=size, p=cond.priors_)
            X = np.empty((size, p))
            for k, comp in enumerate(cond.components_):
                pick = klass == k
                X[pick] = comp.sample_from_normals(x, rng.standard_normal((int(pick.sum()), p)))
            owner = cond.component_class_[klass]  # a class may be a mixture of components
            y = np.asarray(spec.classes or np.arange(int(cond.component_class_.max()) + 1), dtype=object)[owner]
        else:
            X = cond.sample_from_normals(x, rng.standard_normal((size, p)))
            dist = model.predictor.predict_distribution(X)
            y = rng.normal(dist[:, 0], np.sqrt(np.maximum(dist[:, 1], 0)))
        if missing:
            X[rng.uniform(size=X.shape) < missing] = np.nan
        frame = pd.DataFrame(X, columns=spec.feature_names)
        for f in spec.features:
            if f.levels is not None:
                codes = frame[f.name]
                frame[f.name] = pd.Series(np.asarray(f.levels, dtype=object)[codes.fillna(0).astype(int)],
                                          dtype=object).where(codes.notna(), None)
        frame[spec.target_name] = y
        parts.append(frame)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=spec.feature_names + [spec.target_name])
