"""Main-design columns that are products with θ-dependent block features.

A named ``mm()`` block with estimated weights or shapes used in a main-formula interaction
(``majority:coal``, ``coal:opp``) makes the column X_j(θ) = base_j · Π_b F_b(θ_b)
(:class:`~mmreg.design_named.NamedInteraction`).  :func:`fill_products` writes these columns
into the coefficient design D at θ, :func:`product_derivative` their exact derivative in one
parameter of one block by the product rule,

    ∂X_j/∂θ_bk = base_j · ∂F_b/∂θ_bk · Π_{b' ≠ b} F_b',

from the block's own ∂F_b/∂θ (:meth:`~mmreg.inference.latent.LatentModel.design_derivative`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from mmreg.design_named import NamedInteraction

__all__ = ["blocks_in", "fill_products", "product_derivative"]


def blocks_in(interactions: Iterable[NamedInteraction]) -> frozenset[int]:
    """Positions of the ``mm()`` blocks that enter some product column."""
    return frozenset(b for it in interactions for b in it.blocks)


def fill_products(
    D: np.ndarray, interactions: Iterable[NamedInteraction], features: dict[int, np.ndarray]
) -> None:
    """Write every product column into ``D`` (in place).

    Parameters
    ----------
    D : ndarray, shape (n, P)
        The coefficient design (main columns first).
    interactions : iterable of NamedInteraction
    features : dict of int to ndarray
        The group feature F_b(θ_b) of every block in :func:`blocks_in`.
    """
    for it in interactions:
        col = it.base.copy()
        for b in it.blocks:
            col = col * features[b]
        D[:, it.column] = col


def product_derivative(
    dD: np.ndarray,
    interactions: Iterable[NamedInteraction],
    block: int,
    dF: np.ndarray,
    feature: Callable[[int], np.ndarray],
) -> None:
    """Write ∂X_j/∂θ of every product column with ``block`` into ``dD`` (in place).

    Parameters
    ----------
    dD : ndarray, shape (n, P)
        ∂D/∂θ for one parameter θ of ``block`` (its own feature column already set).
    interactions : iterable of NamedInteraction
    block : int
        Position of the block in ``Design.mm``.
    dF : ndarray, shape (n,)
        ∂F_block/∂θ.
    feature : callable
        ``feature(b)`` = F_b at the current θ, for the other blocks of a product.
    """
    for it in interactions:
        if block not in it.blocks:
            continue
        col = it.base * dF
        for b in it.blocks:
            if b != block:
                col = col * feature(b)
        dD[:, it.column] = col
