"""Random slopes, correlated slopes and time-scaled random walks vs JAGS (#15).

Data: the **real coalgov structure** (628 governments, 312 parties, 29 countries, the real
``n``, ``majority``, ``finance`` and election dates) with a **simulated Gaussian outcome**
``y`` drawn here with numpy (not with mmreg) from the model being checked, so that every
hyperparameter is well away from its boundary.  A time column ``t`` (decimal years) dates
each government: its election date plus an even share of the time to the country's next
election for the k-th of the m governments formed after one election (4 years after the
last election); times are unique within every party.

The four models (:data:`MODELS`; JAGS: ``validation/jags_slopes.R``, written by hand):

* ``country_slope``: ``hm(id = id(cid), RE = re(1 + majority))`` + member random intercept;
* ``cor_slope``: the same with ``cor = TRUE`` (2×2 covariance, uniform correlation);
* ``member_slope``: ``mm(..., RE = re(1 + finance))`` + country random intercept;
* ``ar_time``: ``mm(..., RE = re(1, ar = t))`` (each party's effects a random walk over its
  governments ordered by ``t``, step variance σ²·Δt/mean Δt) + country random intercept;
* ``member_pseat``: ``mm(..., RE = re(1 + pseat_z))`` + country random intercept, where
  ``pseat_z`` is the party's seat share standardised over all rows; it varies within 71% of
  the parties, so (unlike ``finance``, constant within every party) it identifies each
  party's intercept and slope separately — the member-slope reference to rely on.

Commands (from the repository root)::

    python -m validation.slopes_reference jags [models]     # rewrite the stored references
    python -m validation.slopes_reference compare [models]  # full-length mmreg vs stored JAGS

``jags`` runs ``jags_slopes.R`` at :data:`JAGS_RUN` and stores the summary (mean, sd,
quantiles, MC error, ESS, R-hat) in ``tests/reference/data/<model>_jags.csv`` with a
provenance line; ``compare`` fits mmreg by MCMC (``--draws``, ``--chains``) and prints a
PASS/FAIL table (|Δmean| ≤ 0.1 posterior SD and SD ratio within 10%, each widened by the
Monte Carlo error of both runs, as in ``tests/reference/test_count_jags.py``).
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from validation.reference_models import COALGOV

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "reference" / "data"
R_SCRIPT = ROOT / "validation" / "jags_slopes.R"
SEED = 20261205

_MM = "mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ 1/n, c = TRUE), RE = {re})"
_HM = "hm(id = id(cid), {re})"
#: model -> mmreg formula (bml 0.9 mm()/hm() with the 1.0 re() argument)
MODELS = {
    "country_slope": "y ~ 1 + majority + "
    + _MM.format(re="TRUE")
    + " + "
    + _HM.format(re="RE = re(1 + majority)"),
    "cor_slope": "y ~ 1 + majority + "
    + _MM.format(re="TRUE")
    + " + "
    + _HM.format(re="RE = re(1 + majority, cor = TRUE)"),
    "member_slope": "y ~ 1 + majority + "
    + _MM.format(re="re(1 + finance)")
    + " + "
    + _HM.format(re="type = 'RE'"),
    "ar_time": "y ~ 1 + majority + "
    + _MM.format(re="re(1, ar = t)")
    + " + "
    + _HM.format(re="type = 'RE'"),
    # last: the simulation's seed depends on the model's position in this dict
    "member_pseat": "y ~ 1 + majority + "
    + _MM.format(re="re(1 + pseat_z)")
    + " + "
    + _HM.format(re="type = 'RE'"),
}
_BASE = {
    "Intercept": 5.7,
    "majority": 0.45,
    "mm1.finance": -0.3,
    "sigma.mm1": 0.4,
    "sigma.hm1": 0.35,
    "sigma": 0.5,
}
#: the member-level column of each member random slope (``finance`` is constant within every
#: party, so its intercept and slope are not separately identified; ``pseat_z`` varies)
SLOPE_COLUMN = {"member_slope": "finance", "member_pseat": "pseat_z"}
#: true values of the simulation (mmreg's names)
TRUTH = {
    "country_slope": _BASE | {"sigma.hm1.majority": 0.35},
    "cor_slope": _BASE | {"sigma.hm1.majority": 0.35, "cor.hm1.majority": 0.5},
    "member_slope": _BASE | {"sigma.mm1.finance": 0.4},
    "member_pseat": _BASE | {"sigma.mm1.pseat_z": 0.5},
    "ar_time": _BASE | {"sigma.mm1": 0.2},
}
#: the stored reference runs (chains x iter after burnin, thinned), set from pilot runs
#: (2 chains x 1000) for a lowest ESS of ~2000-2900
JAGS_RUN = {
    "country_slope": {"chains": 4, "burnin": 2000, "iter": 16000, "thin": 4},
    "cor_slope": {"chains": 4, "burnin": 2000, "iter": 12000, "thin": 3},
    "member_slope": {"chains": 4, "burnin": 2000, "iter": 12000, "thin": 3},
    "member_pseat": {"chains": 4, "burnin": 2000, "iter": 30000, "thin": 5},
    "ar_time": {"chains": 4, "burnin": 2000, "iter": 9000, "thin": 2},
}


def coalgov_structure(path: Path = COALGOV) -> pd.DataFrame:
    """The coalgov rows (gid, pid, cid, n, majority, finance, pseat) plus the time column
    ``t`` and ``pseat_z``, the seat share standardised over all rows (mean 0, SD 1)."""
    cols = ["gid", "pid", "cid", "n", "majority", "finance", "pseat", "election"]
    df = pd.read_csv(path, usecols=cols)
    df["pseat_z"] = (df["pseat"] - df["pseat"].mean()) / df["pseat"].std()
    g = df.groupby("gid", sort=True)[["cid", "election"]].first().reset_index()
    date = pd.to_datetime(g["election"])
    g["year"] = date.dt.year + (date.dt.dayofyear - 1) / 365.25
    elections = g.drop_duplicates(["cid", "election"]).sort_values(["cid", "year"])
    nxt = elections.groupby("cid")["year"].shift(-1)
    elections = elections.assign(gap=(nxt - elections["year"]).fillna(4.0))
    g = g.merge(elections[["cid", "election", "gap"]], on=["cid", "election"])
    k = g.groupby(["cid", "election"]).cumcount()
    m = g.groupby(["cid", "election"])["gid"].transform("size")
    g["t"] = g["year"] + g["gap"] * k / m
    out = df.drop(columns="election").merge(g[["gid", "t"]], on="gid")
    return out.sort_values(["gid", "pid"], ignore_index=True)


def simulate(model: str, seed: int = SEED) -> pd.DataFrame:
    """Coalgov structure with an outcome ``y`` drawn from ``model`` at :data:`TRUTH`."""
    truth = TRUTH[model]
    df = coalgov_structure()
    rng = np.random.default_rng([seed, list(MODELS).index(model)])
    _, pid = np.unique(df["pid"].to_numpy(), return_inverse=True)
    gid_u, row_g = np.unique(df["gid"].to_numpy(), return_inverse=True)
    first = np.unique(row_g, return_index=True)[1]
    _, cid = np.unique(df["cid"].to_numpy()[first], return_inverse=True)
    maj = df["majority"].to_numpy()[first].astype(float)
    fin = df["finance"].to_numpy()
    w = 1.0 / df["n"].to_numpy()
    n_p, n_c = pid.max() + 1, cid.max() + 1
    s_mm, s_hm = truth["sigma.mm1"], truth["sigma.hm1"]
    if model == "ar_time":
        member = _random_walk(df, pid, s_mm, rng)
    else:
        member = s_mm * rng.standard_normal(n_p)[pid]
        if model in SLOPE_COLUMN:
            col = SLOPE_COLUMN[model]
            x = df[col].to_numpy()
            member = member + truth[f"sigma.mm1.{col}"] * rng.standard_normal(n_p)[pid] * x
    s_sl = truth.get("sigma.hm1.majority", 0.0)
    rho = truth.get("cor.hm1.majority", 0.0)
    z0, z1 = rng.standard_normal((2, n_c))
    v0 = s_hm * z0
    v1 = s_sl * (rho * z0 + np.sqrt(1 - rho**2) * z1)
    mmsum = np.bincount(row_g, w * (fin * truth["mm1.finance"] + member), minlength=gid_u.size)
    mu = truth["Intercept"] + truth["majority"] * maj + mmsum + v0[cid] + v1[cid] * maj
    y = mu + truth["sigma"] * rng.standard_normal(gid_u.size)
    out = df.assign(y=y[row_g])
    out.attrs = {"truth": truth, "model": model, "formula": MODELS[model]}
    return out


def _random_walk(df: pd.DataFrame, pid: np.ndarray, sd: float, rng) -> np.ndarray:
    """One state per row: each party's rows in time order, steps N(0, sd² Δt / mean Δt)."""
    t = df["t"].to_numpy()
    order = np.lexsort((t, pid))
    first = np.r_[True, pid[order][1:] != pid[order][:-1]]
    dt = np.diff(t[order])[~first[1:]]
    scale = np.ones(len(df))
    scale[~first] = dt / dt.mean()
    steps = sd * np.sqrt(scale) * rng.standard_normal(len(df))
    starts = np.cumsum(first) - 1  # party run of each sorted row
    walk = np.cumsum(steps)
    walk -= (walk - steps)[first][starts]  # restart the sum at each party's first row
    state = np.empty(len(df))
    state[order] = walk
    return state


