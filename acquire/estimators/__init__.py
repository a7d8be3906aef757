"""Array-level kernels (numba where it pays): no pandas, no specs, no files.

- :mod:`acquire.estimators.gaussian` — Gaussian conditioning.
- :mod:`acquire.estimators.value` — value-of-information estimates from prediction tensors
  (EIG for classes and Gaussian predictive distributions, EVSI under a utility matrix).
"""
