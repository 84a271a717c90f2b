"""Named ``mm()`` blocks in main-formula interactions (``majority:coal``, ``coal:opp``).

A block named with ``name = "coal"`` whose group feature F is one column can appear in
interactions of the main formula.  With fixed weights and shapes F is data: it is put in the
group frame under the block's name and patsy builds the interaction columns as for any
column (:func:`named_features`).

With estimated weights (``w(~ exp(gamma * x))``, ``b0/b1``) or shapes (``est()``) F = F(θ)
depends on the block's parameters, and so do the interaction columns.  patsy then builds
the main design with F = 1 in place of each such block; every column of a term that holds
one (``majority:coal``) or two (``coal:opp``) of them becomes a :class:`NamedInteraction`:

    X_j(θ) = base_j · Π_b F_b(θ_b),

``base_j`` the column patsy built (the rest of the term: the main-level variable, a dummy,
or the feature of a block with fixed weights).  Its derivative in a parameter of block b is
``base_j · dF_b/dθ · Π_{b' ≠ b} F_b'`` (product rule, :mod:`mmreg.inference.interactions`).
Such a block may enter a term only as itself: ``I(coal^2)``, ``log(coal)`` or a stateful
transform of it would not be a product, and raise :class:`~mmreg.errors.MMSpecError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from mmreg.design_blocks import MMBlockDesign
from mmreg.errors import MMSpecError

__all__ = [
    "NamedInteraction",
    "block_feature",
    "named_features",
    "estimated_interactions",
    "check_not_elsewhere",
]


@dataclass(frozen=True, eq=False)
class NamedInteraction:
    """A main-design column that is a product with θ-dependent block features.

    Attributes
    ----------
    column : int
        Position in the main design ``Design.X`` (a NaN placeholder there).
    name : str
        The column's name (``"majority:coal"``).
    base : ndarray, shape (n_groups,)
        The column with every estimated block feature set to 1.
    blocks : tuple of int
        Positions (in ``Design.mm``) of the blocks whose features multiply ``base``.
    """

    column: int
    name: str
    base: np.ndarray = field(repr=False)
    blocks: tuple[int, ...]


def _mentions(name: str, text: str) -> bool:
    """Whether ``text`` uses the block name ``name`` as a symbol."""
    return re.search(rf"(?<![\w.]){re.escape(name)}(?![\w.])", text) is not None


def block_feature(b: MMBlockDesign, theta, n_groups: int) -> np.ndarray:
    """The group feature F of a single-feature block at its parameters ``theta``: Σ w·x, or
    the aggregated feature F(θ) of ``fn()`` (:class:`~mmreg.design_agg.AggregatedFeature`).

    Parameters
    ----------
    b : MMBlockDesign
    theta : array_like
        The block's parameters (empty for fixed weights and shapes).
    n_groups : int

    Returns
    -------
    ndarray, shape (n_groups,)
    """
    w = b.weights(theta, derivative=False)[0]
    if b.feature is not None:
        return b.feature(w, None, theta)[0]
    return np.bincount(b.group, w * b.X[:, 0], minlength=n_groups)


def named_features(
    mm: tuple[MMBlockDesign, ...], n_groups: int, main: str
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """The named ``mm()`` blocks used in the main terms.

    Parameters
    ----------
    mm : tuple of MMBlockDesign
    n_groups : int
    main : str
        The main terms (blocks whose names do not appear there are skipped).

    Returns
    -------
    fixed : dict of str to ndarray, shape (n_groups,)
        The group feature Σ w·x of every used block with fixed weights and shapes.
    estimated : dict of str to int
        The position in ``mm`` of every used block whose feature depends on parameters.

    Raises
    ------
    MMSpecError
        A block with several features (or a ``fix()`` inside its ``vars()``).
    """
    fixed: dict[str, np.ndarray] = {}
    estimated: dict[str, int] = {}
    for k, b in enumerate(mm):
        name = b.spec.name
        if name is None or not _mentions(name, main):
            continue
        if b.X.shape[1] != 1 or b.fixed_offset.any():
            raise MMSpecError(
                f"the named block {name!r} ({b.label}) has {b.X.shape[1]} features "
                f"({', '.join(b.xnames)}); only a single-feature block can be used in "
                "interactions."
            )
        if not b.weights.is_constant:
            estimated[name] = k
            continue
        fixed[name] = block_feature(b, np.zeros(0), n_groups)
    return fixed, estimated


def check_not_elsewhere(estimated: dict[str, int], places: dict[str, str]) -> None:
    """Blocks with estimated features may be used in main-formula interactions only.

    Parameters
    ----------
    estimated : dict of str to int
        From :func:`named_features`.
    places : dict of str to str
        Other terms of the formula by where they stand (``"fix() of the main terms"``).

    Raises
    ------
    MMSpecError
        A block name in one of ``places``.
    """
    for name in estimated:
        for where, text in places.items():
            if _mentions(name, text):
                raise MMSpecError(
                    f"the named block {name!r} has estimated weights or shapes; it can be "
                    f"used in interactions of the main formula only, not in {where} "
                    f"({text!r})."
                )


def estimated_interactions(
    X: np.ndarray,
    names: list[str],
    factors: list[tuple[str, ...]],
    estimated: dict[str, int],
) -> tuple[np.ndarray, tuple[NamedInteraction, ...]]:
    """Split the main design into fixed columns and θ-dependent products.

    Parameters
    ----------
    X : ndarray, shape (n_groups, p)
        The main design built with F = 1 for every block in ``estimated``.
    names : list of str
        Its column names.
    factors : list of tuple of str
        The factors (patsy code) of each column's term.
    estimated : dict of str to int
        Block names with estimated features and their positions in ``Design.mm``.

    Returns
    -------
    X : ndarray
        A copy with NaN in the θ-dependent columns.
    interactions : tuple of NamedInteraction

    Raises
    ------
    MMSpecError
        A block with estimated features enters a term through a transformation.
    """
    X = X.copy()
    out = []
    for j, codes in enumerate(factors):
        blocks = []
        for name, k in estimated.items():
            for code in codes:
                if code == name:
                    blocks.append(k)
                elif _mentions(name, code):
                    raise MMSpecError(
                        f"the named block {name!r} has estimated weights or shapes, so it "
                        f"can enter a main-formula term only as itself (majority:{name}), "
                        f"not through {code!r}; a transformation of an estimated feature "
                        "is not available."
                    )
        if blocks:
            out.append(NamedInteraction(j, names[j], X[:, j].copy(), tuple(sorted(blocks))))
            X[:, j] = np.nan
    return X, tuple(out)
