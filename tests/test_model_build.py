"""Every bml formula people paste (``shared/bml-formulas.md``) builds an ``MMModel``.

For each formula: the family, the number of groups, the exact parameter names (written out
by hand from SPEC §3) and bml's internal names.  Each is built on the real ``coalgov`` data
(skipped when ``../shared`` is absent) and on a simulated coalgov-like data set, so the
suite also runs without the shared folder.  The bml names are also checked against the
``param``/``name`` columns of the JAGS reference posteriors (``shared/reference/jags``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mmreg

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
COALGOV = SHARED / "data" / "coalgov.csv"
needs_shared = pytest.mark.skipif(
    not COALGOV.exists(), reason=f"shared data not found at {COALGOV} (../shared is absent)"
)

MM_FIN = "mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ 1/n, c = TRUE), RE = TRUE)"
FORMULAS = [
    "Surv(dur_wkb, event_wkb) ~ 1 + majority + " + MM_FIN,
    "Surv(dur_wkb, event_wkb) ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), "
    "fn = fn(w ~ 1 / (1 + (n - 1) * exp(-(b0 + b1 * pseat))), c = TRUE), RE = TRUE)",
    "Surv(dur_wkb, event_wkb) ~ 1 + majority + mm(id = id(pid, gid), vars = vars(cohesion), "
    'fn = fn(w ~ 1/n, c = TRUE), RE = TRUE) + hm(id = id(cid), type = "RE")',
    "Surv(dur_wkb, event_wkb) ~ 1 + majority + mm(id = id(pid, gid), vars = vars(cohesion), "
    "fn = fn(w ~ cohesion == max(cohesion)), RE = FALSE) + mm(id = id(pid, gid), vars = NULL, "
    "fn = fn(w ~ 1/n), RE = TRUE)",
    "Surv(dur_wkb, event_wkb) ~ 1 + majority + mm(id = id(pid, gid), vars = vars(cohesion), "
    "fn = fn(w ~ 1/n), RE = TRUE)",
    "Surv(dur_wkb, event_wkb) ~ 1 + majority + mm(id = id(pid, gid), vars = vars(cohesion), "
    "fn = fn(w ~ ilogit(b0 + b1 * pseat), c = TRUE), RE = FALSE)",
    "Surv(dur_wkb, event_wkb) ~ 1 + fix(majority, 1) + mm(id = id(pid, gid), vars = vars(rile), "
    "fn = fn(w ~ 1/n, c = TRUE), RE = FALSE)",
    "Surv(dur_wkb, event_wkb) ~ 1 + majority + mm(id = id(pid, gid), vars = vars(cohesion), "
    'fn = fn(w ~ 1/n), RE = TRUE) + hm(id = id(cid), type = "RE") + hm(id = id(year), '
    'type = "RE")',
    "Surv(dur_wkb, event_wkb) ~ 1 + majority + mm(id = id(pid, gid), vars = vars(fix(cohesion, "
    "1) + finance), fn = fn(w ~ 1/n, c = TRUE), RE = TRUE)",
    'Surv(dur_wkb, event_wkb) ~ 1 + majority + hm(id = id(cid), name = cname, type = "FE", '
    "showFE = TRUE)",
    "Surv(dur_wkb, event_wkb) ~ 1 + majority + hm(id = id(cid), vars = vars(investiture), "
    'type = "RE", ar = TRUE)',
    "Surv(dur_wkb, event_wkb) ~ 1 + majority + mm(id = id(pid, gid), vars = NULL, "
    "fn = fn(w ~ 1/n), RE = TRUE, ar = TRUE)",
    'event_wkb ~ 1 + majority + mwc + hm(id = id(cid), name = cname, type = "RE", showFE = F) '
    "+ mm(id = id(pid, gid), vars = vars(cohesion), fn = fn(w ~ 1 / n, c = TRUE))",
    "event_wkb ~ 1 + majority * mwc + mm(id = id(pid, gid), vars = vars(finance * cohesion), "
    "fn = fn(w ~ 1/n), RE = TRUE) + hm(id = id(cid), vars = vars(I(investiture^2)), "
    'type = "RE")',
    "logdur ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), "
    "fn = fn(w ~ b1 * min(pseat) + (1 - b1) * max(pseat)), RE = FALSE)",
    "logdur ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), "
    "fn = fn(w ~ 1 / (1 + (n - 1) * exp(-b0)), c = FALSE), RE = FALSE)",
    "logdur ~ 0 + majority + mm(id = id(pid, gid), vars = vars(rile + I(rile^2)), "
    "fn = fn(w ~ quantile(pseat, 0.75) / max(pseat)), RE = FALSE)",
]
STACKED = (
    "Surv(dur, event) ~ 1 + mm(id = id(pid_g, gid), vars = vars(x1 + x2), fn = fn(w ~ 1/n), "
    "RE = TRUE) + mm(id = id(pid_o, gid), vars = vars(x1 + x2), fn = fn(w ~ 1/n), RE = TRUE)"
)
CLOGIT = (
    "chosen ~ majority + mwc + mm(id = id(pid, cabinet), vars = vars(rile), fn = fn(w ~ 1/n)) "
    "+ strata(opportunity)"
)

# Coalgov country labels in order of cid (SWE, cid 11, is the reference level of the FE).
COUNTRIES = (
    "NOR DNK FIN BEL NLD FRA ITA ESP GRC PRT DEU AUT CHE GBR IRL AUS JPN ISR BGR HRV CZE EST "
    "HUN LVA LTU POL ROU SVK"
).split()

_W = ("shape", "sigma")  # Weibull: shape and sigma = 1/shape, last
GROUP_ROWS = {9, 10}  # formulas without mm(): data with one row per government
# (family, expected "mmreg name=bml name; ...") per formula; Cox uses cox_intervals = 10
EXPECTED = [
    ("weibull", "Intercept=b[1]; majority=b[2]; mm1.finance=b.mm.1; sigma.mm1=sigma.mm.1"),
    (
        "weibull",
        "Intercept=b[1]; majority=b[2]; mm1.finance=b.mm.1; mm1.w.b0=b.w.1[1]; "
        "mm1.w.b1=b.w.1[2]; sigma.mm1=sigma.mm.1",
    ),
    (
        "weibull",
        "Intercept=b[1]; majority=b[2]; mm1.cohesion=b.mm.1; sigma.mm1=sigma.mm.1; "
        "sigma.hm1=sigma.hm.1",
    ),
    ("weibull", "Intercept=b[1]; majority=b[2]; mm1.cohesion=b.mm.1; sigma.mm2=sigma.mm.2"),
    ("cox", "majority=b; mm1.cohesion=b.mm.1; sigma.mm1=sigma.mm.1"),
    (
        "weibull",
        "Intercept=b[1]; majority=b[2]; mm1.cohesion=b.mm.1; mm1.w.b0=b.w.1[1]; mm1.w.b1=b.w.1[2]",
    ),
    ("weibull", "Intercept=b; mm1.rile=b.mm.1"),
    (
        "weibull",
        "Intercept=b[1]; majority=b[2]; mm1.cohesion=b.mm.1; sigma.mm1=sigma.mm.1; "
        "sigma.hm1=sigma.hm.1; sigma.hm2=sigma.hm.2",
    ),
    ("weibull", "Intercept=b[1]; majority=b[2]; mm1.finance=b.mm.1; sigma.mm1=sigma.mm.1"),
    ("weibull", "FE"),  # country dummies: see _fe_expected
    ("weibull", "Intercept=b[1]; majority=b[2]; hm1.investiture=b.hm.1; sigma.hm1=sigma.hm.1"),
    ("weibull", "Intercept=b[1]; majority=b[2]; sigma.mm1=sigma.mm.1"),
    (
        "binomial",
        "Intercept=b[1]; majority=b[2]; mwc=b[3]; mm1.cohesion=b.mm.1; sigma.hm1=sigma.hm.1",
    ),
    (
        "binomial",
        "Intercept=b[1]; majority=b[2]; mwc=b[3]; majority:mwc=b[4]; "
        "mm1.finance=b.mm.1[1]; mm1.cohesion=b.mm.1[2]; mm1.finance:cohesion=b.mm.1[3]; "
        "hm1.I(investiture ** 2)=b.hm.1; sigma.mm1=sigma.mm.1; sigma.hm1=sigma.hm.1",
    ),
    (
        "gaussian",
        "Intercept=b[1]; majority=b[2]; mm1.finance=b.mm.1; mm1.w.b1=b.w.1[1]; sigma=sigma",
    ),
    (
        "gaussian",
        "Intercept=b[1]; majority=b[2]; mm1.finance=b.mm.1; mm1.w.b0=b.w.1[1]; sigma=sigma",
    ),
    ("gaussian", "majority=b; mm1.rile=b.mm.1[1]; mm1.I(rile ** 2)=b.mm.1[2]; sigma=sigma"),
]


def _fe_expected(labels: list[str]) -> dict[str, str]:
    out = {"Intercept": "b[1]", "majority": "b[2]"}
    out.update({f"hm1[{c}]": f"b.hm.1[{j}]" for j, c in enumerate(labels, 1)})
    return out


def _expected(i: int, fe_labels: list[str]) -> tuple[list[str], dict[str, str]]:
    family, bml = EXPECTED[i]
    bml = _fe_expected(fe_labels) if bml == "FE" else dict(p.split("=") for p in bml.split("; "))
    names = list(bml) + (list(_W) if family == "weibull" else [])
    if family == "weibull":
        bml["shape"] = "shape"
    return names, bml


def _check(model: mmreg.MMModel, i: int, nobs: int, fe_labels: list[str]) -> None:
    family = EXPECTED[i][0]
    names, bml = _expected(i, fe_labels)
    assert model.family == family
    assert model.nobs == nobs
    assert model.param_names == names
    # every parameter with a bml counterpart is named as bml names it (Weibull's derived
    # sigma is checked separately in test_weibull_sigma_has_bml_name)
    assert {k: model.bml_names.get(k) for k in bml} == bml
    assert set(model.bml_names) <= set(model.param_names)


def _build(formula: str, data: pd.DataFrame, i: int) -> mmreg.MMModel:
    family = EXPECTED[i][0]
    return mmreg.MMModel(
        formula, data, family=family, cox_intervals=10 if family == "cox" else None
    )


# --------------------------------------------------------------------------- data
def _coalgov() -> pd.DataFrame:
    df = pd.read_csv(COALGOV)
    df["logdur"] = np.log(df["dur_wkb"])
    df["year"] = pd.to_datetime(df["election"]).dt.year
    return df


def _simulated(seed: int = 5) -> pd.DataFrame:
    df = mmreg.datasets.simulate_coalitions(n_groups=120, n_members=60, n_countries=10, seed=seed)
    df = df.rename(columns={"dur": "dur_wkb", "event": "event_wkb"})
    df["logdur"] = np.log(df["dur_wkb"])
    df["year"] = 1950 + df["gid"] % 30  # constant within each government, 30 levels
    return df


def _layout(df: pd.DataFrame, i: int) -> pd.DataFrame:
    return df.drop_duplicates("gid") if i in GROUP_ROWS else df


def _stacked(df: pd.DataFrame, dur: str, event: str) -> pd.DataFrame:
    """Government rows (pid_g) plus one opposition row (pid_o) per other party of the country."""
    party = df.groupby("pid").agg(
        cid=("cid", "first"), x1=("rile", "mean"), x2=("cohesion", "mean")
    )
    gov = df[["gid", "cid", "pid", "rile", "cohesion", dur, event]].rename(
        columns={"rile": "x1", "cohesion": "x2", dur: "dur", event: "event"}
    )
    gov = gov.assign(pid_g=gov.pop("pid").astype(float), pid_o=np.nan)
    groups = gov.drop_duplicates("gid")[["gid", "cid", "dur", "event"]]
    cand = groups.merge(party.reset_index(), on="cid")
    taken = set(zip(df["gid"], df["pid"], strict=True))
    opp = cand[[(g, p) not in taken for g, p in zip(cand["gid"], cand["pid"], strict=True)]]
    opp = opp.assign(pid_o=opp.pop("pid").astype(float), pid_g=np.nan)
    return pd.concat([gov, opp[gov.columns]], ignore_index=True)


def _choice_sets(df: pd.DataFrame, k: int = 4) -> pd.DataFrame:
    """Each government's formation opportunity: it and up to k-1 other cabinets of its country."""
    pairs = []
    for _, country in df.drop_duplicates("gid").sort_values("gid").groupby("cid"):
        ids = country["gid"].to_numpy()
        m = min(k, len(ids))
        alts = ids[(np.arange(len(ids))[:, None] + np.arange(m)) % len(ids)]
        pairs.append(pd.DataFrame({"opportunity": np.repeat(ids, m), "gid": alts.ravel()}))
    out = pd.concat(pairs).merge(df, on="gid")
    out["cabinet"] = out["gid"] * 10_000 + out["opportunity"]
    out["chosen"] = (out["gid"] == out["opportunity"]).astype(int)
    return out


