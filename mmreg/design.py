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
    check_column_type,
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
from mmreg.designspec import DesignSpec
from mmreg.errors import MMDataError, MMSpecError
from mmreg.formula.spec import FormulaSpec, HMBlock, MMBlock
from mmreg.formula.terms import design_matrix, fixed_offset, r_to_patsy, term_columns
from mmreg.formula.weights import BoundWeights, WeightFunction, compile_weight_function

__all__ = ["MMBlockDesign", "HMBlockDesign", "Design", "build_design", "apply"]


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
    weights: BoundWeights
    wnames: tuple[str, ...]  # "mm1.w.b0", ...
    re_state: np.ndarray | None  # RE state per row (member code, or participation for ar)
    re_prev: np.ndarray | None  # AR: previous state of each state (-1 for a first one)
    re_labels: tuple = ()

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
        known = list(self.weights.columns) + [x.split(".", 1)[1] for x in self.xnames]
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

    @property
    def nobs(self) -> int:
        """Number of groups (observations of the outcome)."""
        return len(self.group_ids)

    @property
    def weight_names(self) -> tuple[str, ...]:
        return tuple(n for b in self.mm for n in b.wnames)

    @property
    def re_blocks(self) -> tuple:
        """Blocks with random effects, in latent order (mm blocks first)."""
        return tuple(b for b in self.mm if b.re_state is not None) + tuple(
            h for h in self.hm if h.re_state is not None
        )

    @property
    def sd_names(self) -> tuple[str, ...]:
        return tuple(f"sigma.{b.label}" for b in self.re_blocks)


# --------------------------------------------------------------------------- helpers
def _random_walk_prev(unit_codes: np.ndarray, order_key: np.ndarray) -> np.ndarray:
    """For states ordered within units by ``order_key``, the previous state (-1 if first)."""
    order = np.lexsort((order_key, unit_codes))
    prev = np.full(len(unit_codes), -1)
    same = unit_codes[order][1:] == unit_codes[order][:-1]
    prev[order[1:][same]] = order[:-1][same]
    return prev


# --------------------------------------------------------------------------- blocks
def _block_matrix(rhs: str, frame: pd.DataFrame, *, reference: bool, where: str,
                  infos: dict | None = None) -> tuple[np.ndarray, list[str]]:
    """Covariates of a block (no intercept of their own).

    ``reference=True`` when an intercept (in the formula, or absorbed by the family) already
    spans the sum of the block's full dummy set: categoricals then get patsy's full-rank
    (reference-level) coding, as in the main terms, instead of one dummy per level.
    The choice made on the fitted data is kept in ``infos`` and reused for new data.
    """
    if infos is not None:
        reference = infos.setdefault(("reference coding", where), reference)
    if not reference:
        return design_matrix(rhs, frame, intercept=False, where=where, infos=infos)
    X, names = design_matrix(rhs, frame, intercept=True, where=where, infos=infos)
    return X[:, 1:], names[1:]


def _build_mm(k: int, blk: MMBlock, data: pd.DataFrame, gids: np.ndarray,
              absorbed: bool = True, infos: dict | None = None,
              wf: WeightFunction | None = None) -> MMBlockDesign:
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
        wf = compile_weight_function(blk.fn.expr, block=label, columns=names)
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

    # member covariates; with weights summing to a constant in every group the full dummy
    # set of a categorical would repeat the intercept: reference coding drops a level
    if blk.vars:
        rhs = r_to_patsy(blk.vars)
        for c in term_columns(rhs, data.columns, f"vars() of {label}"):
            no_na(frame[c], c, f"vars() of {label}")
        sums = blk.fn.normalize
        if bound.is_constant and not sums:
            gsum = np.bincount(gcode, bound(np.zeros(0))[0])
            sums = bool(np.ptp(gsum) <= 1e-12 * np.abs(gsum).max())
        X, xn = _block_matrix(rhs, frame, reference=absorbed and sums,
                              where=f"vars() of {label}", infos=infos)
    else:
        X, xn = np.zeros((len(rows), 0)), []
    fixed = fixed_offset(blk.fixed, frame, where, infos)

    re_state = re_prev = None
    labels: tuple = ()
    if blk.re:
        if blk.ar:
            re_state = np.arange(len(rows))
            re_prev = _random_walk_prev(mcode, gcode)
            labels = tuple(zip(member_ids[mcode], gids[gcode], strict=True))
        else:
            re_state = mcode
            labels = tuple(member_ids)
    elif blk.ar:
        raise MMSpecError(f"{label}: ar = TRUE needs member random effects (RE = TRUE)")
    return MMBlockDesign(
        label=label, spec=blk, rows=rows, group=gcode, member=mcode, member_ids=member_ids,
        n=n, X=X, xnames=tuple(f"{label}.{c}" for c in xn), fixed_offset=fixed,
        weights=bound, wnames=tuple(f"{label}.w.{p}" for p in wf.params),
        re_state=re_state, re_prev=re_prev, re_labels=labels,
    )


