"""The ``mm()`` and ``hm()`` blocks of a design, materialised from validated data.

:func:`build_mm` puts the membership rows of one ``mm()`` block in canonical (group, member)
order and binds its weight function; :func:`build_hm` codes the units of one ``hm()`` block
per group.  Both are called by :mod:`mmreg.design`; ``infos`` is the build-time memory of
learned terms (:class:`~mmreg.formula.terms.LearnedTerms`) and reference-coding choices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmreg.checks import (
    check_column_type,
    check_group_level,
    codes,
    constant_within,
    group_fixed,
    need,
    no_na,
    py,
)
from mmreg.design_agg import AggregatedFeature, BlockWeights
from mmreg.design_fe import member_effects, unit_effects
from mmreg.design_reblock import RandomEffectBlock
from mmreg.design_slopes import SlopeBlockDesign, build_slopes
from mmreg.design_walk import group_times, member_times, time_walk
from mmreg.errors import MMDataError, MMSpecError
from mmreg.formula.aggregate import check_values, compile_aggregation
from mmreg.formula.spec import AggSpec, HMBlock, MMBlock
from mmreg.formula.terms import block_matrix, fixed_offset, r_to_patsy, term_columns
from mmreg.formula.weights import BoundWeights, WeightFunction, compile_weight_function

__all__ = ["MMBlockDesign", "HMBlockDesign", "aggregate_feature", "build_mm", "build_hm"]


@dataclass(frozen=True, eq=False)
class MMBlockDesign:
    """One mm() block materialised: membership rows in canonical (group, member) order."""

    label: str
    spec: MMBlock
    rows: np.ndarray  # positions in the user's DataFrame
    group: np.ndarray  # group code per row, non-decreasing
    member: np.ndarray  # member code per row
    member_ids: np.ndarray  # member id of each code
    n: np.ndarray  # group size (rows of this block in the group) per row
    X: np.ndarray  # member covariates (n_rows, p)
    xnames: tuple[str, ...]
    fixed_offset: np.ndarray  # Σ value * var of fix() terms inside vars(), per row
    weights: BoundWeights | BlockWeights
    wnames: tuple[str, ...]  # "mm1.w.b0", ...
    re_state: np.ndarray | None  # RE state per row (member code, or participation for ar)
    re_prev: np.ndarray | None  # AR: previous state of each state (-1 for a first one)
    re_labels: tuple = ()
    slopes: tuple[SlopeBlockDesign, ...] = ()  # random slopes of re(1 + x)
    #: the aggregated feature when it depends on parameters (estimated weights or shapes):
    #: then ``X`` is a NaN placeholder and the feature is computed at θ when assembling
    feature: AggregatedFeature | None = None
    #: AR ordered by a time column: step variance Δt / mean Δt per state (None: unit steps)
    re_step: np.ndarray | None = None
    #: the member fixed effects of ``fe()`` among ``xnames`` (hidden unless showFE = TRUE)
    fenames: tuple[str, ...] = ()

    @property
    def random_blocks(self) -> tuple[RandomEffectBlock, ...]:
        """This block's random-effect blocks in latent order: the member intercepts (if
        any), then each random slope."""
        return ((self,) if self.re_state is not None else ()) + self.slopes

    @property
    def id_column(self) -> str:
        """Column of the member ids (indexes the random-effect table)."""
        return self.spec.member_id

    def covariate(self, name: str) -> np.ndarray:
        """Values of a member covariate per membership row (canonical order).

        Parameters
        ----------
        name : str
            A column used by the weight function, or a ``vars()`` column of the block
            (as named in the design, without the ``mm1.`` prefix).

        Returns
        -------
        numpy.ndarray
        """
        if name in self.weights.columns:
            return self.weights.column(name)
        full = f"{self.label}.{name}"
        if full in self.xnames:
            return self.X[:, self.xnames.index(full)].copy()
        known = list(self.weights.columns) + [x.split(".", 1)[1] for x in self.xnames if "." in x]
        raise MMSpecError(f"{self.label} has no member covariate {name!r}; available: {known}")


@dataclass(frozen=True, eq=False)
class HMBlockDesign:
    """One hm() block: a unit per group, covariates, fixed or random unit effects."""

    label: str
    spec: HMBlock
    unit: np.ndarray  # unit code per group
    unit_ids: np.ndarray
    unit_labels: tuple[str, ...]
    Z: np.ndarray  # covariates per group (n, q)
    znames: tuple[str, ...]
    fe: np.ndarray  # fixed-effect dummies per group (n, f)
    fenames: tuple[str, ...]
    re_state: np.ndarray | None  # RE state per group
    re_prev: np.ndarray | None
    re_labels: tuple = ()
    fixed_offset: np.ndarray | None = None  # Σ value * var of fix() in vars(), per group
    slopes: tuple[SlopeBlockDesign, ...] = ()  # random slopes of re(1 + x)
    #: AR ordered by a time column: step variance Δt / mean Δt per state (None: unit steps)
    re_step: np.ndarray | None = None

    @property
    def random_blocks(self) -> tuple[RandomEffectBlock, ...]:
        """This block's random-effect blocks in latent order: the intercepts (if any), then
        each random slope."""
        return ((self,) if self.re_state is not None else ()) + self.slopes

    @property
    def id_column(self) -> str:
        """Column of the unit ids (indexes the random-effect table)."""
        return self.spec.id


# --------------------------------------------------------------------------- helpers
def _timed(column: str | None, data: pd.DataFrame, need_time: bool) -> bool:
    """Whether a random walk is ordered by its time column: ``re(1, ar = <column>)``, and the
    column is required (fitting) or given (bml 0.9's ``ar = TRUE``: never)."""
    return column is not None and (need_time or column in data.columns)


def _random_walk_prev(unit_codes: np.ndarray, order_key: np.ndarray) -> np.ndarray:
    """For states ordered within units by ``order_key``, the previous state (-1 if first)."""
    order = np.lexsort((order_key, unit_codes))
    prev = np.full(len(unit_codes), -1)
    same = unit_codes[order][1:] == unit_codes[order][:-1]
    prev[order[1:][same]] = order[:-1][same]
    return prev


# --------------------------------------------------------------------------- blocks
def aggregate_feature(
    label: str,
    agg: AggSpec,
    frame: pd.DataFrame,
    columns,
    bound: BoundWeights,
    gcode: np.ndarray,
    n_groups: int,
) -> tuple[np.ndarray, list[str], AggregatedFeature | None]:
    """The aggregated feature of a block as its one member-level covariate.

    With fixed weights w the feature F of a group is fixed too; the member column F / Σw
    makes the block's weighted sum Σ w·x equal F, so the rest of the model is unchanged.
    With estimated weights or shapes the column is a NaN placeholder and the returned
    :class:`~mmreg.design_agg.AggregatedFeature` computes F(θ) (None otherwise).
    """
    where = f"fn() of {label} ({agg.kind if agg.kind != 'expr' else '~ ' + str(agg.expr)})"
    names = [c for c in columns if isinstance(c, str)]
    compiled = compile_aggregation(
        agg.kind,
        block=label,
        variables=agg.variables,
        shapes=dict(agg.shapes),
        expr=agg.expr,
        columns=names,
        estimate=True,
    )
    values = {}
    for c in compiled.variables:
        need(frame, c, where)
        no_na(frame[c], c, where)
        check_column_type(frame[c], c, where, numeric=True)
        values[c] = frame[c].to_numpy(dtype=float)
    check_values(compiled, values, label)
    coef = [compiled.coef.split(".", 1)[1]]
    if compiled.params or not bound.is_constant:
        feature = AggregatedFeature(compiled, values, gcode, n_groups, len(bound.params), agg)
        return np.full((len(gcode), 1), np.nan), coef, feature
    w = bound(np.zeros(0), derivative=False)[0]
    F, _ = compiled.evaluate(w, values, gcode, n_groups)
    total = np.bincount(gcode, w, minlength=n_groups)
    with np.errstate(all="ignore"):
        col = F[gcode] / total[gcode]
    if not np.isfinite(col).all():
        raise MMDataError(
            f"{where}: the aggregated feature is not finite in some group (e.g. log of a zero "
            "weight or of a non-positive value); check the data or the fn() arguments."
        )
    return col[:, None], coef, None


def build_mm(
    k: int,
    blk: MMBlock,
    data: pd.DataFrame,
    gids: np.ndarray,
    absorbed: bool = True,
    infos: dict | None = None,
    wf: WeightFunction | None = None,
    need_time: bool = True,
) -> MMBlockDesign:
    """One ``mm()`` block of ``data``.

    ``need_time=False`` (a design for prediction, without the outcome) makes the time
    column of ``re(1, ar = <column>)`` optional: predictions match the random effects by
    (member, group) and never use the walk's order or steps, so without the column the walk
    is laid out in participation order.
    """
    label = f"mm{k}"
    where = f"mm() block {k} ({label})"
    mcol = need(data, blk.member_id, f"id() of {label}")
    present = ~pd.isna(mcol.to_numpy())
    if not present.any():
        raise MMDataError(f"member-id column {blk.member_id!r} of {label} is missing on every row")
    rows_all = np.flatnonzero(present)
    gvals = data[blk.group_id].to_numpy()[rows_all]
    mvals = mcol.to_numpy()[rows_all]
    gcode = np.searchsorted(gids, gvals)
    member_ids, mcode = codes(mvals, blk.member_id)
    order = np.lexsort((mcode, gcode))
    rows, gcode, mcode = rows_all[order], gcode[order], mcode[order]
    dup = (gcode[1:] == gcode[:-1]) & (mcode[1:] == mcode[:-1])
    if dup.any():
        i = np.flatnonzero(dup)[0]
        raise MMDataError(
            f"member {py(member_ids[mcode[i]])!r} appears more than once in group "
            f"{py(gids[gcode[i]])!r} of {label} (columns {blk.member_id!r}, {blk.group_id!r}); "
            "each (member, group) pair must be one row"
        )
    frame = data.iloc[rows].reset_index(drop=True)
    counts = np.bincount(gcode, minlength=len(gids))
    n = counts[gcode].astype(float)

    # weight function (compiled on the training data, given when applying a design spec)
    if wf is None:
        names = [c for c in data.columns if isinstance(c, str)]
        wf = compile_weight_function(blk.fn.expr, block=label, columns=names, free=blk.fn.free)
    wdata = {}
    for c in wf.columns:
        need(frame, c, f"fn() of {label}")
        no_na(frame[c], c, f"fn() of {label}")
        check_column_type(frame[c], c, f"fn() of {label}", numeric=True)
        try:
            wdata[c] = frame[c].to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise MMDataError(f"column {c!r} used in fn() of {label} is not numeric") from None
    bound = wf.bind(wdata, n, gcode, normalize=blk.fn.normalize)
    if bound.is_constant:  # no parameters: NaN/negative/zero-sum weights are a data error now
        bound.check(np.zeros(0))

    feature = None
    if blk.agg is not None:  # bml 1.0 fn(type, ...): the block's covariate is the feature
        X, xn, feature = aggregate_feature(
            label, blk.agg, frame, data.columns, bound, gcode, len(gids)
        )
    # member covariates; with weights summing to a constant in every group the full dummy
    # set of a categorical would repeat the intercept: reference coding drops a level
    elif blk.vars:
        rhs = r_to_patsy(blk.vars)
        for c in term_columns(rhs, data.columns, f"vars() of {label}"):
            no_na(frame[c], c, f"vars() of {label}")
        X, xn = block_matrix(
            rhs,
            frame,
            reference=absorbed and _sums(blk, bound, gcode),
            where=f"vars() of {label}",
            infos=infos,
        )
    else:
        X, xn = np.zeros((len(rows), 0)), []
    xnames = tuple(f"{label}.{c}" for c in xn)
    fenames: tuple[str, ...] = ()
    if blk.fe:  # member dummies and slopes: member covariates aggregated like vars()
        reference = absorbed and _sums(blk, bound, gcode)
        F, fenames = member_effects(label, blk, frame, reference, xnames, infos)
        X, xnames = np.hstack([X, F]), xnames + fenames
    fixed = fixed_offset(blk.fixed, frame, where, infos)

    re_state = re_prev = re_step = None
    labels: tuple = ()
    if blk.re:
        if blk.ar:
            re_state = np.arange(len(rows))
            if not _timed(blk.ar_time, data, need_time):  # participation order, unit steps
                re_prev = _random_walk_prev(mcode, gcode)
            else:
                tcol = str(blk.ar_time)
                times = member_times(frame, tcol, label)
                re_prev, re_step = time_walk(mcode, member_ids, times, tcol, label, blk.member_id)
            labels = tuple(zip(member_ids[mcode], gids[gcode], strict=True))
        else:
            re_state = mcode
            labels = tuple(member_ids)
    elif blk.ar:
        raise MMSpecError(f"{label}: ar = TRUE needs member random effects (RE = TRUE)")
    slopes = build_slopes(
        label, blk, frame, mcode, tuple(member_ids), infos, mm_index=k - 1, rows=gcode
    )
    if re_state is not None and not blk.re_intercept and not blk.ar:
        re_state, labels = None, ()  # re(0 + x): slopes only
    weights: BoundWeights | BlockWeights = bound
    wnames = tuple(f"{label}.w.{p}" for p in wf.params)
    if feature is not None and feature.params:  # estimated shapes follow the weights
        weights = BlockWeights(bound, feature.params)
        wnames += tuple(f"{label}.fn.{p}" for p in feature.params)
    return MMBlockDesign(
        label=label,
        spec=blk,
        rows=rows,
        group=gcode,
        member=mcode,
        member_ids=member_ids,
        n=n,
        X=X,
        xnames=xnames,
        fixed_offset=fixed,
        weights=weights,
        wnames=wnames,
        re_state=re_state,
        re_prev=re_prev,
        re_labels=labels,
        slopes=slopes,
        feature=feature,
        re_step=re_step,
        fenames=fenames,
    )


def _sums(blk: MMBlock, bound: BoundWeights, gcode: np.ndarray) -> bool:
    """Whether the block's weights sum to the same value in every group (then the full dummy
    set of a categorical repeats the intercept: reference coding drops a level)."""
    if blk.fn.normalize or not bound.is_constant:
        return bool(blk.fn.normalize)
    gsum = np.bincount(gcode, bound(np.zeros(0))[0])
    return bool(np.ptp(gsum) <= 1e-12 * np.abs(gsum).max())


def build_hm(
    k: int,
    blk: HMBlock,
    data: pd.DataFrame,
    first: np.ndarray,
    gcode: np.ndarray,
    gids: np.ndarray,
    has_intercept: bool,
    absorbed: bool = True,
    infos: dict | None = None,
    main_names: tuple[str, ...] = (),
    need_time: bool = True,
) -> HMBlockDesign:
    """One ``hm()`` block of ``data`` (``need_time``: as for :func:`build_mm`)."""
    label = f"hm{k}"
    col = need(data, blk.id, f"id() of {label}")
    no_na(col, blk.id, f"id() of {label}")
    uvals = constant_within(col.to_numpy(), gcode, blk.id, f"id() of {label}", gids)
    unit_ids, ucode = codes(uvals, blk.id)
    if blk.name:
        ncol = need(data, blk.name, f"name = of {label}")
        no_na(ncol, blk.name, f"name = of {label}")
        names = constant_within(ncol.to_numpy(), gcode, blk.name, f"name = of {label}", gids)
        labs: dict = {}
        for u, nm in zip(ucode, names, strict=True):
            if labs.setdefault(u, nm) != nm:
                raise MMDataError(
                    f"name column {blk.name!r} of {label} has several labels for unit "
                    f"{py(unit_ids[u])!r}; it must be constant within {blk.id!r}"
                )
        unit_labels = tuple(str(labs[u]) for u in range(len(unit_ids)))
    else:
        unit_labels = tuple(str(u) for u in unit_ids)
    gframe = data.iloc[first].reset_index(drop=True)
    offset = group_fixed(blk.fixed, data, gframe, gcode, gids, f"vars() of {label}", infos)
    if blk.vars:
        rhs = r_to_patsy(blk.vars)
        check_group_level(rhs, data, gcode, gids, f"vars() of {label}")
        Z, zn = block_matrix(
            rhs, gframe, reference=absorbed, where=f"vars() of {label}", infos=infos
        )
    else:
        Z, zn = np.zeros((len(gids), 0)), []
    fe = np.zeros((len(gids), 0))
    fenames: tuple[str, ...] = ()
    re_state = re_prev = re_step = None
    if blk.type == "FE":
        fe, fenames = unit_effects(
            label, blk, data, gcode, gids, ucode, unit_labels, has_intercept, main_names
        )
    elif blk.ar:
        re_state = np.arange(len(gids))
        if not _timed(blk.ar_time, data, need_time):  # participation order, unit steps
            re_prev = _random_walk_prev(ucode, np.arange(len(gids)))
        else:
            tcol = str(blk.ar_time)
            times = group_times(data, tcol, label, gcode, gids)
            re_prev, re_step = time_walk(ucode, unit_ids, times, tcol, label, blk.id)
        labels: tuple = tuple(zip(np.asarray(unit_labels)[ucode], gids, strict=True))
    else:
        re_state = ucode
        # label random effects by the unit ids themselves (as mm blocks do), or by name =
        labels = unit_labels if blk.name else tuple(unit_ids.tolist())
    slopes = build_slopes(
        label, blk, gframe, ucode, unit_labels if blk.name else tuple(unit_ids.tolist()), infos
    )
    if re_state is not None and not blk.re_intercept and not blk.ar:
        re_state = None  # re(0 + x): slopes only
    return HMBlockDesign(
        label=label,
        spec=blk,
        unit=ucode,
        unit_ids=unit_ids,
        unit_labels=unit_labels,
        Z=Z,
        znames=tuple(f"{label}.{c}" for c in zn),
        fe=fe,
        fenames=fenames,
        re_state=re_state,
        re_prev=re_prev,
        re_labels=labels if re_state is not None else (),
        fixed_offset=offset,
        slopes=slopes,
        re_step=re_step,
    )