@pytest.fixture(scope="module")
def coalgov() -> pd.DataFrame:
    if not COALGOV.exists():
        pytest.skip(f"shared data not found at {COALGOV} (../shared is absent)")
    return _coalgov()


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    return _simulated()


# --------------------------------------------------------------------------- tests
@needs_shared
def test_formula_list_matches_shared_file():
    text = (SHARED / "bml-formulas.md").read_text()
    lines = [
        ln
        for block in re.findall(r"```\n(.*?)```", text, re.S)
        for ln in block.strip().splitlines()
    ]
    shared = [ln.split("#")[0].strip() for ln in lines]
    assert shared == [*FORMULAS, STACKED, CLOGIT]
    # the comments agree with the families used here
    comments = [ln.partition("#")[2] for ln in lines[: len(FORMULAS)]]
    for c, (family, _) in zip(comments, EXPECTED, strict=True):
        if "Cox" in c:
            assert family == "cox" and "cox_intervals = 10" in c
        for word in ("Weibull", "Binomial", "Gaussian"):
            if word in c:
                assert family == word.lower()


@pytest.mark.parametrize("i", range(len(FORMULAS)))
def test_bml_formula_on_coalgov(coalgov, i):
    model = _build(FORMULAS[i], _layout(coalgov, i), i)
    _check(model, i, 628, COUNTRIES)