def _build_hm(k: int, blk: HMBlock, data: pd.DataFrame, first: np.ndarray, gcode: np.ndarray,
              gids: np.ndarray, has_intercept: bool, absorbed: bool = True,
              infos: dict | None = None) -> HMBlockDesign:
    label = f"hm{k}"
    col = need(data, blk.id, f"id() of {label}")
    no_na(col, blk.id, f"id() of {label}")
    uvals = constant_within(col.to_numpy(), gcode, len(gids), blk.id, f"id() of {label}",
                             gids)
    unit_ids, ucode = codes(uvals, blk.id)
    if blk.name:
        ncol = need(data, blk.name, f"name = of {label}")
        no_na(ncol, blk.name, f"name = of {label}")
        names = constant_within(ncol.to_numpy(), gcode, len(gids), blk.name,
                                 f"name = of {label}", gids)
        labs = {}
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
        Z, zn = _block_matrix(rhs, gframe, reference=absorbed, where=f"vars() of {label}",
                              infos=infos)
    else:
        Z, zn = np.zeros((len(gids), 0)), []
    fe = np.zeros((len(gids), 0))
    fenames: tuple[str, ...] = ()
    re_state = re_prev = None
    if blk.type == "FE":
        levels = range(1 if has_intercept else 0, len(unit_ids))
        fe = (ucode[:, None] == np.array(list(levels))[None, :]).astype(float)
        fenames = tuple(f"{label}[{unit_labels[j]}]" for j in levels)
    elif blk.ar:
        re_state = np.arange(len(gids))
        re_prev = _random_walk_prev(ucode, np.arange(len(gids)))
        labels = tuple(zip(np.asarray(unit_labels)[ucode], gids, strict=True))
    else:
        re_state = ucode
        # label random effects by the unit ids themselves (as mm blocks do), or by name =
        labels = unit_labels if blk.name else tuple(unit_ids.tolist())
    return HMBlockDesign(
        label=label, spec=blk, unit=ucode, unit_ids=unit_ids, unit_labels=unit_labels,
        Z=Z, znames=tuple(f"{label}.{c}" for c in zn), fe=fe, fenames=fenames,
        re_state=re_state, re_prev=re_prev,
        re_labels=labels if re_state is not None else (), fixed_offset=offset,
    )


# --------------------------------------------------------------------------- top level
def _outcome(spec: FormulaSpec, data: pd.DataFrame, first: np.ndarray, gcode: np.ndarray,
             gids: np.ndarray, family: str = "gaussian") -> dict:
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
            out[key] = constant_within(vals, gcode, len(gids), col, "Surv()", gids)
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
        for j, nm in enumerate(b.wnames, 1):
            names[nm] = f"b.w.{k}[{j}]"
        if b.re_state is not None:
            names[f"sigma.{b.label}"] = f"sigma.mm.{k}"
    for k, h in enumerate(design_parts["hm"], 1):
        put(list(h.znames) + list(h.fenames), f"b.hm.{k}")
        if h.re_state is not None:
            names[f"sigma.{h.label}"] = f"sigma.hm.{k}"
    return names


