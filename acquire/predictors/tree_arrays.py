"""XGBoost's own trees as flat arrays, parsed once from the model's JSON dump, for the numba kernels."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from acquire.estimators.trees import predict_margins

__all__ = ["TreeArrays", "check_model_document", "tree_arrays_from_boosters"]


@dataclass(frozen=True)
class TreeArrays:
    """All trees of one or more boosters, node arrays concatenated.

    Node ``n`` of the flat arrays: children ``left[n]``/``right[n]`` (global indices, −1 at a
    leaf), split ``feature[n]`` and float32 ``threshold[n]`` (go left iff ``x < threshold``),
    ``default_left[n]`` for a missing value, leaf ``value[n]`` and ``cover[n]`` (sum of
    hessians). Tree ``t`` starts at ``tree_start[t]`` and adds to output group ``tree_group[t]``
    (a class for softprob; for a continuous target, group 0 is the mean and group 1 the
    log-variance). ``base_margin[g]`` is each group's constant.
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    default_left: np.ndarray
    value: np.ndarray
    cover: np.ndarray
    tree_start: np.ndarray
    tree_group: np.ndarray
    base_margin: np.ndarray

    @property
    def n_groups(self) -> int:
        return int(self.base_margin.size)

    @property
    def n_trees(self) -> int:
        return int(self.tree_group.size)

    def margins(self, X: np.ndarray) -> np.ndarray:
        """Raw margins (n, n_groups) in float64, the way XGBoost routes each row."""
        return predict_margins(np.ascontiguousarray(X, dtype=np.float64), *self.kernel_args())

    def kernel_args(self) -> tuple:
        return (self.left, self.right, self.feature, self.threshold, self.default_left, self.value,
                self.tree_start, self.tree_group, self.base_margin)


def _parse(booster, group_offset: int) -> tuple[list[dict], list[int]]:
    model = json.loads(bytes(booster.save_raw("json")))["learner"]["gradient_booster"]
    if model.get("name") != "gbtree":
        raise ValueError(f"exact tree estimators need a gbtree booster, got {model.get('name')!r}")
    trees = model["model"]["trees"]
    groups = [int(g) + group_offset for g in model["model"]["tree_info"]]
    for t in trees:
        if any(t.get("split_type", [])):
            raise ValueError("categorical splits are not supported by the exact tree estimators")
    return trees, groups


NODE_KEYS = ("left_children", "right_children", "split_indices", "split_conditions", "default_left", "sum_hessian")


def _check_trees(trees: list[dict], n_features: int, n_groups: int, groups: Sequence[int]) -> None:
    """Refuse trees the kernels cannot walk safely (a model file can be edited and re-checksummed):
    every node array of a tree has one entry per node; a leaf's children are exactly −1 (XGBoost
    walks any other value); a split's feature is in ``[0, n_features)``;
    its children lie in the same tree after the node itself (so every walk ends: no cycle, depth
    below the tree's size); every tree adds to an existing output group."""
    if any(not 0 <= g < n_groups for g in groups) or len(groups) != len(trees):
        raise ValueError("a tree adds to an output group the model does not have")
    for t, tree in enumerate(trees):
        n = len(tree["left_children"])
        if n == 0 or any(len(tree[key]) != n for key in NODE_KEYS):
            raise ValueError(f"tree {t}: its node arrays differ in length")
        left = np.asarray(tree["left_children"], dtype=np.float64)
        right = np.asarray(tree["right_children"], dtype=np.float64)
        feature = np.asarray(tree["split_indices"], dtype=np.float64)
        node = np.arange(n)
        if ((left < 0) & (left != -1)).any() or ((right < 0) & (right != -1)).any():
            raise ValueError(f"tree {t}: a child index is negative but not -1 (a leaf)")
        split = left >= 0
        if (split != (right >= 0)).any():
            raise ValueError(f"tree {t}: a node has one child")
        if ((left[split] <= node[split]) | (left[split] >= n) | (right[split] <= node[split]) | (right[split] >= n)).any():
            raise ValueError(f"tree {t}: a child index is out of range or points back (a cycle)")
        if ((feature[split] < 0) | (feature[split] >= n_features) | (feature[split] != np.floor(feature[split]))).any():
            raise ValueError(f"tree {t}: a split uses a feature index outside 0..{n_features - 1}")
        if not np.isfinite(np.asarray(tree["split_conditions"], dtype=np.float64)).all():
            raise ValueError(f"tree {t}: a split threshold or leaf value is not finite")


#: per-node arrays XGBoost reads when it loads a tree (each must have one entry per node)
LOADED_NODE_KEYS = NODE_KEYS + ("parents", "base_weights", "loss_changes")


