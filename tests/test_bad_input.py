"""Bad input (SPEC §6): every mistake raises MMSpecError/MMDataError naming the column/term.

Each case gives a formula, a change to a small valid data set, the family and options, the
exception type, and the words the message must contain (the column or term at fault).
Column names differ from mmreg's internal keys (``y``, ``time``, ``event``) so that a
message naming the key instead of the user's column is caught.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

import mmreg
from mmreg import MMDataError, MMSpecError

MM = "mm(id = id(pid, gid), vars = vars(x), fn = fn(w ~ 1/n, c = TRUE), RE = TRUE)"
G = f"score ~ 1 + maj + {MM}"  # Gaussian
W = f"Surv(dur, ev) ~ 1 + maj + {MM}"  # Weibull
C = "win ~ maj + mm(id = id(pid, gid), vars = vars(x), fn = fn(w ~ 1/n)) + strata(opp)"


def good() -> pd.DataFrame:
    """3 governments, 4 parties, 2 countries; valid for every family used below."""
    return pd.DataFrame(
        {
            "gid": [30, 30, 10, 10, 10, 20, 20],
            "pid": [4, 2, 2, 1, 4, 3, 1],
            "cid": [1, 1, 1, 1, 1, 2, 2],
            "cname": ["A", "A", "A", "A", "A", "B", "B"],
            "gdp": [2.0, 2.0, 2.0, 2.0, 2.0, -1.0, -1.0],
            "score": [1.5, 1.5, 0.2, 0.2, 0.2, -0.7, -0.7],
            "win": [1, 1, 0, 0, 0, 1, 1],
            "dur": [3.0, 3.0, 5.0, 5.0, 5.0, 2.0, 2.0],
            "ev": [1, 1, 0, 0, 0, 1, 1],
            "opp": [1, 1, 1, 1, 1, 1, 1],
            "maj": [1, 1, 0, 0, 0, 1, 1],
            "x": [0.5, -1.0, 2.0, 1.0, 0.0, 3.0, -2.0],
            "s": [0.6, 0.4, 0.5, 0.3, 0.2, 0.9, 0.1],
            "cat": ["a", "b", "a", "b", "a", "b", "a"],
        }
    )


def setting(col: str, value, rows=(0,)) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(d: pd.DataFrame) -> pd.DataFrame:
        if isinstance(value, float) and np.isnan(value) and d[col].dtype.kind in "iub":
            d[col] = d[col].astype(float)
        d.loc[list(rows), col] = value
        return d

    return change


def mm_fn(fn: str, vars: str = "x") -> str:
    return f"score ~ 1 + maj + mm(id = id(pid, gid), vars = vars({vars}), fn = fn({fn}))"


@dataclass
class Case:
    formula: object
    error: type
    words: tuple[str, ...]
    change: Callable[[pd.DataFrame], object] | None = None
    family: object = "gaussian"
    options: dict = field(default_factory=dict)
    fit: bool = False


CASES = {
    # -- missing values in every kind of column
    "NA in the outcome": Case(G, MMDataError, ("'score'", "missing"), setting("score", np.nan)),
    "NA in a main covariate": Case(G, MMDataError, ("'maj'", "main"), setting("maj", np.nan)),
    "NA in vars()": Case(G, MMDataError, ("'x'", "vars() of mm1"), setting("x", np.nan)),
    "NA in an fn() column": Case(
        mm_fn("w ~ s"), MMDataError, ("'s'", "fn() of mm1"), setting("s", np.nan)
    ),
    "NA member id, only block": Case(
        G, MMDataError, ("'pid'", "no member id"), setting("pid", np.nan)
    ),
    "NA in the group id": Case(G, MMDataError, ("'gid'", "missing"), setting("gid", np.nan)),
    "NA in the hm id": Case(
        G + " + hm(id = id(cid))", MMDataError, ("'cid'", "hm1"), setting("cid", np.nan)
    ),
    "NA in the hm name": Case(
        G + " + hm(id = id(cid), name = cname, type = 'FE')",
        MMDataError,
        ("'cname'", "missing"),
        setting("cname", np.nan),
    ),
    "NA in a survival time": Case(
        W, MMDataError, ("'dur'", "missing"), setting("dur", np.nan), "weibull"
    ),
    "NA in strata()": Case(C, MMDataError, ("'opp'", "strata()"), setting("opp", np.nan), "clogit"),
    # -- unknown columns, functions, parameters
    "unknown main column": Case(f"score ~ 1 + foo + {MM}", MMDataError, ("'foo'", "main terms")),
    "unknown vars() column": Case(mm_fn("w ~ 1/n", "foo"), MMDataError, ("'foo'", "vars() of mm1")),
    "unknown fn() column": Case(mm_fn("w ~ foo / n"), MMSpecError, ("'foo'", "fn of mm1")),
    "unknown member id": Case(
        "score ~ 1 + mm(id = id(party, gid), fn = fn(w ~ 1/n))",
        MMDataError,
        ("'party'", "id() of mm1"),
    ),
    "unknown group id": Case(
        "score ~ 1 + mm(id = id(pid, govt), fn = fn(w ~ 1/n))", MMDataError, ("'govt'", "id()")
    ),
    "unknown hm id": Case(G + " + hm(id = id(country))", MMDataError, ("'country'", "hm1")),
    "unknown hm name": Case(
        G + " + hm(id = id(cid), name = label, type = 'FE')", MMDataError, ("'label'", "name")
    ),
    "unknown Surv() column": Case(
        f"Surv(duration, ev) ~ 1 + {MM}", MMDataError, ("'duration'", "Surv()"), family="weibull"
    ),
    "unknown outcome": Case(f"outcome ~ 1 + {MM}", MMDataError, ("'outcome'",)),
    "unknown strata column": Case(
        C.replace("strata(opp)", "strata(set)"), MMDataError, ("'set'", "strata()"), family="clogit"
    ),
    "unknown function in fn": Case(mm_fn("w ~ foo(s)"), MMSpecError, ("unknown function 'foo'",)),
    "nested aggregates": Case(mm_fn("w ~ max(min(s))"), MMSpecError, ("nested", "min()")),
    "quantile prob > 1": Case(mm_fn("w ~ quantile(s, 1.5)"), MMSpecError, ("quantile()", "[0, 1]")),
    "parameter not b<k>": Case(mm_fn("w ~ exp(a0 * s)"), MMSpecError, ("'a0'", "b0, b1")),
    # -- structure of the data
    "duplicate member-group rows": Case(
        G, MMDataError, ("member 4", "group 30", "'pid'"), lambda d: pd.concat([d, d.iloc[[0]]])
    ),
    "main variable varies in group": Case(G, MMDataError, ("'maj'", "group 30"), setting("maj", 0)),
    "outcome varies in group": Case(G, MMDataError, ("'score'", "group 30"), setting("score", 9.0)),
    "hm vars vary in group": Case(
        G + " + hm(id = id(cid), vars = vars(s))", MMDataError, ("'s'", "varies")
    ),
    "hm id varies in group": Case(
        G + " + hm(id = id(cid))", MMDataError, ("'cid'", "group 30"), setting("cid", 2)
    ),
    "hm name not constant in unit": Case(
        G + " + hm(id = id(cid), name = cname, type = 'FE')",
        MMDataError,
        ("'cname'", "several labels"),
        setting("cname", "C", rows=(0, 1)),
    ),
    "strata varies in group": Case(
        C, MMDataError, ("'opp'", "group 30"), setting("opp", 2), "clogit"
    ),
    "survival time varies in group": Case(
        W, MMDataError, ("'dur'", "group 30"), setting("dur", 4.0), "weibull"
    ),
    "fix() column varies in group": Case(
        f"score ~ 1 + fix(x, 1) + {MM}", MMDataError, ("'x'", "fix()")
    ),
    "mixed-type group ids": Case(
        G,
        MMDataError,
        ("'gid'", "types"),
        lambda d: d.assign(gid=[30, 30, "g10", "g10", "g10", 20, 20]),
    ),
    # -- outcome values
    "infinite outcome": Case(
        G, MMDataError, ("'score'", "non-finite"), setting("score", np.inf, rows=(0, 1))
    ),
    "non-numeric outcome": Case(f"cname ~ 1 + {MM}", MMSpecError, ("'cname'", "numeric")),
    "non-numeric Surv() column": Case(
        f"Surv(cname, ev) ~ 1 + {MM}", MMDataError, ("'cname'", "numeric"), family="weibull"
    ),
    # -- weights
    "weights NaN": Case(
        mm_fn("w ~ log(s - 0.5), c = FALSE"), MMDataError, ("mm1", "log(s - 0.5)", "NaN")
    ),
    "weights negative": Case(
        mm_fn("w ~ s - 0.35, c = FALSE"), MMDataError, ("mm1", "s - 0.35", "negative")
    ),
    "weights sum to zero, c = TRUE": Case(
        mm_fn("w ~ s > 0.95, c = TRUE"), MMDataError, ("mm1", "c = TRUE", "sum to zero")
    ),
    "non-numeric fn() column": Case(mm_fn("w ~ cat"), MMDataError, ("'cat'", "fn() of mm1")),
    # -- specification
    "two RE blocks on one member id": Case(
        G + " + mm(id = id(pid, gid), fn = fn(w ~ 1/n), RE = TRUE)",
        MMSpecError,
        ("'pid'", "RE = FALSE"),
    ),
    "mm blocks with different group ids": Case(
        G + " + mm(id = id(cid, maj), fn = fn(w ~ 1/n))", MMSpecError, ("'gid'", "'maj'")
    ),
    "ar without RE": Case(
        mm_fn("w ~ 1/n").replace("))", "), RE = FALSE, ar = TRUE)"),
        MMSpecError,
        ("ar = TRUE", "RE = TRUE"),
    ),
    "two hm blocks on one id": Case(
        G + " + hm(id = id(cid)) + hm(id = id(cid))", MMSpecError, ("'cid'",)
    ),
    "bad hm type": Case(G + " + hm(id = id(cid), type = 'XX')", MMSpecError, ("XX", "FE")),
    "fix() on a categorical": Case(
        f"score ~ 1 + fix(cname, 1) + {MM}", MMSpecError, ("fix(cname", "categorical")
    ),
    "fix() on a categorical in vars()": Case(
        mm_fn("w ~ 1/n", "fix(cat, 1) + x"), MMSpecError, ("fix(cat", "mm1")
    ),
    "formula not a string": Case(3, MMSpecError, ("formula", "int")),
    # -- family
    "unknown family": Case(G, MMSpecError, ("'zip'", "gaussian", "poisson"), family="zip"),
    "non-integer counts": Case(G, MMDataError, ("'score'", "counts"), family="poisson"),
    "non-integer counts, negbinomial": Case(
        G, MMDataError, ("'score'", "non-negative integers"), family="negbinomial"
    ),
    "Surv() with gaussian": Case(
        W, MMSpecError, ("'gaussian'", "single outcome"), family="gaussian"
    ),
    "plain outcome with weibull": Case(
        G, MMSpecError, ("'weibull'", "Surv(", "'score'"), family="weibull"
    ),
    "strata() without clogit": Case(C, MMSpecError, ("strata", "'binomial'"), family="binomial"),
    "clogit without strata()": Case(
        C.replace(" + strata(opp)", ""), MMSpecError, ("strata", "clogit"), family="clogit"
    ),
    "cox_intervals with weibull": Case(
        W, MMSpecError, ("cox_intervals", "cox"), family="weibull", options={"cox_intervals": 3}
    ),
    # -- priors
    "prior matching nothing": Case(
        G,
        MMSpecError,
        ("'foo*'", "matches no parameter"),
        options={"priors": {"foo*": mmreg.priors.Normal(0, 1)}},
    ),
    "JAGS prior matching nothing": Case(
        G,
        MMSpecError,
        ("b.w.1", "matches no parameter"),
        options={"priors": ["b.w.1 ~ dnorm(0, 1)"]},
    ),
    "Normal prior on an SD": Case(
        G,
        MMSpecError,
        ("'sigma.mm1'", "HalfNormal"),
        options={"priors": {"sigma.mm1": mmreg.priors.Normal(0, 1)}},
    ),
    # -- the data object
    "data not a DataFrame": Case(
        G, MMDataError, ("DataFrame", "dict"), lambda d: d.to_dict("list")
    ),
    "empty DataFrame": Case(G, MMDataError, ("data", "no rows"), lambda d: d.iloc[:0]),
    # -- fit()
    "unknown fit method": Case(G, MMSpecError, ("'gibbs'", "laplace"), fit=True),
}

# The family validates the outcome values, and MMModel calls ``Family.bind(outcome)``
# without the column labels that ``Design.outcome_labels`` now provides: the message names
# mmreg's key ('event', 'time', 'y') instead of the user's column.
LABEL_CASES = {
    "events not 0/1": Case(
        W, MMDataError, ("'ev'", "0/1"), setting("ev", 2, rows=(0, 1)), "weibull"
    ),
    "non-positive times": Case(
        W, MMDataError, ("'dur'", "positive"), setting("dur", 0.0, rows=(0, 1)), "weibull"
    ),
    "negative times, cox": Case(
        W.replace("1 + ", ""),
        MMDataError,
        ("'dur'", "positive"),
        setting("dur", -1.0, rows=(0, 1)),
        "cox",
    ),
    "binomial outcome not 0/1": Case(G, MMDataError, ("'score'", "0/1"), family="binomial"),
    "clogit outcome not 0/1": Case(
        C, MMDataError, ("'win'", "0/1"), setting("win", 3, rows=(0, 1)), "clogit"
    ),
}


def run(case: Case) -> str:
    """Raise the case's error (exactly that class, a ValueError) and return its message."""
    data = good()
    if case.change is not None:
        data = case.change(data)
    original = copy.deepcopy(data)
    with pytest.raises(ValueError) as info:
        model = mmreg.MMModel(case.formula, data, family=case.family, **case.options)
        model.fit(method="gibbs") if case.fit else None
    assert type(info.value) is case.error, f"{type(info.value).__name__}: {info.value}"
    if isinstance(data, pd.DataFrame):
        pd.testing.assert_frame_equal(data, original)  # even a failing call leaves it alone
    return str(info.value)