def build_design(spec: FormulaSpec, data: pd.DataFrame, *, has_intercept: bool = True,
                 family: str = "gaussian", outcome: bool = True) -> Design:
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
    design = _materialise(spec, data, has_intercept=has_intercept, family=family,
                          outcome=outcome, memory=memory, weight_functions=None)
    learned = DesignSpec.from_memory(
        memory, formula=spec, family=family, has_intercept=has_intercept,
        group_ids=design.group_ids,
        member_ids=tuple(b.member_ids for b in design.mm),
        unit_ids=tuple(h.unit_ids for h in design.hm),
        weight_functions=tuple(b.weights.function for b in design.mm))
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
    design = _materialise(design_spec.formula, data, has_intercept=design_spec.has_intercept,
                          family=design_spec.family, outcome=outcome, memory=memory,
                          weight_functions=design_spec.weight_functions)
    if set(memory) != known:  # never happens: the same formula has the same terms
        raise MMSpecError(f"the design spec does not cover the terms {set(memory) - known}")
    return replace(design, design_spec=design_spec)


def _materialise(spec: FormulaSpec, data: pd.DataFrame, *, has_intercept: bool,
                 family: str, outcome: bool, memory: dict,
                 weight_functions: tuple[WeightFunction, ...] | None) -> Design:
    """The design of ``data``; ``memory`` holds learned terms (reused or filled)."""
    if not isinstance(data, pd.DataFrame):
        raise MMDataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if len(data) == 0:
        raise MMDataError("data has no rows")
    dup = data.columns[data.columns.duplicated()]
    if len(dup):
        raise MMDataError(f"data has duplicated column name(s) {sorted(map(str, set(dup)))}; "
                          "rename them so that every column is unique")
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
    data = typed_data(spec, data, len(gids), outcome)
    first = np.unique(gcode, return_index=True)[1]  # first row of each group
    gframe = data.iloc[first].reset_index(drop=True)

    resp = _outcome(spec, data, first, gcode, gids, family) if outcome else {}
    if spec.strata and (outcome or spec.strata in data.columns):
        s = need(data, spec.strata, "strata()")
        no_na(s, spec.strata, "strata()")
        svals = constant_within(s.to_numpy(), gcode, len(gids), spec.strata, "strata()",
                                 gids)
        resp["strata"] = codes(svals, spec.strata)[1]

    intercept = spec.intercept and has_intercept
    rhs = r_to_patsy(spec.main)
    check_group_level(rhs, data, gcode, gids, "main terms")
    infos = memory
    X, xn = design_matrix(rhs, gframe, intercept=intercept, where="main terms", infos=infos)
    offset = group_fixed(spec.fixed, data, gframe, gcode, gids, "the main terms", infos)

    absorbed = spec.intercept or not has_intercept  # an intercept exists or is absorbed
    wfs = weight_functions or (None,) * len(spec.mm)
    mm = tuple(_build_mm(k, b, data, gids, absorbed, infos, wf)
               for k, (b, wf) in enumerate(zip(spec.mm, wfs, strict=True), 1))
    hm = tuple(_build_hm(k, b, data, first, gcode, gids, intercept, absorbed, infos)
               for k, b in enumerate(spec.hm, 1))
    offset = offset + sum((h.fixed_offset for h in hm), np.zeros(len(gids)))
    coef = tuple(xn) + tuple(n for b in mm for n in b.xnames) + tuple(
        n for h in hm for n in (*h.znames, *h.fenames))
    if len(set(coef)) != len(coef):
        dupl = sorted({c for c in coef if coef.count(c) > 1})
        raise MMSpecError(f"coefficient name(s) {dupl} appear twice; remove the repeated term")
    bml = _bml_names({"main": xn, "mm": mm, "hm": hm})
    keys = ("time", "event") if spec.response.kind == "surv" else ("y",)
    labels = dict(zip(keys, spec.response.columns, strict=False))
    if spec.strata:
        labels["strata"] = spec.strata
    return Design(spec=spec, family=family, group_ids=gids, outcome=resp, X=X,
                  xnames=tuple(xn), offset=offset, mm=mm, hm=hm, coef_names=coef,
                  bml_names=bml, outcome_labels=labels)
