"""Validated data -> model design: the arrays every inference method works on.

``build_design(spec, data, family)`` is the one place where a :class:`~mmreg.formula.spec.
FormulaSpec` meets a DataFrame.  It validates everything (SPEC §6), puts groups and
memberships in a canonical order (groups by id, rows within a group by member id) so that the
user's row order never changes a result, and returns a frozen :class:`Design`.  What it
learns from the data (patsy's stateful transforms and levels, reference coding, ids, weight
functions) is frozen in a :class:`~mmreg.designspec.DesignSpec` (``Design.design_spec``);
``apply(design_spec, data)`` builds the design of any data with it, learning nothing.

The latent vector of the model is laid out as ``z = [coefficients | member REs | unit REs]``;
:class:`Design` records the names and slices of each part.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from mmreg.checks import (
    check_group_level,
    codes,
    constant_within,
    degenerate_outcome,
    group_fixed,
    need,
    no_na,
    py,
    row_ids,
    typed_data,
)
from mmreg.design_blocks import HMBlockDesign, MMBlockDesign, build_hm, build_mm
from mmreg.design_named import (
    NamedInteraction,
    check_not_elsewhere,
    estimated_interactions,
    named_features,
)
from mmreg.design_reblock import RandomEffectBlock
from mmreg.design_slopes import SlopeBlockDesign, check_slope_means
from mmreg.designspec import DesignSpec
from mmreg.errors import MMDataError, MMSpecError
from mmreg.formula.spec import FormulaSpec
from mmreg.formula.terms import column_factors, design_matrix, r_to_patsy
from mmreg.formula.weights import WeightFunction

__all__ = ["MMBlockDesign", "HMBlockDesign", "Design", "build_design", "apply", "named_features"]


@dataclass(frozen=True, eq=False)
class Design:
    """Everything inference needs, in canonical order.  See module docstring."""

    spec: FormulaSpec
    family: str
    group_ids: np.ndarray  # sorted unique group ids (one per observation)
    outcome: dict
    X: np.ndarray  # main-level design (n, p0)
    xnames: tuple[str, ...]
    offset: np.ndarray  # main-level fix() offsets (n,)
    mm: tuple[MMBlockDesign, ...]
    hm: tuple[HMBlockDesign, ...]
    coef_names: tuple[str, ...] = field(default=())
    bml_names: dict = field(default_factory=dict)
    outcome_labels: dict = field(default_factory=dict)  # outcome key -> user's column
    # what the design learned from its training data (stateful transforms, levels, ids,
    # weight functions); apply(design_spec, new_data) builds new data with it
    design_spec: DesignSpec | None = None
    #: main-design columns that are products with named blocks of estimated weights or
    #: shapes (``majority:coal``): NaN in ``X``, computed at θ when assembling
    interactions: tuple[NamedInteraction, ...] = ()

    @property
    def nobs(self) -> int:
        """Number of groups (observations of the outcome)."""
        return len(self.group_ids)

    @property
    def weight_names(self) -> tuple[str, ...]:
        return tuple(n for b in self.mm for n in b.wnames)

    @property
    def re_blocks(self) -> tuple[RandomEffectBlock, ...]:
        """Blocks with random effects, in latent order (mm blocks first)."""
        return tuple(r for b in self.mm for r in b.random_blocks) + tuple(
            r for h in self.hm for r in h.random_blocks
        )

    @property
    def sd_names(self) -> tuple[str, ...]:
        return tuple(f"sigma.{b.label}" for b in self.re_blocks)

    @property
    def cor_pairs(self) -> tuple[tuple[int, int], ...]:
        """Positions in :attr:`re_blocks` of (random intercept, slope) of every
        ``re(1 + x, cor = TRUE)`` pair."""
        blocks = self.re_blocks
        labels = [b.label for b in blocks]
        return tuple(
            (labels.index(s.parent), k)
            for k, s in enumerate(blocks)
            if isinstance(s, SlopeBlockDesign) and s.correlated
        )

    @property
    def cor_names(self) -> tuple[str, ...]:
        """``cor.<block>.<x>`` of every correlated pair (order of :attr:`cor_pairs`)."""
        blocks = self.re_blocks
        return tuple(f"cor.{blocks[k].label}" for _, k in self.cor_pairs)


# --------------------------------------------------------------------------- top level
def _outcome(
    spec: FormulaSpec,
    data: pd.DataFrame,
    first: np.ndarray,
    gcode: np.ndarray,
    gids: np.ndarray,
    family: str = "gaussian",
) -> dict:
    resp = spec.response
    out: dict = {}
    if resp.kind == "surv":
        for key, col in zip(("time", "event"), resp.columns, strict=True):
            s = need(data, col, "Surv()")
            no_na(s, col, "Surv()")
            try:
                vals = s.to_numpy(dtype=float)
            except (TypeError, ValueError):
                raise MMDataError(f"Surv() column {col!r} is not numeric") from None
            out[key] = constant_within(vals, gcode, col, "Surv()", gids)
        return out
    expr = r_to_patsy(resp.columns[0])
    cols = check_group_level(expr, data, gcode, gids, "outcome")
    frame = data.iloc[first].reset_index(drop=True)  # a copy: the user's data stay as they are
    for c in cols:
        if frame[c].dtype == bool:  # True/False outcome -> 1/0 (patsy would make 2 dummies)
            frame[c] = frame[c].astype(float)
    y, names = design_matrix(expr, frame, intercept=False, where="outcome")
    if y.shape[1] != 1:
        raise MMSpecError(
            f"the outcome {resp.columns[0]!r} must be one numeric column; it gives "
            f"{len(names)} columns ({', '.join(names)}): code it as numbers (e.g. 0/1)"
        )
    out["y"] = y[:, 0]
    degenerate_outcome(out["y"], resp.columns[0], family)
    return out


def _bml_names(design_parts: dict) -> dict[str, str]:
    names: dict[str, str] = {}

    def put(mm_names, stem):
        if len(mm_names) == 1:
            names[mm_names[0]] = stem
        else:
            for j, nm in enumerate(mm_names, 1):
                names[nm] = f"{stem}[{j}]"

    put(list(design_parts["main"]), "b")
    for k, b in enumerate(design_parts["mm"], 1):
        put(list(b.xnames), f"b.mm.{k}")
        for j, nm in enumerate((w for w in b.wnames if ".fn." not in w), 1):
            names[nm] = f"b.w.{k}[{j}]"
        if b.re_state is not None:
            names[f"sigma.{b.label}"] = f"sigma.mm.{k}"
        for s in b.slopes:  # bml 1.0 names them as mmreg does
            names[f"sigma.{s.label}"] = f"sigma.{s.label}"
            if s.correlated:
                names[f"cor.{s.label}"] = f"cor.{s.label}"
    for k, h in enumerate(design_parts["hm"], 1):
        put(list(h.znames) + list(h.fenames), f"b.hm.{k}")
        if h.re_state is not None:
            names[f"sigma.{h.label}"] = f"sigma.hm.{k}"
        for s in h.slopes:  # bml 1.0 names them as mmreg does
            names[f"sigma.{s.label}"] = f"sigma.{s.label}"
            if s.correlated:
                names[f"cor.{s.label}"] = f"cor.{s.label}"
    return names


def build_design(
    spec: FormulaSpec,
    data: pd.DataFrame,
    *,
    has_intercept: bool = True,
    family: str = "gaussian",
    outcome: bool = True,
) -> Design:
    """Validate ``data`` against ``spec``, learn the design spec and materialise the design.

    Parameters
    ----------
    spec : FormulaSpec
        Parsed formula.
    data : pandas.DataFrame
        Long-format data, one row per (member, group) participation.  Never modified.
    has_intercept : bool
        False for families whose intercept is not identified (cox, clogit): the intercept
        is then dropped even if the formula has one.
    family : str
        Family name (recorded; the outcome itself is validated by the family).
    outcome : bool
        False to skip the outcome.

    Returns
    -------
    Design
        With ``design_spec``: what was learned from ``data``; ``apply(design.design_spec,
        data)`` gives the same arrays.
    """
    memory: dict = {}
    design = _materialise(
        spec,
        data,
        has_intercept=has_intercept,
        family=family,
        outcome=outcome,
        memory=memory,
        weight_functions=None,
    )
    slopes = [s for b in design.mm for s in b.slopes] + [s for h in design.hm for s in h.slopes]
    check_slope_means(slopes, design.coef_names)
    learned = DesignSpec.from_memory(
        memory,
        formula=spec,
        family=family,
        has_intercept=has_intercept,
        group_ids=design.group_ids,
        member_ids=tuple(b.member_ids for b in design.mm),
        unit_ids=tuple(h.unit_ids for h in design.hm),
        weight_functions=tuple(b.weights.function for b in design.mm),
    )
    return replace(design, design_spec=learned)


def apply(design_spec: DesignSpec, data: pd.DataFrame, *, outcome: bool = False) -> Design:
    """The design of ``data`` built with what was learned from the training data.

    Covariates get the training data's stateful transforms (``center``, ``standardize``),
    categorical levels and reference coding; weights use the compiled training weight
    functions.  Nothing is learned from ``data``.

    Parameters
    ----------
    design_spec : DesignSpec
        ``Design.design_spec`` of the training design.
    data : pandas.DataFrame
        Long-format data (training or new).  Never modified.
    outcome : bool
        True to build (and validate) the outcome too.

    Returns
    -------
    Design
        Groups and members coded within ``data``; random effects of new data are matched to
        the fitted ones by their ids (:attr:`MMBlockDesign.re_labels`).

    Raises
    ------
    MMDataError
        A column is missing, or a categorical has a level the training data do not have.
    """
    memory = design_spec.memory()
    known = set(memory)
    design = _materialise(
        design_spec.formula,
        data,
        has_intercept=design_spec.has_intercept,
        family=design_spec.family,
        outcome=outcome,
        memory=memory,
        weight_functions=design_spec.weight_functions,
    )
    if set(memory) != known:  # never happens: the same formula has the same terms
        raise MMSpecError(f"the design spec does not cover the terms {set(memory) - known}")
    return replace(design, design_spec=design_spec)


def _other_terms(spec: FormulaSpec) -> dict[str, str]:
    """Terms other than the main ones where a block name could be used, by where."""
    out = {f"fix({ft.term}, ...) of the main terms": ft.term for ft in spec.fixed}
    for k, h in enumerate(spec.hm, 1):
        out[f"vars() of hm{k}"] = h.vars or ""
        out |= {f"fix({ft.term}, ...) of hm{k}": ft.term for ft in h.fixed}
    return out


def _materialise(
    spec: FormulaSpec,
    data: pd.DataFrame,
    *,
    has_intercept: bool,
    family: str,
    outcome: bool,
    memory: dict,
    weight_functions: tuple[WeightFunction, ...] | None,
) -> Design:
    """The design of ``data``; ``memory`` holds learned terms (reused or filled)."""
    if not isinstance(data, pd.DataFrame):
        raise MMDataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if len(data) == 0:
        raise MMDataError("data has no rows")
    dup = data.columns[data.columns.duplicated()]
    if len(dup):
        raise MMDataError(
            f"data has duplicated column name(s) {sorted(map(str, set(dup)))}; "
            "rename them so that every column is unique"
        )
    if spec.mm:
        gcol = spec.mm[0].group_id
        graw = need(data, gcol, "id() of mm1").to_numpy()
        no_na(graw, gcol, "group id of the mm() blocks")
        gids, gcode = codes(graw, gcol)
        in_block = np.zeros(len(data), dtype=bool)
        for k, blk in enumerate(spec.mm, 1):
            in_block |= ~pd.isna(need(data, blk.member_id, f"id() of mm{k}").to_numpy())
        if not in_block.all():
            i = int(np.flatnonzero(~in_block)[0])
            cols = ", ".join(repr(b.member_id) for b in spec.mm)
            raise MMDataError(
                f"row {py(data.index[i])!r} has no member id ({cols} all missing): every row "
                "must belong to at least one mm() block"
            )
    else:  # no membership structure: every row is one observation, identified by its index
        gids, gcode = row_ids(data)
    names = [b.name for b in spec.mm if b.name is not None]
    for name in names:
        if name in data.columns or names.count(name) > 1:
            raise MMSpecError(
                f"the block name {name!r} is already a data column or another "
                "block's name; choose another name."
            )
    # named blocks: placeholders for the type checks of the main terms, filled below
    if names:
        data = data.assign(**dict.fromkeys(names, 0.0))
    # bml names the intercept column X0: fix(X0, v) fixes the intercept at v (an offset v)
    x0 = any(ft.term.strip() == "X0" for ft in spec.fixed) and "X0" not in data.columns
    if x0:
        data = data.assign(X0=1.0)
    data = typed_data(spec, data, len(gids), outcome)
    first = np.unique(gcode, return_index=True)[1]  # first row of each group
    gframe = data.iloc[first].reset_index(drop=True)

    resp = _outcome(spec, data, first, gcode, gids, family) if outcome else {}
    if spec.strata and (outcome or spec.strata in data.columns):
        s = need(data, spec.strata, "strata()")
        no_na(s, spec.strata, "strata()")
        svals = constant_within(s.to_numpy(), gcode, spec.strata, "strata()", gids)
        resp["strata"] = codes(svals, spec.strata)[1]

    intercept = spec.intercept and has_intercept and not x0
    infos = memory
    absorbed = spec.intercept or not has_intercept  # an intercept exists or is absorbed
    wfs = weight_functions or (None,) * len(spec.mm)
    mm = tuple(
        build_mm(k, b, data, gids, absorbed, infos, wf, need_time=outcome)
        for k, (b, wf) in enumerate(zip(spec.mm, wfs, strict=True), 1)
    )
    # named blocks in main-formula interactions: their features as group columns (fixed), or
    # 1 (estimated: the interaction columns are products computed at θ, design_named)
    others = _other_terms(spec)
    named, estimated = named_features(mm, len(gids), " ".join([spec.main, *others.values()]))
    check_not_elsewhere(estimated, others)
    named |= {k: np.ones(len(gids)) for k in estimated}
    if named:
        data = data.assign(**{k: v[gcode] for k, v in named.items()})
        gframe = gframe.assign(**named)
    rhs = r_to_patsy(spec.main)
    check_group_level(rhs, data, gcode, gids, "main terms")
    X, xn = design_matrix(rhs, gframe, intercept=intercept, where="main terms", infos=infos)
    interactions: tuple[NamedInteraction, ...] = ()
    if estimated:
        factors = column_factors(rhs, intercept=intercept, where="main terms", infos=infos)
        X, interactions = estimated_interactions(X, xn, factors, estimated)
    for bname, b in zip((b.spec.name for b in mm), mm, strict=True):
        if bname in xn:
            raise MMSpecError(
                f"the named block {bname!r} ({b.label}) appears as a main term; its feature "
                f"already enters as {', '.join(b.xnames)}. Use it only in interactions: write "
                f"x:{bname} (not x*{bname})."
            )
    offset = group_fixed(spec.fixed, data, gframe, gcode, gids, "the main terms", infos)

    hm = tuple(
        build_hm(
            k, b, data, first, gcode, gids, intercept, absorbed, infos, tuple(xn), need_time=outcome
        )
        for k, b in enumerate(spec.hm, 1)
    )
    offset = offset + sum(
        (h.fixed_offset for h in hm),  # type: ignore[type-var]  # set by build_hm
        np.zeros(len(gids)),
    )
    coef = (
        tuple(xn)
        + tuple(n for b in mm for n in b.xnames)
        + tuple(n for h in hm for n in (*h.znames, *h.fenames))
    )
    if len(set(coef)) != len(coef):
        dupl = sorted({c for c in coef if coef.count(c) > 1})
        raise MMSpecError(f"coefficient name(s) {dupl} appear twice; remove the repeated term")
    bml = _bml_names({"main": xn, "mm": mm, "hm": hm})
    keys = ("time", "event") if spec.response.kind == "surv" else ("y",)
    labels = dict(zip(keys, spec.response.columns, strict=False))
    if spec.strata:
        labels["strata"] = spec.strata
    return Design(
        spec=spec,
        family=family,
        group_ids=gids,
        outcome=resp,
        X=X,
        xnames=tuple(xn),
        offset=offset,
        mm=mm,
        hm=hm,
        coef_names=coef,
        bml_names=bml,
        outcome_labels=labels,
        interactions=interactions,
    )
