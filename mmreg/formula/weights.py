"""Weight functions ``fn(w ~ expr, c = TRUE)``: compile, bind to data, evaluate.

:func:`compile_weight_function` parses the expression (:mod:`mmreg.formula.wexpr`) into a
:class:`WeightFunction`.  :meth:`WeightFunction.bind` attaches the membership rows of one
``mm()`` block and folds everything that does not depend on the parameters ``b0, b1, ...``
(data-only arithmetic and aggregates, group boundaries) into constants
(:mod:`mmreg.formula.weval`, :mod:`mmreg.formula.wagg`).  The resulting
:class:`BoundWeights` evaluates the weights of all rows and their exact derivatives with
respect to the parameters (forward mode), normalised within groups when ``c = TRUE``.
A function of the form ``exp(...)`` with ``c = TRUE`` is evaluated as a softmax (its
argument is a log-weight and each group's maximum is subtracted before ``exp``), so it never
overflows or underflows, whatever the parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mmreg.errors import MMDataError, MMSpecError
from mmreg.formula import wast as wx
from mmreg.formula.wagg import Groups
from mmreg.formula.weval import Lowering, constant_value
from mmreg.formula.wexpr import parse_weight_expr

__all__ = ["compile_weight_function", "WeightFunction", "BoundWeights"]

_log = logging.getLogger("mmreg")


class BoundWeights:
    """A weight function bound to the membership rows of one block.

    Created by :meth:`WeightFunction.bind`; calling it evaluates the weights.

    Attributes
    ----------
    params : tuple of str
        Parameter names, in the order of ``theta``.
    function : WeightFunction
        The compiled function this binds.
    is_constant : bool
        True when the function has no parameters (weights computed once, at bind time).
    """

    def __init__(
        self,
        wf: WeightFunction,
        tree: wx.Node,
        arrays: Mapping[str, np.ndarray],
        n: np.ndarray,
        groups: Groups,
        normalize: bool,
        log_scale: bool = False,
        root: Any = None,
    ) -> None:
        self.params = wf.params
        self.function = wf  # the compiled (picklable) weight function
        # the recipe of the evaluator (tree + the block's column arrays): it is lowered to
        # closures once, lazily, and the closures are dropped when pickled (__getstate__)
        self._tree, self._arrays, self._n, self._groups = tree, dict(arrays), n, groups
        self._root_cache: Any = root  # the lowered tree, if the caller has it already
        root = self._root
        self.is_constant = not callable(root)
        # ``log_scale``: ``root`` computes log-weights (the function is ``exp(...)`` with
        # c = TRUE), normalised as a softmax with each group's maximum subtracted
        self._log = bool(log_scale and normalize and not self.is_constant)
        self._where = f"fn of {wf.block} (w ~ {wf.expr})"
        self._columns = wf.columns
        self._normalize = normalize
        self._shape = (len(wf.params), groups.n_rows)
        self._constants()

    def _constants(self) -> None:
        """Weights of a function without parameters, computed once."""
        if self.is_constant:
            with np.errstate(all="ignore"):
                raw = np.broadcast_to(self._root, self._shape[1:])
                self._raw_const = np.array(raw, dtype=float)
                self._const = self._normalized(self._raw_const, None)[0]

    @property
    def _root(self) -> Any:
        """The lowered tree: a constant or a closure ``(theta, der) -> (value, d)``."""
        if self._root_cache is None:
            with np.errstate(all="ignore"):
                self._root_cache = Lowering(self.params, self._arrays, self._n, self._groups).lower(
                    self._tree
                )
        return self._root_cache

    def __getstate__(self) -> dict:
        # closures do not pickle: keep the recipe, lower again when first used
        state = dict(self.__dict__)
        state["_root_cache"] = None
        state.pop("_raw_const", None)  # derived: recomputed by __setstate__
        state.pop("_const", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._constants()

    def column(self, name: str) -> np.ndarray:
        """Values of a data column used by the function, one per membership row.

        Parameters
        ----------
        name : str
            A column of :attr:`columns`.

        Returns
        -------
        numpy.ndarray
            A copy, rows in the block's canonical (group, member) order.
        """
        if name not in self._arrays:
            raise MMSpecError(
                f"{self._where} does not use a column {name!r}; it uses "
                f"{list(self._columns) or 'none'}"
            )
        return self._arrays[name].copy()

    @property
    def columns(self) -> tuple[str, ...]:
        """Data columns the function uses."""
        return tuple(self._columns)

    def _theta(self, theta) -> np.ndarray:
        th = np.asarray(theta, dtype=float).reshape(-1)
        if th.size != len(self.params):
            raise MMSpecError(
                f"{self._where}: expected {len(self.params)} parameter value(s) for "
                f"{', '.join(self.params) or 'no parameters'}, got {th.size}"
            )
        return th

    def _raw(self, th: np.ndarray, derivative: bool):
        # Every array a closure returns is freshly computed, except (n_params, 1) unit
        # vectors of the parameters; copy those (and scalars) to full shape.
        v, d = self._root(th, derivative)
        if np.shape(v) != self._shape[1:]:
            v = np.full(self._shape[1:], v, dtype=float)
        if d is not None and (d.shape != self._shape or self._shape[1] == 1):
            d = np.array(np.broadcast_to(d, self._shape))
        return v, d

    def _softmax(self, v: np.ndarray, dv: np.ndarray | None):
        """Normalised ``exp(v)`` within groups, stable for any finite ``v``.

        ``exp(v - max_g v)`` never overflows and its largest entry per group is 1, so the
        group sums never underflow; the common factor cancels in the normalisation (and in
        the derivative, ``dw = w * dv`` then normalised as usual).
        """
        gr = self._groups
        top = np.maximum.reduceat(v, gr.starts)
        top = np.where(np.isfinite(top), top, 0.0)
        w = np.exp(v - gr.expand(top))
        return self._normalized(w, None if dv is None else w * dv)

    def _normalized(self, w: np.ndarray, dw: np.ndarray | None):
        if not self._normalize:
            return w, dw
        gr = self._groups
        total = gr.expand(gr.sum(w))
        wn = w / total
        if dw is None:
            return wn, None
        return wn, (dw - wn * gr.expand(gr.sum(dw))) / total

    def __call__(
        self, theta: np.ndarray, *, derivative: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Evaluate the weights.

        Parameters
        ----------
        theta : array_like, shape (len(params),)
            Parameter values in the order of :attr:`params`.
        derivative : bool
            Also return the derivatives.

        Returns
        -------
        w : ndarray, shape (n_rows,)
            Weights (normalised within groups when ``c = TRUE``).  Non-finite values are
            returned silently; see :meth:`check`.
        dw : ndarray, shape (len(params), n_rows) or None
            ``dw[j, r] = d w[r] / d params[j]``; None if ``derivative`` is False or there
            are no parameters.
        """
        if self.is_constant:
            return self._const.copy(), None
        th = self._theta(theta)
        with np.errstate(all="ignore"):
            w, dw = self._raw(th, derivative)
            if derivative and dw is None:
                dw = np.zeros(self._shape)
            if self._log:
                return self._softmax(w, dw if derivative else None)
            return self._normalized(w, dw if derivative else None)

    def check(self, theta: np.ndarray) -> None:
        """Raise if the weights at ``theta`` are unusable.

        Parameters
        ----------
        theta : array_like
            Parameter values (e.g. the starting values).

        Raises
        ------
        MMDataError
            If a weight is NaN, infinite or negative, or (with ``c = TRUE``) the weights of
            a group sum to zero.  The message names the block, the expression, the first
            offending row and its group code.
        """
        if self.is_constant:
            w = self._raw_const
            at = ""
        else:
            th = self._theta(theta)
            with np.errstate(all="ignore"):
                w = self._raw(th, False)[0]
                if self._log:  # log-weights: NaN or +inf is unusable, -inf is a zero weight
                    w = np.where(np.isnan(w) | (w == np.inf), w, self._softmax(w, None)[0])
            at = " at " + ", ".join(f"{p} = {t:g}" for p, t in zip(self.params, th, strict=True))
        gr = self._groups
        cols = f" (columns used: {', '.join(self._columns)})" if self._columns else ""
        for bad, what in ((~np.isfinite(w), "NaN or infinite"), (w < 0, "negative")):
            if bad.any():
                r = int(np.argmax(bad))
                raise MMDataError(
                    f"{self._where}: the weight is {what} for {int(bad.sum())} of {w.size} "
                    f"rows{at} (first: row {r}, group code {gr.codes[gr.row[r]]}, value "
                    f"{w[r]:g}). Weights must be finite and non-negative: change the weight "
                    f"function or the starting values, or check the data{cols}."
                )
        if self._normalize:
            zero = gr.sum(w) == 0
            if zero.any():
                g = int(np.argmax(zero))
                raise MMDataError(
                    f"{self._where}: with c = TRUE the weights of group code {gr.codes[g]} "
                    f"sum to zero{at} ({int(zero.sum())} group(s) in all), so they cannot be "
                    "normalised. Change the weight function, or use c = FALSE."
                )


