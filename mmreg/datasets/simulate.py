"""Simulated coalition-government data with known truth (structure like ``coalgov``).

:func:`simulate_coalitions` draws long-format data (one row per party in each government),
generates the outcome of the requested family from the multiple-membership model of
SPEC §1 and attaches the true parameters, formula and random effects in ``df.attrs``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import optimize, special

from mmreg.datasets._structure import CoalitionStructure, draw_structure
from mmreg.errors import MMSpecError

__all__ = ["simulate_coalitions", "FAMILIES", "WEIGHT_FUNCTIONS"]

FAMILIES = ("gaussian", "binomial", "weibull", "cox", "clogit")

#: Weight functions by option, as (bml ``fn()`` expression, c = normalise).
WEIGHT_FUNCTIONS = {
    "equal": ("1/n", True),
    "estimated": ("1 / (1 + (n - 1) * exp(-(b0 + b1 * pseat)))", True),
    "sum": ("1", False),
}

_DEFAULT_TRUTH = {
    "gaussian": {
        "Intercept": 5.7,
        "majority": 0.45,
        "mm1.finance": -0.3,
        "sigma.mm1": 0.4,
        "sigma.hm1": 0.35,
        "sigma": 0.85,
    },
    "binomial": {
        "Intercept": -0.3,
        "majority": -0.3,
        "mm1.finance": 0.3,
        "sigma.mm1": 0.5,
        "sigma.hm1": 0.5,
    },
    "weibull": {
        "Intercept": 6.8,
        "majority": 0.35,
        "mm1.finance": -0.35,
        "sigma.mm1": 0.6,
        "sigma.hm1": 0.3,
        "shape": 1.2,
    },
    "cox": {"majority": -0.4, "mm1.finance": 0.45, "sigma.mm1": 0.6, "sigma.hm1": 0.4},
    "clogit": {"majority": 1.0, "mm1.finance": 0.5, "sigma.mm1": 0.5},
}
_WEIGHT_TRUTH = {"mm1.w.b0": -1.0, "mm1.w.b1": 4.0}
#: Weibull baseline hazard of the Cox outcome: h0(t) = shape / scale * (t / scale)^(shape-1).
COX_BASELINE = {"shape": 1.2, "scale": math.exp(6.8)}
_CENSOR_SD = 0.6  # SD of log censoring times
_EVENT_RATE = 0.4  # targeted expected share of observed events


class _ValueDict(dict):
    """``dict`` of pandas objects whose ``==`` returns a bool.

    pandas compares ``attrs`` with ``==`` when it propagates them (e.g. in ``pd.concat``); a
    plain dict holding Series would raise "truth value of a Series is ambiguous" there.
    """

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping) or self.keys() != other.keys():
            return False
        return all(type(self[k]) is type(other[k]) and self[k].equals(other[k]) for k in self)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]


def _family_name(family: str) -> str:
    name = family.lower() if isinstance(family, str) else family
    if name not in FAMILIES:
        raise MMSpecError(
            f"unknown family {family!r} for simulate_coalitions; use one of {list(FAMILIES)}"
        )
    return name


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise MMSpecError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _truth(
    family: str, weights: str, member_re: bool, country_re: bool, overrides: Mapping
) -> dict[str, float]:
    """True parameter values for one configuration (defaults updated by ``overrides``)."""
    base = dict(_DEFAULT_TRUTH[family])
    keys = ["Intercept"] if family in ("gaussian", "binomial", "weibull") else []
    keys += ["majority", "mm1.finance"]
    if weights == "estimated":
        keys += list(_WEIGHT_TRUTH)
        base.update(_WEIGHT_TRUTH)
    if member_re:
        keys.append("sigma.mm1")
    if country_re and family != "clogit":
        keys.append("sigma.hm1")
    keys += {"gaussian": ["sigma"], "weibull": ["shape"]}.get(family, [])
    unknown = sorted(set(overrides) - set(keys))
    if unknown:
        raise MMSpecError(
            f"unknown truth parameter(s) {unknown} for family={family!r}, weights={weights!r}, "
            f"member_re={member_re}, country_re={country_re}; the parameters of this model "
            f"are {keys}"
        )
    truth = {k: float(base[k]) for k in keys}
    for key, value in overrides.items():
        try:
            val = float(value)
        except (TypeError, ValueError):
            val = math.nan
        if not math.isfinite(val):
            raise MMSpecError(f"truth parameter {key!r} must be a finite number, got {value!r}")
        if (key.startswith("sigma") and val < 0) or (key == "shape" and val <= 0):
            raise MMSpecError(
                f"truth parameter {key!r} must be positive (sigmas may be 0), got {value!r}"
            )
        truth[key] = val
    return truth


def _formula(family: str, weights: str, member_re: bool, country_re: bool) -> str:
    """The bml formula whose parameters ``_truth`` names."""
    lhs = {"weibull": "Surv(dur, event)", "cox": "Surv(dur, event)", "clogit": "chosen"}
    expr, normalise = WEIGHT_FUNCTIONS[weights]
    c = "TRUE" if normalise else "FALSE"
    re = "TRUE" if member_re else "FALSE"
    rhs = "0 + majority" if family in ("cox", "clogit") else "1 + majority"
    rhs += (
        f" + mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ {expr}, c = {c}), RE = {re})"
    )
    if country_re and family != "clogit":
        rhs += ' + hm(id = id(cid), type = "RE")'
    if family == "clogit":
        rhs += " + strata(opportunity)"
    return f"{lhs.get(family, 'y')} ~ {rhs}"


def _weights(s: CoalitionStructure, weights: str, truth: Mapping[str, float]) -> np.ndarray:
    """True weight of every row."""
    n_groups = s.group_size.size
    n = s.group_size[s.row_group].astype(float)
    if weights == "sum":
        return np.ones_like(n)
    if weights == "equal":
        return 1.0 / n
    lin = truth["mm1.w.b0"] + truth["mm1.w.b1"] * s.pseat
    raw = 1.0 / (1.0 + (n - 1.0) * np.exp(-lin))
    return raw / np.bincount(s.row_group, weights=raw, minlength=n_groups)[s.row_group]


def _eta(
    s: CoalitionStructure,
    w: np.ndarray,
    truth: Mapping[str, float],
    z_member: np.ndarray,
    z_country: np.ndarray,
) -> np.ndarray:
    """Linear predictor of every group under ``truth`` (REs = sigma * standard normals)."""
    n_groups = s.group_size.size
    member_part = truth["mm1.finance"] * s.finance
    if "sigma.mm1" in truth:
        member_part = member_part + truth["sigma.mm1"] * z_member[s.row_member]
    eta = truth.get("Intercept", 0.0) + truth["majority"] * s.majority
    eta = eta + np.bincount(s.row_group, weights=w * member_part, minlength=n_groups)
    if "sigma.hm1" in truth:
        eta = eta + truth["sigma.hm1"] * z_country[s.group_country]
    return eta


def _censor_location(loc: np.ndarray, shape: float) -> float:
    """Mean of log censoring times giving an expected event share of ``_EVENT_RATE``.

    Computed from the (deterministic given the linear predictors) event probabilities
    P(T < C) = E_Z[1 - exp(-exp(shape * (mu + sd * Z - loc)))] on an evenly spaced subset of
    groups, so censoring stays independent of the survival times.
    """
    sub = loc[np.linspace(0, loc.size - 1, min(loc.size, 2000)).astype(np.int64)]
    z, zw = np.polynomial.hermite_e.hermegauss(24)
    zw = zw / zw.sum()

    def excess(mu: float) -> float:
        with np.errstate(over="ignore"):
            a = shape * (mu + _CENSOR_SD * z[None, :] - sub[:, None])
            p = -np.expm1(-np.exp(a))
        return float((p @ zw).mean()) - _EVENT_RATE

    return optimize.brentq(excess, sub.min() - 60.0 / shape, sub.max() + 60.0 / shape)


def _survival(
    loc: np.ndarray, shape: float, log_e: np.ndarray, z_censor: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """log T = loc + log(E) / shape, E ~ Exp(1); independent log-normal censoring."""
    t = np.exp(loc + log_e / shape)
    c = np.exp(_censor_location(loc, shape) + _CENSOR_SD * z_censor)
    return np.minimum(t, c), (t <= c).astype(np.int64)


def _choose(opportunity: np.ndarray, score: np.ndarray) -> np.ndarray:
    """1 for the highest ``score`` of each choice set, 0 elsewhere (exactly one per set)."""
    order = np.lexsort((-score, opportunity))
    first = np.ones(order.size, dtype=bool)
    first[1:] = opportunity[order][1:] != opportunity[order][:-1]
    chosen = np.zeros(score.size, dtype=np.int64)
    chosen[order[first]] = 1
    return chosen


def simulate_coalitions(
    n_groups: int = 628,
    n_members: int = 312,
    n_countries: int = 29,
    family: str = "gaussian",
    weights: str = "equal",
    member_re: bool = True,
    country_re: bool = True,
    seed: int | np.random.Generator | np.random.SeedSequence | None = None,
    **truth_overrides: float,
) -> pd.DataFrame:
    """Simulate coalition-government data from a multiple-membership model with known truth.

    Groups (governments) are nested in countries; members (parties) belong to one country
    and take part in many of its governments.  Group sizes 2-9 follow coalgov's distribution
    (capped at the number of parties of the country), popular parties take part more often,
    and every country has at least 2 parties and 2 governments.

    For group i with members k in country j the linear predictor is
    ``eta_i = Intercept + majority * majority_i + mm1.finance * sum_k w_ik finance_ik
    + sum_k w_ik u_k + v_j`` with ``u_k ~ N(0, sigma.mm1^2)`` and ``v_j ~ N(0, sigma.hm1^2)``.

    Parameters
    ----------
    n_groups, n_members, n_countries : int
        Numbers of groups, members and countries; ``n_members`` and ``n_groups`` must be at
        least ``2 * n_countries``.  Members never drawn into a group do not appear.
    family : {"gaussian", "binomial", "weibull", "cox", "clogit"}
        Family whose outcome follows the model (case-insensitive).  ``gaussian``:
        ``y = eta + sigma * eps``.  ``binomial``: ``y ~ Bernoulli(ilogit(eta))``.
        ``weibull``: ``log dur = eta + W / shape`` (W standard minimum extreme value).
        ``cox``: hazard ``h0(t) exp(eta)`` with a Weibull baseline (``COX_BASELINE``, also
        in ``df.attrs["baseline"]``), no intercept.  For both survival families ``dur`` is
        right-censored by independent log-normal times giving about 40% events.
        ``clogit``: ``chosen`` is one draw from ``softmax(eta)`` within each ``opportunity``,
        no intercept; choice sets lie within one country, so a country effect would cancel:
        ``country_re`` is ignored for clogit.
        The other outcome columns are filled from their own family's model with default
        truth and the same weights and standardised random effects.
    weights : {"equal", "estimated", "sum"}
        ``equal``: ``w = 1/n``; ``estimated``: ``w = 1/(1 + (n-1) exp(-(b0 + b1 pseat)))``
        normalised within groups; ``sum``: ``w = 1`` (not normalised).
    member_re, country_re : bool
        Include member (party) and country random effects.
    seed : int, numpy Generator, SeedSequence or None
        Same seed gives bit-identical output; ``None`` draws fresh entropy.
    **truth_overrides : float
        New true values by mmreg parameter name, e.g. ``**{"mm1.finance": -0.5}``.  Names
        that are not parameters of the configured model raise :class:`MMSpecError`.

    Returns
    -------
    pandas.DataFrame
        One row per (party, government), sorted by ``gid`` then ``pid``, with columns
        ``gid, pid, cid, cname, n, majority, mwc, investiture, pseat, cohesion, finance,
        rile, y, dur, event, chosen, opportunity``.  ``attrs`` holds ``truth`` (dict name ->
        value), ``formula`` (bml formula of the model), ``family``, ``re`` (``{"mm1":
        Series by pid, "hm1": Series by cid}``, only the effects in the model) and
        ``weights`` (``{"mm1": Series}``, the true weight of each row, aligned with the
        rows); these two are dicts whose ``==`` gives a bool, so pandas can propagate them.
        For ``cox``, ``baseline`` holds the Weibull baseline (``shape``, ``scale``).

    Raises
    ------
    MMSpecError
        Unknown family, weights or truth parameter; invalid sizes or truth values.

    Examples
    --------
    >>> import mmreg
    >>> import numpy as np
    >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
    ...                                         seed=2)
    >>> df[["gid", "pid", "cid", "n", "majority", "finance", "y"]].head(3).round(2)
       gid  pid  cid  n  majority  finance     y
    0    1    8   10  3         1     0.48  7.26
    1    1   35   10  3         1    -0.82  7.26
    2    1   58   10  3         1    -0.74  7.26

    One row per party in each government; group-level variables (``n``, ``majority``,
    ``y`` …) repeat on the rows of a government:

    >>> df["gid"].nunique(), bool((df.groupby("gid")["y"].nunique() == 1).all())
    (150, True)

    ``attrs`` carry everything needed to fit the model and check the estimates:

    >>> df.attrs["formula"]  # doctest: +ELLIPSIS
    'y ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ 1/n, ...'
    >>> df.attrs["truth"]  # doctest: +NORMALIZE_WHITESPACE
    {'Intercept': 5.7, 'majority': 0.45, 'mm1.finance': -0.3, 'sigma.mm1': 0.4,
     'sigma.hm1': 0.35, 'sigma': 0.85}
    >>> model = mmreg.MMModel(df.attrs["formula"], df, family=df.attrs["family"])
    >>> model.param_names == list(df.attrs["truth"])
    True

    The true random effects (by ``pid`` and ``cid``) and weights (aligned with the rows):

    >>> df.attrs["re"]["mm1"].index.name, len(df.attrs["re"]["hm1"])
    ('pid', 10)
    >>> bool((df.attrs["weights"]["mm1"] == 1 / df["n"]).all())
    True

    Other families and weight functions; true values can be overridden by name:

    >>> db = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
    ...                                         family="binomial", seed=2)
    >>> sorted(db["y"].unique().tolist())
    [0, 1]
    >>> de = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
    ...                                         weights="estimated", seed=2,
    ...                                         **{"mm1.w.b1": 2.0})
    >>> de.attrs["truth"]["mm1.w.b1"]
    2.0
    >>> w = de.attrs["weights"]["mm1"]
    >>> bool(np.allclose(w.groupby(de["gid"]).sum(), 1))  # normalised within governments
    True

    The same seed gives the same data:

    >>> df.equals(mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60,
    ...                                              n_countries=10, seed=2))
    True
    """
    fam = _family_name(family)
    if not isinstance(weights, str) or weights not in WEIGHT_FUNCTIONS:
        raise MMSpecError(f"unknown weights {weights!r}; use one of {list(WEIGHT_FUNCTIONS)}")
    n_countries = _check_int("n_countries", n_countries, 1)
    n_members = _check_int("n_members", n_members, 2 * n_countries)
    n_groups = _check_int("n_groups", n_groups, 2 * n_countries)
    member_re, country_re = bool(member_re), bool(country_re)
    truth = _truth(fam, weights, member_re, country_re, truth_overrides)

    try:
        rng = np.random.default_rng(seed)
    except (TypeError, ValueError) as err:
        raise MMSpecError(
            f"seed must be None, a non-negative integer, a numpy Generator or SeedSequence; "
            f"got {seed!r}"
        ) from err
    s = draw_structure(rng, n_groups, n_members, n_countries)
    z_member = rng.standard_normal(n_members)
    z_country = rng.standard_normal(n_countries)
    eps = rng.standard_normal(n_groups)
    unif = rng.random(n_groups)
    log_e = np.log(rng.standard_exponential(n_groups))
    z_censor = rng.standard_normal(n_groups)
    gumbel = rng.gumbel(size=n_groups)

    w = _weights(s, weights, truth)

    def eta_of(f: str) -> tuple[np.ndarray, dict[str, float]]:
        t = truth if f == fam else _truth(f, "equal", member_re, country_re, {})
        return _eta(s, w, t, z_member, z_country), t

    if fam == "binomial":
        eta, _ = eta_of("binomial")
        y = (unif < special.expit(eta)).astype(np.int64)
    else:
        eta, t = eta_of("gaussian")
        y = eta + t["sigma"] * eps
    if fam == "cox":
        eta, _ = eta_of("cox")
        r = COX_BASELINE["shape"]
        dur, event = _survival(math.log(COX_BASELINE["scale"]) - eta / r, r, log_e, z_censor)
    else:
        eta, t = eta_of("weibull")
        dur, event = _survival(eta, t["shape"], log_e, z_censor)
    eta, _ = eta_of("clogit")
    chosen = _choose(s.group_opportunity, eta + gumbel)

    df = _assemble(s, n_countries, y, dur, event, chosen)
    order = np.lexsort((df["pid"].to_numpy(), df["gid"].to_numpy()))
    df = df.iloc[order].reset_index(drop=True)
    seen_members = np.unique(s.row_member)
    re = _ValueDict()
    if "sigma.mm1" in truth:
        re["mm1"] = pd.Series(
            truth["sigma.mm1"] * z_member[seen_members],
            index=pd.Index(s.pid[seen_members], name="pid"),
            name="mm1",
        ).sort_index()
    if "sigma.hm1" in truth:
        re["hm1"] = pd.Series(
            truth["sigma.hm1"] * z_country,
            index=pd.Index(np.arange(1, n_countries + 1), name="cid"),
            name="hm1",
        )
    df.attrs["truth"] = truth
    df.attrs["formula"] = _formula(fam, weights, member_re, country_re)
    df.attrs["family"] = fam
    df.attrs["re"] = re
    df.attrs["weights"] = _ValueDict(mm1=pd.Series(w[order], name="mm1"))
    if fam == "cox":
        df.attrs["baseline"] = {"distribution": "weibull", **COX_BASELINE}
    return df


def _assemble(
    s: CoalitionStructure,
    n_countries: int,
    y: np.ndarray,
    dur: np.ndarray,
    event: np.ndarray,
    chosen: np.ndarray,
) -> pd.DataFrame:
    """Long-format DataFrame in internal row order."""
    g, m = s.row_group, s.row_member
    width = max(2, len(str(n_countries)))
    cnames = np.array([f"C{j:0{width}d}" for j in range(1, n_countries + 1)], dtype=object)
    country = s.group_country[g]
    return pd.DataFrame(
        {
            "gid": s.gid[g],
            "pid": s.pid[m],
            "cid": (country + 1).astype(np.int64),
            "cname": cnames[country],
            "n": s.group_size[g],
            "majority": s.majority[g],
            "mwc": s.mwc[g],
            "investiture": s.investiture[g],
            "pseat": s.pseat,
            "cohesion": s.cohesion,
            "finance": s.finance,
            "rile": s.rile,
            "y": y[g],
            "dur": dur[g],
            "event": event[g],
            "chosen": chosen[g],
            "opportunity": (s.group_opportunity + 1).astype(np.int64)[g],
        }
    )
