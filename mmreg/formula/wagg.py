"""Group aggregates of the weight-function language, vectorised, with forward derivatives.

Rows are sorted by group (contiguous groups), so every aggregate is a ``ufunc.reduceat``
over the precomputed group starts, never a Python loop over groups.  Each aggregate takes
row values ``v`` (shape ``(n_rows,)``) and, optionally, their derivatives ``d`` with respect
to the weight parameters (shape ``(n_params, n_rows)``), and returns the group value
repeated on every row of the group together with its derivative.

R semantics: ``var``/``sd`` use the ``n - 1`` denominator, except that a group of size one
gives 0 (R gives ``NA``); ``quantile`` is R's type 7 (``median`` is ``quantile(x, 0.5)``);
``mode`` is the most frequent value (ties: the smallest); ``first``/``last`` are the first
and last rows of the group in the row order given.  A NaN anywhere in a group makes every
aggregate of that group NaN (R's ``na.rm = FALSE``).  Derivatives: ``min``/``max``/``mode``/
``first``/``last`` take the derivative of the selected element (the first such row on
ties); ``quantile`` interpolates the derivatives of the two order statistics it uses;
``sd`` has derivative 0 where it is 0.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mmreg.errors import MMDataError

__all__ = ["Groups", "AGGREGATE_FUNCS"]

_Out = tuple[np.ndarray, np.ndarray | None]


class Groups:
    """Precomputed structure of contiguous groups.

    Parameters
    ----------
    group : array_like of int, shape (n_rows,)
        Group code of every row, non-decreasing.
    where : str
        Prefix of error messages (e.g. ``"fn of mm1"``).
    """

    def __init__(self, group: np.ndarray, where: str) -> None:
        g = np.asarray(group)
        if g.ndim != 1 or g.size == 0 or not np.issubdtype(g.dtype, np.integer):
            raise MMDataError(
                f"{where}: group codes must be a non-empty 1-d integer array, "
                f"got dtype {g.dtype} and shape {g.shape}"
            )
        step = np.diff(g)
        if np.any(step < 0):
            raise MMDataError(
                f"{where}: rows must be sorted by group (group codes non-decreasing); "
                f"row {int(np.argmax(step < 0)) + 1} breaks the order"
            )
        self._group, self._where = g, where
        self.n_rows = n = g.size
        change = np.flatnonzero(step) + 1
        self.starts = np.concatenate(([0], change))
        self.ends = np.concatenate((change, [n]))
        self.counts = self.ends - self.starts
        self.codes = g[self.starts]
        self.row = np.repeat(np.arange(self.starts.size), self.counts)  # group index per row
        self.first_rows = self.starts[self.row]
        self.last_rows = (self.ends - 1)[self.row]
        self.rows = np.arange(n)
        self.new_group = np.concatenate(([True], step != 0))
        self._quantile_pos: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def __reduce__(self):
        # everything else derives from the group codes: pickle those only
        return (type(self), (self._group, self._where))

    def sum(self, x: np.ndarray) -> np.ndarray:
        """Group sums of ``x`` along its last axis (one column per group)."""
        return np.add.reduceat(x, self.starts, axis=-1)

    def expand(self, per_group: np.ndarray) -> np.ndarray:
        """Repeat per-group values (last axis) on every row of the group."""
        return np.take(per_group, self.row, axis=-1)

    def quantile_positions(self, p: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sorted positions of the two order statistics of R's type-7 quantile, and weight."""
        if p not in self._quantile_pos:
            h = (self.counts - 1) * p
            lo = np.floor(h).astype(np.intp)
            hi = np.minimum(lo + 1, self.counts - 1)
            self._quantile_pos[p] = (self.starts + lo, self.starts + hi, h - lo)
        return self._quantile_pos[p]

    def nan_groups(self, v: np.ndarray) -> np.ndarray:
        """Boolean per group: does the group contain a NaN?"""
        return np.logical_or.reduceat(np.isnan(v), self.starts)

    def sorted_order(self, v: np.ndarray) -> np.ndarray:
        """Row order sorting by value within each group (stable: ties keep row order)."""
        return np.lexsort((v, self.row))


def _expand(gr: Groups, per_group: np.ndarray, d_per_group: np.ndarray | None) -> _Out:
    return gr.expand(per_group), (None if d_per_group is None else gr.expand(d_per_group))


