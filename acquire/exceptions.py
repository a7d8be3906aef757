"""Errors and warnings raised by acquire.

`AcquireError` and its subclasses are *user* errors: bad input, a malformed spec,
a corrupt model directory. The CLI prints their message on one line and exits 2.
Anything else escaping the library is an internal error (exit 1).
"""

from __future__ import annotations


class AcquireError(ValueError):
    """A problem with what the user gave us; the message says what and where."""


class SpecError(AcquireError):
    """The spec file is malformed or inconsistent with itself or the data."""


class DataError(AcquireError):
    """A data frame, row or case does not match the spec."""


class ModelError(AcquireError):
    """A model directory is missing, corrupt, tampered with or of the wrong kind."""


class NotFittedError(AcquireError):
    """A method that needs a fitted estimator was called before `fit`."""


class AcquireWarning(UserWarning):
    """Something the user should know about an answer that is still given (one line each)."""


class AfterDecisionWarning(AcquireWarning):
    """A case holds values of features known only after the decision; they were left out."""