def check_model_document(doc: object) -> None:
    """Refuse a decoded XGBoost model document (``predictor.ubj``) whose trees XGBoost's loader or
    the kernels could not use safely, before either sees it: a gbtree learner; per tree, every node
    array as long as ``tree_param.num_nodes`` (at most 2^24), parents and children in range, the
    rules of :func:`_check_trees`, and no categorical splits; ``tree_info`` naming a group per tree.
    Raises ``ValueError``."""
    try:
        learner = doc["learner"]  # type: ignore[index]
        booster = learner["gradient_booster"]
        n_features = int(learner["learner_model_param"]["num_feature"])
        n_groups = max(1, int(learner["learner_model_param"].get("num_class", "0")),
                       int(learner["learner_model_param"].get("num_target", "1")))
        if booster.get("name") != "gbtree":
            raise ValueError(f"exact tree estimators need a gbtree booster, got {str(booster.get('name'))[:40]!r}")
        model = booster["model"]
        trees, info = model["trees"], [int(g) for g in model["tree_info"]]
        if int(model["gbtree_model_param"]["num_trees"]) != len(trees):
            raise ValueError("the tree count differs from the trees present")
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not an XGBoost model document (missing or malformed {exc})") from None
    if not 0 < n_features <= 1 << 20:
        raise ValueError(f"num_feature {n_features} is out of range")
    for t, tree in enumerate(trees):
        if not isinstance(tree, dict):
            raise ValueError(f"tree {t}: not a tree")
        try:
            n = int(tree["tree_param"]["num_nodes"])
            arrays = {key: np.asarray(tree[key]) for key in LOADED_NODE_KEYS}
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"tree {t}: a node array or tree_param is missing") from None
        if not 0 < n <= 1 << 24 or any(a.ndim != 1 or len(a) != n or a.dtype.kind not in "biuf"
                                       for a in arrays.values()):
            raise ValueError(f"tree {t}: its node arrays differ from num_nodes or are not numbers")
        parents = arrays["parents"].astype(np.float64)
        if not (((parents >= -1) & (parents < n)) | (parents == 2**31 - 1)).all():  # the root's parent: 2^31 - 1
            raise ValueError(f"tree {t}: a parent index is out of range")
        if np.asarray(tree.get("split_type", [])).any() or len(np.asarray(tree.get("categories", []))):
            raise ValueError("categorical splits are not supported by the exact tree estimators")
    _check_trees(trees, n_features, n_groups, info)


def tree_arrays_from_boosters(boosters: Sequence, n_features: int, groups_per_booster: Sequence[int]) -> TreeArrays:
    """Flatten ``boosters`` (their groups numbered one after another) into :class:`TreeArrays`."""
    parts, groups, offset = [], [], 0
    for booster, n_groups in zip(boosters, groups_per_booster):
        trees, tree_groups = _parse(booster, offset)
        parts.extend(trees)
        groups.extend(tree_groups)
        offset += n_groups
    sizes = [len(t["left_children"]) for t in parts]
    start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def cat(key, dtype):
        return np.concatenate([np.asarray(t[key], dtype=np.float64) for t in parts]).astype(dtype)

    _check_trees(parts, n_features, offset, groups)
    shift = np.repeat(start[:-1], sizes)
    left, right = cat("left_children", np.int64), cat("right_children", np.int64)
    leaf = left < 0
    left = np.where(leaf, -1, left + shift)
    right = np.where(leaf, -1, right + shift)
    arrays = dict(
        left=left, right=right, feature=cat("split_indices", np.int64),
        threshold=cat("split_conditions", np.float32), default_left=cat("default_left", np.bool_),
        value=np.where(leaf, cat("split_conditions", np.float64), 0.0), cover=cat("sum_hessian", np.float64),
        tree_start=start, tree_group=np.asarray(groups, dtype=np.int64),
    )
    # Base margins: XGBoost stores base_score differently across versions and objectives,
    # so read it off the model: the margin of an all-missing row minus its leaves.
    probe = np.full((1, n_features), np.nan)
    no_base = TreeArrays(**arrays, base_margin=np.zeros(offset))
    leaves = no_base.margins(probe)[0]
    base: list[float] = []
    for booster, n_groups in zip(boosters, groups_per_booster):
        m = np.asarray(booster.inplace_predict(probe, predict_type="margin", missing=np.nan), dtype=np.float64)
        base.extend(np.atleast_1d(m.reshape(-1))[:n_groups])
    return TreeArrays(**arrays, base_margin=np.asarray(base) - leaves)