@pytest.mark.parametrize("i", range(len(FORMULAS)))
def test_bml_formula_on_simulated_data(simulated, i):
    cnames = simulated.groupby("cid")["cname"].first().sort_index().tolist()
    model = _build(FORMULAS[i], _layout(simulated, i), i)
    _check(model, i, simulated["gid"].nunique(), cnames[1:])


def test_without_mm_every_row_is_an_observation(simulated):
    # bml: without an mm() block the main level is the row (mainid = row_number())
    model = _build(FORMULAS[10], simulated, 10)
    assert model.nobs == len(simulated)


def _stacked_checks(model, data):
    assert model.family == "weibull"
    assert model.nobs == data["gid"].nunique()
    assert model.param_names == [
        "Intercept",
        "mm1.x1",
        "mm1.x2",
        "mm2.x1",
        "mm2.x2",
        "sigma.mm1",
        "sigma.mm2",
        "shape",
        "sigma",
    ]
    assert {k: model.bml_names[k] for k in model.param_names[:-1]} == {
        "Intercept": "b",
        "mm1.x1": "b.mm.1[1]",
        "mm1.x2": "b.mm.1[2]",
        "mm2.x1": "b.mm.2[1]",
        "mm2.x2": "b.mm.2[2]",
        "sigma.mm1": "sigma.mm.1",
        "sigma.mm2": "sigma.mm.2",
        "shape": "shape",
    }
    gov, opp = model.design.mm
    # each block holds exactly the rows with its member id, sized per group
    assert len(gov.rows) == data["pid_g"].notna().sum()
    assert len(opp.rows) == data["pid_o"].notna().sum()
    for blk, col in ((gov, "pid_g"), (opp, "pid_o")):
        size = data.dropna(subset=[col]).groupby("gid").size()
        gids = model.design.group_ids[blk.group]
        np.testing.assert_array_equal(blk.n, size.loc[gids].to_numpy())