def run_jags(
    model: str, run: dict | None = None, seed: int = 100, parts: int = 1
) -> tuple[pd.DataFrame, str]:
    """Run ``jags_slopes.R`` on :func:`simulate` ``(model)``; (summary, its header line).

    ``parts > 1`` runs that many independent JAGS processes at once (seeds ``seed``,
    ``seed + 100``, ...; ``run["chains"]`` chains each) and pools all their chains into one
    summary (``jags_slopes.R combine``: R-hat over every chain).
    """
    run = JAGS_RUN[model] | (run or {})
    with tempfile.TemporaryDirectory() as tmp:
        data_csv = Path(tmp) / "data.csv"
        simulate(model).to_csv(data_csv, index=False)
        procs, outs, draws = [], [], []
        for p in range(parts):
            out_csv, draws_csv = Path(tmp) / f"out{p}.csv", Path(tmp) / f"draws{p}.csv"
            cmd = ["Rscript", str(R_SCRIPT), model, str(data_csv), str(out_csv)]
            cmd += [str(run[k]) for k in ("chains", "burnin", "iter", "thin")]
            cmd += [str(seed + 100 * p)] + ([str(draws_csv)] if parts > 1 else [])
            procs.append(subprocess.Popen(cmd))
            outs.append(out_csv)
            draws.append(draws_csv)
        if any(proc.wait() != 0 for proc in procs):
            raise RuntimeError(f"a JAGS run of {model} failed (see its output above)")
        headers = [o.read_text().splitlines()[0].lstrip("# ") for o in outs]
        if parts == 1:
            return pd.read_csv(outs[0], comment="#").set_index("param"), headers[0]
        pooled = Path(tmp) / "pooled.csv"
        cmd = ["Rscript", str(R_SCRIPT), "combine", str(pooled), *map(str, draws)]
        subprocess.run(cmd, check=True)
        header = pooled.read_text().splitlines()[0].lstrip("# ") + " (" + " | ".join(headers) + ")"
        summary = pd.read_csv(pooled, comment="#").set_index("param")
        if model in SLOPE_COLUMN:  # `combine` does not know the model: name the slope's SD
            summary = summary.rename(
                index={"sigma.mm1.finance": f"sigma.mm1.{SLOPE_COLUMN[model]}"}
            )
        return summary, header


