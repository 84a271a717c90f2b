"""What a model estimates, before fitting: :func:`get_prior` and ``model.describe()``."""

from __future__ import annotations

import pandas as pd

from mmreg.families import Family
from mmreg.model import MMModel
from mmreg.priors.brms import prior_string
from mmreg.priors.classes import classify

__all__ = ["get_prior", "prior_table", "describe_model"]

_COLUMNS = ["class", "coef", "group", "parameter"]


def prior_table(model: MMModel) -> pd.DataFrame:
    """Every settable prior of ``model`` with the prior it has (``prior`` column).

    Parameters
    ----------
    model : MMModel

    Returns
    -------
    pandas.DataFrame
        Columns ``class``, ``coef``, ``group``, ``parameter``, ``prior`` (brms-style string),
        one row per parameter with a prior, in parameter order.
    """
    coefs = set(model.design.coef_names)
    rows = []
    for name, p in model.priors.items():
        r = classify(name, name in coefs)
        rows.append((r.class_, r.coef, r.group, r.parameter, prior_string(p)))
    return pd.DataFrame(rows, columns=[*_COLUMNS, "prior"])


def get_prior(
    formula: str,
    data: pd.DataFrame,
    family: str | Family = "gaussian",
    cox_intervals: int | None = None,
) -> pd.DataFrame:
    """Every prior that can be set for a model, with its default (brms's ``get_prior``).

    The model is built (formula parsed, data checked) but not fitted.

    Parameters
    ----------
    formula : str
        A bml formula (either grammar).
    data : pandas.DataFrame
    family : str or Family
        A family name or object (``mmreg.families.weibull()``).
    cox_intervals : int, optional
        Cox only (as for :class:`~mmreg.MMModel`).

    Returns
    -------
    pandas.DataFrame
        Columns ``class``, ``coef``, ``group``, ``parameter``, ``default`` (the default
        prior as a :func:`mmreg.prior` string, on the SD scale), one row per settable prior,
        in parameter order.  ``mmreg.prior(row.default, class_=row["class"],
        coef=row.coef or None, group=row.group or None)`` reproduces the default.

    Examples
    --------
    >>> import mmreg
    >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
    ...                                         seed=2)
    >>> print(mmreg.get_prior(df.attrs["formula"], df).to_string(index=False))
        class      coef group   parameter        default
    Intercept                   Intercept normal(0, 100)
            b  majority          majority normal(0, 100)
            b   finance   mm1 mm1.finance normal(0, 100)
           sd Intercept   mm1   sigma.mm1  cauchy(0, 25)
           sd Intercept   hm1   sigma.hm1  cauchy(0, 25)
        sigma                       sigma  cauchy(0, 25)
    """
    model = MMModel(formula, data, family=family, cox_intervals=cox_intervals)
    return prior_table(model).rename(columns={"prior": "default"})


def describe_model(model: MMModel) -> str:
    """A short text of what ``model`` estimates (see :meth:`MMModel.describe`)."""
    d = model.design
    names = model.param_names
    out = [f"mmreg model: family {model.family}, {d.nobs} groups", f"formula: {model.formula}"]
    out.append("main level: " + (", ".join(d.xnames) if d.xnames else "(no terms)"))
    for b in d.mm:
        s = b.spec
        out.append(
            f"{b.label}: mm(id = id({s.member_id}, {s.group_id}))"
            + (f', name = "{s.name}"' if s.name else "")
            + f", {len(b.member_ids)} members, {len(b.rows)} memberships"
        )
        scale = "scaled to sum to 1" if s.fn.normalize else "not scaled"
        out.append(f"  weights: w ~ {s.fn.expr} ({scale})")
        found = " (free symbols of w(), estimated)" if s.fn.free else " (estimated)"
        out.append(
            "  weight parameters: "
            + (", ".join(b.wnames) + found if b.wnames else "none (fixed weights)")
        )
        agg = s.agg
        if agg is None:
            out.append("  aggregation: sum (weighted sum of the covariates)")
        else:
            what = f"~ {agg.expr}" if agg.kind == "expr" else agg.kind
            args = [*agg.variables, *(f"{k} = {v}" for k, v in agg.shapes)]
            out.append(f"  aggregation: {what}" + (f" ({', '.join(args)})" if args else ""))
        shapes = [n for n in names if n.startswith(f"{b.label}.fn.")]
        if shapes:
            out.append("  aggregation parameters: " + ", ".join(shapes))
        out.append("  coefficients: " + (", ".join(b.xnames) if b.xnames else "none"))
        re = _re_parameters(names, b.label, b.re_state is not None, s.ar, s.ar_time)
        out.append(f"  member random effects: {re}")
    for h in d.hm:
        hs = h.spec
        out.append(f"{h.label}: hm(id = id({hs.id}), type = {hs.type}), {len(h.unit_ids)} units")
        coefs = [*h.znames, *h.fenames]
        out.append("  coefficients: " + (", ".join(coefs) if coefs else "none"))
        if h.re_state is not None:
            re = _re_parameters(names, h.label, True, hs.ar, hs.ar_time)
            out.append(f"  unit random effects: {re}")
    table = prior_table(model)
    out.append("priors:")
    width = max((len(n) for n in table["parameter"]), default=0)
    pwidth = max((len(p) for p in table["prior"]), default=0)
    for r in table.itertuples(index=False):
        out.append(f"  {r.parameter:<{width}}  ~ {r.prior:<{pwidth}}  (class {r[0]})")
    if model.sampled_coef:
        out.append(
            "sampled with the hyperparameters (non-normal prior): " + ", ".join(model.sampled_coef)
        )
    derived = [n for n in names if n not in model.priors]
    if derived:
        out.append("derived (no prior): " + ", ".join(derived))
    return "\n".join(out)


def _re_parameters(
    names: list[str], label: str, has_re: bool, ar: bool, ar_time: str | None = None
) -> str:
    """The SD (and slope SD / correlation) parameters of a block's random effects."""
    if not has_re:
        return "none"
    own = [
        n
        for n in names
        if n == f"sigma.{label}" or n.startswith((f"sigma.{label}.", f"cor.{label}."))
    ]
    walk = (
        f" (random walk over {ar_time}, steps scaled by the gaps)" if ar_time else " (random walk)"
    )
    return ", ".join(own or [f"sigma.{label}"]) + (walk if ar else "")