def _pick(gr: Groups, v: np.ndarray, d: np.ndarray | None, sel: np.ndarray) -> _Out:
    """Aggregate that selects row ``sel[g]`` in group ``g``; NaN groups stay NaN."""
    val = v[sel]
    val = np.where(gr.nan_groups(v), np.nan, val)
    return _expand(gr, val, None if d is None else np.take(d, sel, axis=1))


def _sum(gr: Groups, v, d, p) -> _Out:
    return _expand(gr, gr.sum(v), None if d is None else gr.sum(d))


def _mean(gr: Groups, v, d, p) -> _Out:
    return _expand(gr, gr.sum(v) / gr.counts, None if d is None else gr.sum(d) / gr.counts)


def _extreme(ufunc: np.ufunc) -> Callable[..., _Out]:
    def agg(gr: Groups, v, d, p) -> _Out:
        out = gr.expand(ufunc.reduceat(v, gr.starts))
        if d is None:
            return out, None
        first_hit = np.minimum.reduceat(np.where(v == out, gr.rows, gr.n_rows), gr.starts)
        sel = np.minimum(first_hit, gr.ends - 1)  # no hit only in NaN groups
        return out, np.take(d, gr.expand(sel), axis=1)

    return agg


def _first(gr: Groups, v, d, p) -> _Out:
    return v[gr.first_rows], None if d is None else np.take(d, gr.first_rows, axis=1)


def _last(gr: Groups, v, d, p) -> _Out:
    return v[gr.last_rows], None if d is None else np.take(d, gr.last_rows, axis=1)


def _var(gr: Groups, v, d, p) -> _Out:
    denom = np.maximum(gr.counts - 1, 1)
    dev = v - gr.expand(gr.sum(v) / gr.counts)
    var = gr.sum(dev * dev) / denom
    # d var = 2 sum(dev * d) / (m - 1): the mean's derivative drops out since sum(dev) = 0.
    return _expand(gr, var, None if d is None else 2.0 * gr.sum(d * dev) / denom)


def _sd(gr: Groups, v, d, p) -> _Out:
    var, dvar = _var(gr, v, d, p)
    sd = np.sqrt(var)
    if dvar is None:
        return sd, None
    pos = sd > 0
    return sd, np.where(pos, dvar / np.where(pos, 2.0 * sd, 1.0), 0.0)


def _quantile(gr: Groups, v, d, p: float) -> _Out:
    lo_pos, hi_pos, frac = gr.quantile_positions(p)
    order = gr.sorted_order(v)
    lo, hi = order[lo_pos], order[hi_pos]
    xlo, xhi = v[lo], v[hi]
    # R: (1 - h) * x[lo] + h * x[hi], only where h > 0 and x[hi] != x[lo]
    q = np.where((frac > 0) & (xhi != xlo), (1.0 - frac) * xlo + frac * xhi, xlo)
    q = np.where(gr.nan_groups(v), np.nan, q)
    dq = (
        None if d is None else (1.0 - frac) * np.take(d, lo, axis=1) + frac * np.take(d, hi, axis=1)
    )
    return _expand(gr, q, dq)


def _mode(gr: Groups, v, d, p) -> _Out:
    order = gr.sorted_order(v)
    sv = v[order]
    new_run = gr.new_group.copy()
    new_run[1:] |= sv[1:] != sv[:-1]
    run_start = np.flatnonzero(new_run)
    run_len = np.diff(np.append(run_start, gr.n_rows))
    first_run = np.searchsorted(run_start, gr.starts)  # every group starts a run
    longest = np.maximum.reduceat(run_len, first_run)[gr.row[run_start]]
    cand = np.where(run_len == longest, np.arange(run_start.size), run_start.size)
    best = np.minimum.reduceat(cand, first_run)  # runs are sorted: first = smallest value
    return _pick(gr, v, d, order[run_start[best]])


AGGREGATE_FUNCS: dict[str, Callable[..., _Out]] = {
    "sum": _sum,
    "mean": _mean,
    "min": _extreme(np.minimum),
    "max": _extreme(np.maximum),
    "first": _first,
    "last": _last,
    "var": _var,
    "sd": _sd,
    "quantile": _quantile,
    "mode": _mode,
}