def store_reference(model: str, parts: int = 1) -> pd.DataFrame:
    """Run JAGS at :data:`JAGS_RUN` (``parts`` runs pooled) and write
    ``tests/reference/data/<model>_jags.csv``."""
    summary, header = run_jags(model, parts=parts)
    run = JAGS_RUN[model]
    with open(DATA / f"{model}_jags.csv", "w") as fh:
        fh.write(
            f"# JAGS reference for {model}: python -m validation.slopes_reference jags {model}"
            f"{f' --parts {parts}' if parts > 1 else ''} (real coalgov structure, outcome "
            f"simulated by slopes_reference.simulate(seed={SEED}) at {TRUTH[model]}; "
            f"validation/jags_slopes.R); {header}; {parts} x {run['chains']} chains x "
            f"{run['iter']} iterations after {run['burnin']} burn-in, thin {run['thin']}; "
            f"{datetime.date.today().isoformat()}\n"
        )
        summary.to_csv(fh)
    return summary


def load_reference(model: str) -> pd.DataFrame:
    """The stored JAGS summary of ``model``, indexed by mmreg's parameter names."""
    return pd.read_csv(DATA / f"{model}_jags.csv", comment="#").set_index("param")


def agreement(res, ref: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: Δmean in posterior SDs, SD ratio, the widened tolerances and PASS.

    |Δmean| ≤ 0.1·sd + 3·√(sd²/ESS + mc_error_ref²) and
    |sd/sd_ref − 1| ≤ 0.1 + 3/√(2·ESS) + 3/√(2·n_eff_ref), ESS = mmreg's bulk ESS.
    """
    names = list(ref.index)
    ess = res.mcmc_diag(names)["ess_bulk"]
    dmean = (res.params[names] - ref["mean"]).abs()
    tol_mean = 0.1 * ref["sd"] + 3 * np.sqrt(ref["sd"] ** 2 / ess + ref["mc_error"] ** 2)
    ratio = res.bse[names] / ref["sd"]
    tol_sd = 0.1 + 3 / np.sqrt(2 * ess) + 3 / np.sqrt(2 * ref["n_eff"])
    tab = pd.DataFrame(
        {
            "jags mean": ref["mean"],
            "mmreg mean": res.params[names],
            "|dmean|/sd": dmean / ref["sd"],
            "tol/sd": tol_mean / ref["sd"],
            "sd ratio": ratio,
            "tol": tol_sd,
            "mmreg ESS": ess,
            "jags ESS": ref["n_eff"],
        }
    )
    tab["PASS"] = (dmean <= tol_mean) & ((ratio - 1).abs() <= tol_sd)
    return tab


def compare(model: str, draws: int, chains: int, seed: int = 1) -> pd.DataFrame:
    """Fit ``model`` by mmreg's MCMC and compare with the stored JAGS summary."""
    import mmreg

    df = simulate(model)
    res = mmreg.MMModel(MODELS[model], df).fit(
        method="mcmc", draws=draws, chains=chains, seed=seed, progress=False
    )
    return agreement(res, load_reference(model))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("jags", "compare"))
    ap.add_argument("models", nargs="*", default=list(MODELS))
    ap.add_argument("--draws", type=int, default=4000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--parts", type=int, default=1, help="jags: independent runs pooled")
    args = ap.parse_args(argv)
    pd.set_option("display.width", 200)
    for model in args.models:
        if args.what == "jags":
            print(model, store_reference(model, args.parts).round(4), sep="\n", flush=True)
            continue
        try:
            tab = compare(model, args.draws, args.chains)
        except Exception as exc:  # e.g. a model this checkout cannot fit yet
            print(f"{model}: SKIPPED ({type(exc).__name__}: {exc})"[:300])
            continue
        verdict = "PASS" if tab["PASS"].all() else "FAIL"
        print(f"\n{model}: {verdict}\n{tab.round(3).to_string()}", flush=True)


if __name__ == "__main__":
    main()