def test_stacked_government_opposition_on_coalgov(coalgov):
    data = _stacked(coalgov, "dur_wkb", "event_wkb")
    model = mmreg.MMModel(STACKED, data, family="weibull")
    assert model.nobs == 628
    _stacked_checks(model, data)


def test_stacked_government_opposition_on_simulated_data(simulated):
    data = _stacked(simulated, "dur_wkb", "event_wkb")
    _stacked_checks(mmreg.MMModel(STACKED, data, family="weibull"), data)


def _clogit_checks(model, data):
    assert model.family == "clogit"
    assert model.nobs == data["cabinet"].nunique()
    # clogit: no intercept (it cancels within a choice set), no member REs (RE defaults
    # to FALSE when vars() is given)
    assert model.param_names == ["majority", "mwc", "mm1.rile"]
    assert model.bml_names == {"majority": "b[1]", "mwc": "b[2]", "mm1.rile": "b.mm.1"}
    strata = model.design.outcome["strata"]
    sets = data.drop_duplicates("cabinet").sort_values("cabinet")["opportunity"]
    assert len(np.unique(strata)) == sets.nunique()
    np.testing.assert_array_equal(strata, pd.factorize(sets, sort=True)[0])


def test_clogit_choice_sets_from_coalgov(coalgov):
    data = _choice_sets(coalgov)
    _clogit_checks(mmreg.MMModel(CLOGIT, data, family="clogit"), data)