@dataclass(frozen=True)
class WeightFunction:
    """A compiled weight function (see :func:`compile_weight_function`).

    Attributes
    ----------
    expr : str
        The expression (right-hand side of ``w ~``).
    block : str
        The ``mm()`` block it belongs to (``"mm1"``).
    params : tuple of str
        Parameters used, sorted by number (``("b0", "b1")``).
    columns : tuple of str
        Data columns used (not ``n``), in order of first appearance.
    """

    expr: str
    block: str
    params: tuple[str, ...]
    columns: tuple[str, ...]
    tree: wx.Node = field(repr=False, compare=False)

    def bind(
        self,
        data: Mapping[str, np.ndarray],
        n: np.ndarray,
        group: np.ndarray,
        normalize: bool,
    ) -> BoundWeights:
        """Attach membership rows and precompute everything parameter-free.

        Parameters
        ----------
        data : mapping of str to array_like, each shape (n_rows,)
            Values of (at least) :attr:`columns`, as floats.
        n : array_like, shape (n_rows,)
            Size of each row's group in this block.
        group : array_like of int, shape (n_rows,)
            Group code of each row, non-decreasing (rows sorted by group and, within a
            group, by member id, which defines ``first``/``last``).
        normalize : bool
            ``c = TRUE``: normalise the weights to sum to 1 within each group.

        Returns
        -------
        BoundWeights

        Raises
        ------
        MMDataError
            A column is missing, not numeric or of the wrong length, or ``group`` is not
            sorted.
        """
        where = f"fn of {self.block} (w ~ {self.expr})"
        groups = Groups(group, where)

        def column(values, what: str) -> np.ndarray:
            if values is None:
                raise MMDataError(f"{where}: {what} is not in the data; add it or fix fn")
            try:
                arr = np.asarray(values, dtype=float)
            except (TypeError, ValueError):
                raise MMDataError(f"{where}: {what} must be numeric") from None
            if arr.shape != (groups.n_rows,):
                raise MMDataError(
                    f"{where}: {what} has shape {arr.shape}, expected ({groups.n_rows},) "
                    "like the group codes"
                )
            return arr

        arrays = {c: column(data.get(c), f"column {c!r}") for c in self.columns}
        n_arr = column(n, "the group size n")
        tree, log_scale = self.tree, False
        if normalize and isinstance(tree, wx.Call) and tree.name == "exp" and self.params:
            tree, log_scale = tree.args[0], True  # exp(...) with c = TRUE: a softmax
        with np.errstate(all="ignore"):
            root = Lowering(self.params, arrays, n_arr, groups).lower(tree)
            if log_scale and not callable(root):  # the argument turned out parameter-free
                tree, log_scale = self.tree, False
                root = Lowering(self.params, arrays, n_arr, groups).lower(tree)
        return BoundWeights(
            self, tree, arrays, n_arr, groups, bool(normalize), log_scale, root=root
        )


