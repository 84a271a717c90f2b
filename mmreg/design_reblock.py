"""The interface every random-effect block of a design provides.

A design's random effects come in blocks (:attr:`mmreg.design.Design.re_blocks`): the member
intercepts of an ``mm()`` block, the unit intercepts of an ``hm()`` block and each random
slope (:class:`~mmreg.design_slopes.SlopeBlockDesign`).  The latent model, predictions and
the results read the same few attributes of every block; :class:`RandomEffectBlock` declares
them once, so a new kind of block that lacks one fails the type check (mypy) instead of
raising ``AttributeError`` in the middle of a fit.  The design classes satisfy it
structurally (frozen dataclass fields are read-only attributes); blocks without a random
walk hold ``None`` in ``re_prev`` and ``re_step``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["RandomEffectBlock"]


@runtime_checkable
class RandomEffectBlock(Protocol):
    """One block of random effects in the latent vector.

    Attributes
    ----------
    label : str
        ``"mm1"``, ``"hm1"``, ``"hm1.majority"``: the SD is ``sigma.<label>``.
    re_state : numpy.ndarray or None
        State (column of the block) of every entry; ``None`` for a block without random
        intercepts (then it is not among ``re_blocks``).
    re_prev : numpy.ndarray or None
        Random walk: the previous state of each state (-1 for a unit's first); ``None``:
        independent effects.
    re_step : numpy.ndarray or None
        Random walk ordered by a time column: the step variance Δt / mean Δt of each state;
        ``None``: unit steps (or no walk).
    re_labels : tuple
        Label of each state (unit ids, or (unit, group) pairs of a walk): predictions match
        the random effects of new data to the fitted ones by them.
    id_column : str
        Column of the unit ids (indexes the random-effect tables).
    """

    @property
    def label(self) -> str: ...

    @property
    def re_state(self) -> np.ndarray | None: ...

    @property
    def re_prev(self) -> np.ndarray | None: ...

    @property
    def re_step(self) -> np.ndarray | None: ...

    @property
    def re_labels(self) -> tuple: ...

    @property
    def id_column(self) -> str: ...
