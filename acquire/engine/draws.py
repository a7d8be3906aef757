"""Common random numbers: standard normals from independently scrambled Sobol sets, cached per seed."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = ["normals_by_count", "standard_normal_draws"]


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


def normals_by_count(m_of: np.ndarray, n_replicates: int, n_per_replicate: int, extra: int,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The draws of a block of cases, case i needing ``m_of[i] + extra`` normals per draw.

    Returns ``normals`` (G, R·N, max(m_of, 1) + extra), one slab per distinct count (the first
    ``m + extra`` columns of :func:`standard_normal_draws` for that count, zeros after), and ``which``
    (n,), each case's slab: every case with as many missing features gets the same draws.
    """
    distinct = np.unique(m_of)
    width = max(int(m_of.max()), 1)
    normals = np.zeros((distinct.size, n_replicates * n_per_replicate, width + extra))
    for g, m in enumerate(distinct):
        normals[g, :, : int(m) + extra] = standard_normal_draws(
            n_replicates, n_per_replicate, int(m) + extra, seed).reshape(n_replicates * n_per_replicate, -1)
    return normals, np.searchsorted(distinct, m_of)
