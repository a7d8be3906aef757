"""Type aliases shared by the public API."""

from __future__ import annotations

import os
from typing import Literal, Mapping, Union

import numpy as np
import numpy.typing as npt

PathLike = Union[str, "os.PathLike[str]"]
FloatArray = npt.NDArray[np.float64]
Objective = Literal["eig", "evsi"]
TargetKind = Literal["binary", "multiclass", "continuous"]
Case = Mapping[str, float]