def _validate_constants(node: wx.Node, where: str) -> None:
    if isinstance(node, wx.Agg) and node.prob is not None:
        p = constant_value(node.prob)
        if not 0.0 <= p <= 1.0:
            raise MMSpecError(
                f"{where}: the probability of quantile() must be a constant in [0, 1], got {p:g}"
            )
    if isinstance(node, wx.Call) and node.name == "round" and len(node.args) == 2:
        digits = constant_value(node.args[1])
        if not (np.isfinite(digits) and digits == round(digits)):
            raise MMSpecError(
                f"{where}: the digits of round() must be a whole number, got {digits:g}"
            )
    for child in wx.children(node):
        _validate_constants(child, where)


def compile_weight_function(
    expr: str,
    *,
    block: str = "mm1",
    columns: Collection[str] | None = None,
    free: bool = False,
) -> WeightFunction:
    """Compile the weight function of one ``mm()`` block.

    Parameters
    ----------
    expr : str
        Right-hand side of ``fn(w ~ expr)``, e.g. ``"1 / (1 + (n - 1) * exp(-(b0 + b1 *
        pseat)))"``; a leading ``"w ~"`` is accepted and stripped.
    block : str
        Block name used in error messages (``"fn of mm1"``).
    columns : collection of str, optional
        Columns available in the data.  If given, any identifier that is neither one of
        them, ``n`` nor a parameter ``b0, b1, ...`` is an error.  Back-quote a column whose
        name clashes with ``n`` or a parameter: ```n```.
    free : bool
        bml 1.0's ``w(~ ...)``: identifiers that are not columns (nor ``n``) are estimated
        parameters, after ``b0, b1, ...`` in order of appearance; one a single edit away from
        a column raises "did you mean".  The parameters found are logged once (``mmreg``
        logger, INFO).

    Returns
    -------
    WeightFunction

    Raises
    ------
    MMSpecError
        Syntax errors (with position), unknown functions or columns, wrong arguments,
        nested aggregates, a ``quantile`` probability that is not a constant in [0, 1],
        parameters not named ``b<k>``, or an empty expression.
    """
    where = f"fn of {block}"
    parsed = parse_weight_expr(expr, where=where, columns=columns, free=free)
    if free and parsed.params:
        _log.info(
            "%s (w ~ %s): estimated weight parameters %s",
            where,
            parsed.text,
            ", ".join(f"{block}.w.{p}" for p in parsed.params),
        )
    _validate_constants(parsed.tree, f"{where} (w ~ {parsed.text})")
    return WeightFunction(parsed.text, block, parsed.params, parsed.columns, parsed.tree)