def test_case_count():
    assert len(CASES) + len(LABEL_CASES) >= 35


def test_good_data_builds_for_every_family():
    # the reference data set is valid, so each case fails only because of its change
    for formula, family in (
        (G, "gaussian"),
        (W, "weibull"),
        (C, "clogit"),
        (W.replace("1 + ", ""), "cox"),
        (G.replace("score", "win"), "binomial"),
    ):
        assert mmreg.MMModel(formula, good(), family=family).nobs == 3


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name):
    case = CASES[name]
    message = run(case)
    for word in case.words:
        assert word in message, f"{word!r} not in: {message}"
    assert "np.int64" not in message and "np.float64" not in message


@pytest.mark.parametrize("name", list(LABEL_CASES))
def test_bad_outcome_values_raise_data_errors(name):
    message = run(LABEL_CASES[name])
    assert LABEL_CASES[name].words[1] in message  # what is wrong: "0/1" or "positive"


@pytest.mark.parametrize("name", list(LABEL_CASES))
def test_bad_outcome_values_name_the_column(name):
    case = LABEL_CASES[name]
    message = run(case)
    assert case.words[0] in message, f"{case.words[0]!r} not in: {message}"


def test_estimated_weights_negative_at_start_values():
    # checked when the model is built, at the starting values of the weight parameters
    with pytest.raises(MMDataError, match="mm1"):
        mmreg.MMModel(mm_fn("w ~ b0 * s - 0.25, c = FALSE"), good())
