"""Frozen specification objects: the output of the formula parser.

The pipeline is ``parse`` (string -> :class:`FormulaSpec`) -> ``design`` (spec + data ->
arrays) -> inference.  Nothing here touches data; every object is immutable and hashable so
that a specification can be stored with a fit and compared (e.g. to refuse a checkpoint
written by a different model).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "FixedTerm",
    "WeightSpec",
    "Est",
    "AggSpec",
    "MMBlock",
    "HMBlock",
    "ResponseSpec",
    "FormulaSpec",
]


@dataclass(frozen=True)
class FixedTerm:
    """``fix(var, value)``: a term whose coefficient is fixed (an offset ``value * var``).

    ``term`` is the patsy expression inside ``fix()`` (e.g. ``"majority"``).  ``offset``
    marks an ``offset(expr)`` term of the main formula: ``fix(expr, 1)`` by another name.
    """

    term: str
    value: float
    offset: bool = False

    @property
    def label(self) -> str:
        """The term as written: ``offset(log(e))`` or ``fix(x, 2)`` (for messages)."""
        return f"offset({self.term})" if self.offset else f"fix({self.term}, {self.value:g})"


@dataclass(frozen=True)
class WeightSpec:
    """``fn(w ~ expr, c = TRUE)`` (0.9) or ``w = w(~ expr, scale = TRUE)`` (1.0).

    ``free`` is True for the 1.0 spelling: there any symbol that is not a data column or
    ``n`` is an estimated parameter (in 0.9 only ``b0, b1, ...`` are).
    """

    expr: str = "1/n"
    normalize: bool = True
    free: bool = False


@dataclass(frozen=True)
class Est:
    """``est(lower, upper)``: an estimated shape of ``fn()`` (bounds optional)."""

    lower: float | None = None
    upper: float | None = None


@dataclass(frozen=True)
class AggSpec:
    """``fn(type, ...)`` or ``fn(~ E(...))`` of the bml 1.0 grammar (not ``"sum"``).

    Attributes
    ----------
    kind : str
        ``"var"``, ``"hhi"``, ... or ``"expr"`` for the DSL.
    variables : tuple of str
        The ``vars()`` columns the feature reads (named types).
    shapes : tuple of (str, float or Est)
        Shape arguments (``moment``, ``c``, ``kappa``, ``p``) or values of DSL symbols.
    expr : str or None
        The DSL expression (right-hand side of ``~``).
    """

    kind: str
    variables: tuple[str, ...] = ()
    shapes: tuple[tuple[str, float | Est], ...] = ()
    expr: str | None = None

    @property
    def estimated(self) -> tuple[str, ...]:
        """Names of the shapes given as ``est()``."""
        return tuple(k for k, v in self.shapes if isinstance(v, Est))


@dataclass(frozen=True)
class MMBlock:
    """One ``mm()`` block.

    Attributes
    ----------
    member_id, group_id : str
        Columns of ``id(mmid, groupid)``.
    vars : str or None
        Patsy right-hand side for the member-level covariates (``None`` for ``vars = NULL``),
        without the ``fix()`` terms, and without an intercept.
    fixed : tuple of FixedTerm
        ``fix(var, value)`` terms found inside ``vars()``.
    fn : WeightSpec
    re : bool
        Member random effects (bml: defaults to TRUE when ``vars = NULL``, else FALSE).
    ar : bool
        Random-walk member effects over a member's successive participations.
    agg : AggSpec or None
        The aggregation ``fn(type, ...)`` of the 1.0 grammar (None: the weighted sum).
    name : str or None
        The block's name (``name = "coal"``), usable in main-formula interactions.
    re_slopes : tuple of str
        Member-level columns with a random slope per member (``re(1 + x)``).  Set by the bml
        1.0 parser; empty for bml 0.9 formulas.
    re_intercept : bool
        The member random intercept when ``re`` is set (False for ``re(0 + x)``).
    re_cor : bool
        ``re(1 + x, cor = TRUE)``: correlated member intercept and slope.
    ar_time : str or None
        ``re(1, ar = <column>)``: the member-level column that orders a member's successive
        groups and scales the random walk's steps by their gaps (``ar`` is then True);
        ``None`` for bml 0.9's ``ar = TRUE`` (participation order, unit steps).
    fe : bool
        ``FE = fe(...)``: member fixed effects, aggregated with the block's weights.
    fe_intercept : bool
        The member dummies of ``fe()`` (False for ``fe(0 + x)``: member slopes only).
    fe_slopes : tuple of str
        ``fe(1 + x)``: member-level columns with a slope per member (no pooling).
    show_fe : bool
        ``fe(..., showFE = TRUE)``: list the member fixed effects in ``summary()``.
    """

    member_id: str
    group_id: str
    vars: str | None = None
    fixed: tuple[FixedTerm, ...] = ()
    fn: WeightSpec = field(default_factory=WeightSpec)
    re: bool = True
    ar: bool = False
    source: str = ""
    agg: AggSpec | None = None
    name: str | None = None
    re_slopes: tuple[str, ...] = ()
    re_intercept: bool = True
    re_cor: bool = False
    ar_time: str | None = None
    fe: bool = False
    fe_intercept: bool = True
    fe_slopes: tuple[str, ...] = ()
    show_fe: bool = False


@dataclass(frozen=True)
class HMBlock:
    """One ``hm()`` block (a nesting level, e.g. countries).

    Attributes
    ----------
    id : str
        Column of ``id(x)``.
    vars : str or None
        Patsy right-hand side for the covariates of this level (``None`` if absent).
    fixed : tuple of FixedTerm
    name : str or None
        Column holding labels for the units (``name = cname``), used in parameter names.
    type : {"RE", "FE"}
    show_fe : bool
    ar : bool
    re_slopes : tuple of str
        Group-level columns with a random slope per unit (``re(1 + x)``: ``("x",)``).  Set
        by the bml 1.0 parser; empty for bml 0.9 formulas.
    re_intercept : bool
        The random intercept of ``type = "RE"`` (False for ``re(0 + x)``).
    re_cor : bool
        ``re(1 + x, cor = TRUE)``: correlated intercept and slope.
    ar_time : str or None
        ``re(1, ar = <column>)``: the group-level column that orders a unit's successive
        groups and scales the random walk's steps by their gaps (``ar`` is then True).
    fe_slopes : tuple of str
        ``FE = fe(1 + x)``: group-level columns with a slope per unit (no pooling).
    fe_intercept : bool
        The unit dummies of ``type = "FE"`` (False for ``fe(0 + x)``: unit slopes only).
    """

    id: str
    vars: str | None = None
    fixed: tuple[FixedTerm, ...] = ()
    name: str | None = None
    type: str = "RE"
    show_fe: bool = False
    ar: bool = False
    source: str = ""
    re_slopes: tuple[str, ...] = ()
    re_intercept: bool = True
    re_cor: bool = False
    ar_time: str | None = None
    fe_slopes: tuple[str, ...] = ()
    fe_intercept: bool = True


@dataclass(frozen=True)
class ResponseSpec:
    """Left-hand side: a plain outcome column or ``Surv(time, event)``."""

    kind: str  # "plain" or "surv"
    columns: tuple[str, ...]


@dataclass(frozen=True)
class FormulaSpec:
    """A whole parsed formula.

    Attributes
    ----------
    formula : str
        The formula as the user wrote it.
    response : ResponseSpec
    main : str
        Patsy right-hand side of the main (group-level) terms, *without* the intercept
        term; the intercept is given by ``intercept``.
    intercept : bool
        False when the formula has ``0 +`` or ``-1 +``.
    fixed : tuple of FixedTerm
        ``fix()`` terms of the main level.
    mm : tuple of MMBlock
    hm : tuple of HMBlock
    strata : str or None
        Column of ``strata(id)`` (conditional logit choice sets).
    """

    formula: str
    response: ResponseSpec
    main: str = ""
    intercept: bool = True
    fixed: tuple[FixedTerm, ...] = ()
    mm: tuple[MMBlock, ...] = ()
    hm: tuple[HMBlock, ...] = ()
    strata: str | None = None
