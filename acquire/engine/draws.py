"""Common random numbers: standard normals from independently scrambled Sobol sets, cached per seed."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = ["standard_normal_draws"]


@lru_cache(maxsize=64)
def standard_normal_draws(n_replicates: int, n_per_replicate: int, dim: int, seed: int) -> np.ndarray:
    """``(R, N, dim)`` standard normals from R independently scrambled Sobol sets (randomized QMC).

    Cached and read-only: the same seed gives the same draws for every case (common random numbers).
    ``n_per_replicate`` must be a power of two.

    Examples
    --------
    >>> z = standard_normal_draws(8, 128, 3, 0)
    >>> z.shape, bool(abs(z.mean()) < 0.05)
    ((8, 128, 3), True)
    """
    from scipy.special import ndtri
    from scipy.stats import qmc

    if dim == 0:
        return np.zeros((n_replicates, n_per_replicate, 0))
    rng = np.random.default_rng(seed)
    out = np.empty((n_replicates, n_per_replicate, dim))
    for r in range(n_replicates):
        u = qmc.Sobol(d=dim, scramble=True, seed=rng).random_base2(int(math.log2(n_per_replicate)))
        out[r] = ndtri(np.clip(u, 1e-12, 1 - 1e-12))
    out.flags.writeable = False
    return out