def test_clogit_on_simulated_choice_sets():
    data = mmreg.datasets.simulate_coalitions(
        n_groups=120, n_members=60, n_countries=10, family="clogit", seed=2
    )
    data = data.assign(cabinet=data["gid"])
    _clogit_checks(mmreg.MMModel(CLOGIT, data, family="clogit"), data)


@needs_shared
@pytest.mark.parametrize("ref", ["gaus_hm", "weib_eq", "binom_hm", "gaus_w", "cox10"])
def test_bml_names_match_jags_reference(coalgov, ref):
    """The reference CSVs pair bml's name (param) with mmreg's (name) for real bml runs."""
    calls = {  # the bml calls of shared/reference/README.md
        "gaus_hm": (
            "logdur ~ 1 + majority + mm(id = id(pid, gid), vars = vars(cohesion), "
            'fn = fn(w ~ 1/n, c = TRUE), RE = TRUE) + hm(id = id(cid), type = "RE")',
            "gaussian",
        ),
        "weib_eq": (FORMULAS[0], "weibull"),
        "binom_hm": (
            "event_wkb ~ 1 + majority + mm(id = id(pid, gid), vars = vars(cohesion), "
            'fn = fn(w ~ 1/n, c = TRUE), RE = TRUE) + hm(id = id(cid), type = "RE")',
            "binomial",
        ),
        "gaus_w": (
            "logdur ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), "
            "fn = fn(w ~ 1 / (1 + (n - 1) * exp(-(b0 + b1 * pseat))), c = TRUE), "
            'RE = TRUE) + hm(id = id(cid), type = "RE")',
            "gaussian",
        ),
        "cox10": (
            "Surv(dur_wkb, event_wkb) ~ 0 + majority + mm(id = id(pid, gid), "
            "vars = vars(cohesion), fn = fn(w ~ 1/n), RE = TRUE)",
            "cox",
        ),
    }
    formula, family = calls[ref]
    model = mmreg.MMModel(
        formula, coalgov, family=family, cox_intervals=10 if family == "cox" else None
    )
    table = pd.read_csv(SHARED / "reference" / "jags" / f"{ref}.csv")
    assert sorted(table["name"]) == sorted(model.param_names)
    for name, param in zip(table["name"], table["param"], strict=True):
        assert model.bml_names[name] == param, name


def test_weibull_sigma_has_bml_name(simulated):
    model = _build(FORMULAS[0], simulated, 0)
    assert model.bml_names["sigma"] == "sigma"
