"""Frequentist coverage of mmreg's 95% intervals under repeated simulation.

Run from the repository root::

    python -m validation.coverage [--reps 500] [--families gaussian,binomial,...]
                                  [--method laplace|mcmc] [--workers 2] [--out cov.csv]

Each replication draws a new data set from ``simulate_coalitions`` at the *fixed* default
truth of its family (new covariates, new random effects, new outcome), fits the model with
bml's default (vague) priors and records whether ``res.conf_int(0.05)`` contains the true
value of every parameter.  This is coverage in the frequentist sense — over repeated data at
fixed parameters, random effects integrated over their distribution — which is what the
Laplace (Wald) intervals claim; MCMC credible intervals under vague priors should come close.
(Calibration of the posterior over parameters drawn from the prior is the job of
``validation/sbc.py``.)

The table gives, per family and parameter, the coverage with its Monte Carlo SE, the number
of replications whose interval was undefined (NaN: flat direction, counted as misses), the
mean bias of the estimate and the ratio of the mean reported SE to the SD of the estimates.
A parameter is flagged when its coverage is outside 95% ± 3 points (issue #6).
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

import mmreg

__all__ = [
    "FAMILIES",
    "CoverageSetup",
    "setup_for",
    "run_replication",
    "run_coverage",
    "coverage_table",
]

FAMILIES = ("gaussian", "binomial", "weibull", "cox", "clogit")
NOMINAL = 0.95


@dataclass(frozen=True)
class CoverageSetup:
    """One coverage configuration.

    Parameters
    ----------
    family : str
        One of :data:`FAMILIES`.
    weights : {"equal", "estimated"}
        Weight function of the simulated mm() block.
    n_groups, n_members, n_countries : int
        Size of every simulated data set.
    method : {"laplace", "mcmc"}
        How the model is fitted.
    draws, tune, chains : int
        MCMC settings (``method="mcmc"`` only).
    cox_intervals : int or None
        Cox only: piecewise baseline on this many intervals (``None``: unique times).
    """

    family: str
    weights: str = "equal"
    n_groups: int = 628
    n_members: int = 312
    n_countries: int = 29
    method: str = "laplace"
    draws: int = 1000
    tune: int = 60  # fit_mcmc's default from session 4 to 9 (40 since session 10)
    chains: int = 2
    cox_intervals: int | None = None


def setup_for(family: str, **overrides) -> CoverageSetup:
    """Default coverage setup of a family, with ``overrides``."""
    return replace(CoverageSetup(family=family), **overrides)


def run_replication(setup: CoverageSetup, rep: int, seed: int = 1) -> dict:
    """Simulate one data set at the default truth, fit, and check every interval.

    Returns
    -------
    dict
        ``family``, ``rep``, ``error``, ``seconds`` and per parameter ``est:``, ``se:``,
        ``lower:``, ``upper:``, ``truth:`` and ``cover:`` (1.0, 0.0, or NaN when the
        interval is undefined).
    """
    ss = np.random.SeedSequence([seed, FAMILIES.index(setup.family), rep])
    rng_data, rng_fit = (np.random.default_rng(s) for s in ss.spawn(2))
    df = mmreg.datasets.simulate_coalitions(
        n_groups=setup.n_groups,
        n_members=setup.n_members,
        n_countries=setup.n_countries,
        family=setup.family,
        weights=setup.weights,
        seed=rng_data,
    )
    truth = dict(df.attrs["truth"])
    if setup.family == "weibull":
        truth["sigma"] = 1.0 / truth["shape"]
    out = {"family": setup.family, "method": setup.method, "rep": rep, "error": ""}
    t0 = time.perf_counter()
    try:
        model = mmreg.MMModel(
            df.attrs["formula"], df, family=setup.family, cox_intervals=setup.cox_intervals
        )
        if setup.method == "mcmc":
            res = model.fit(
                method="mcmc",
                draws=setup.draws,
                tune=setup.tune,
                chains=setup.chains,
                seed=int(rng_fit.integers(2**31)),
            )
        else:
            res = model.fit()
        ci = res.conf_int(0.05)
    except Exception as err:  # a failed fit is recorded, not hidden
        out["error"] = f"{type(err).__name__}: {err}"[:200]
        out["seconds"] = time.perf_counter() - t0
        return out
    for n, v in truth.items():
        lo, hi = float(ci.loc[n, "lower"]), float(ci.loc[n, "upper"])
        out.update(
            {
                f"truth:{n}": v,
                f"est:{n}": float(res.params[n]),
                f"se:{n}": float(res.bse[n]),
                f"lower:{n}": lo,
                f"upper:{n}": hi,
                f"cover:{n}": float(lo <= v <= hi) if np.isfinite([lo, hi]).all() else np.nan,
            }
        )
    out["seconds"] = time.perf_counter() - t0
    return out


def _init_worker() -> None:
    import warnings

    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    warnings.simplefilter("ignore")


def _job(args) -> dict:
    return run_replication(*args)


def run_coverage(
    setup: CoverageSetup, reps: int, seed: int = 1, workers: int = 1, progress: bool = False
) -> pd.DataFrame:
    """``reps`` replications (in ``workers`` processes); one row per replication."""
    jobs = [(setup, r, seed) for r in range(reps)]
    rows = []
    if workers > 1:
        with ProcessPoolExecutor(workers, initializer=_init_worker) as ex:
            for row in ex.map(_job, jobs):
                rows.append(row)
                if progress and (len(rows) % 25 == 0 or row["error"]):
                    print(f"  {setup.family} {len(rows)}/{reps} {row['error']}", flush=True)
    else:
        _init_worker()
        rows = [_job(j) for j in jobs]
    return pd.DataFrame(rows)


def coverage_table(
    res: pd.DataFrame, nominal: float = NOMINAL, tolerance: float = 0.03
) -> pd.DataFrame:
    """Coverage per parameter with its Monte Carlo SE, bias and SE ratio.

    Undefined intervals count as misses (``cov_defined``: coverage among the defined
    ones).  ``z`` is the deviation from ``nominal`` in units of
    the binomial SE at ``nominal``; ``flag`` marks coverage outside ``nominal ± tolerance``.
    """
    ok = res[res["error"].fillna("").eq("")]
    names = [c[6:] for c in res.columns if c.startswith("cover:")]
    rows = []
    for n in names:
        cov = ok[f"cover:{n}"]
        hits = cov.fillna(0.0)
        r = len(hits)
        c = float(hits.mean())
        est, se, tru = ok[f"est:{n}"], ok[f"se:{n}"], ok[f"truth:{n}"]
        rows.append(
            {
                "parameter": n,
                "truth": float(tru.iloc[0]),
                "reps": r,
                "coverage": c,
                "mc_se": float(np.sqrt(c * (1 - c) / r)),
                "n_undefined": int(cov.isna().sum()),
                "cov_defined": float(cov.mean()),
                "z": (c - nominal) / np.sqrt(nominal * (1 - nominal) / r),
                "bias": float((est - tru).mean()),
                "se_ratio": float(se.mean() / est.std(ddof=1)),
                "flag": "" if abs(c - nominal) <= tolerance else "OUTSIDE ±3pt",
            }
        )
    return pd.DataFrame(rows).set_index("parameter")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--method", default="laplace", choices=("laplace", "mcmc"))
    ap.add_argument("--weights", default="equal", choices=("equal", "estimated"))
    ap.add_argument("--n-groups", type=int, default=628, help="members: half as many")
    ap.add_argument("--cox-intervals", type=int, default=None)
    ap.add_argument("--tune", type=int, default=60, help="MCMC tuning steps")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=None, help="CSV of all replications")
    args = ap.parse_args()
    pd.set_option("display.width", 200)
    frames = []
    for fam in args.families.split(","):
        setup = setup_for(
            fam,
            method=args.method,
            weights=args.weights,
            n_groups=args.n_groups,
            n_members=args.n_groups // 2,
            n_countries=min(29, args.n_groups // 10),
            cox_intervals=args.cox_intervals if fam == "cox" else None,
            tune=args.tune,
        )
        t0 = time.perf_counter()
        res = run_coverage(setup, args.reps, seed=args.seed, workers=args.workers, progress=True)
        frames.append(res)
        if args.out:  # rewritten after every family, so a long run keeps what it has
            pd.concat(frames, ignore_index=True).to_csv(args.out, index=False)
        failed = int(res["error"].fillna("").ne("").sum())
        print(
            f"\n== {fam} ({setup.method}, {setup.weights} weights, {setup.n_groups} groups,"
            f" {len(res)} reps, {failed} failed fits, {time.perf_counter() - t0:.0f} s) =="
        )
        print(coverage_table(res).round(4).to_string())


if __name__ == "__main__":
    main()
