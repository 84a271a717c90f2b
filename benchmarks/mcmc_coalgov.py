"""MCMC on the coalgov reference models: wall time, lowest bulk ESS, ESS per second.

    python -m benchmarks.mcmc_coalgov [--draws 1000] [--chains 4] [--seeds 1,2,3]
                                      [--models gaus_hm,...]

Wall time includes building the model and the Laplace start.  The lowest bulk ESS is over
the reported fixed effects, weight parameters, SDs and shape (as the JAGS figures in
``../shared/reference/README.md``, which are printed alongside).  The lowest ESS of one run
varies a lot from seed to seed (it is the minimum of several noisy estimates), so every
model runs with each seed and the table shows the median and the range of ESS per second.
"""

from __future__ import annotations

import argparse

import pandas as pd

import mmreg
from benchmarks._util import coalgov_or_none, machine, timer
from validation.reference_models import MODELS, SPEED_ONLY


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument(
        "--cores",
        type=int,
        default=2,
        help="chains run in parallel processes (bml/JAGS: one process per core)",
    )
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument(
        "--tune",
        dest="tune",
        type=int,
        default=None,
        help="tuning steps (default: fit_mcmc's default)",
    )
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--models", default=",".join([*MODELS, *SPEED_ONLY]))
    args = ap.parse_args()
    df = coalgov_or_none()
    if df is None:
        return
    allm = {**MODELS, **SPEED_ONLY}
    seeds = [int(s) for s in args.seeds.split(",")]
    tune = {} if args.tune is None else {"tune": args.tune}
    runs, rows = [], []
    for name in args.models.split(","):
        spec = allm[name]
        per_seed = []
        for seed in seeds:
            with timer() as t:
                model = mmreg.MMModel(spec.formula, df, family=spec.family, **spec.options)
                res = model.fit(
                    method="mcmc",
                    draws=args.draws,
                    chains=args.chains,
                    seed=seed,
                    cores=args.cores,
                    **tune,
                )
            wall = t()
            diag = res.mcmc_diag()
            per_seed.append(
                {
                    "model": name,
                    "seed": seed,
                    "wall s": wall,
                    "min ESS": diag["ess_bulk"].min(),
                    "(param)": diag["ess_bulk"].idxmin(),
                    "max R-hat": diag["rhat"].max(),
                    "ESS/s": diag["ess_bulk"].min() / wall,
                    "IS log-lik SD": res.raw.log_estimate_sd,
                }
            )
        runs += per_seed
        ess_s = pd.Series([r["ESS/s"] for r in per_seed])
        rows.append(
            {
                "model": name,
                "wall s": float(pd.Series([r["wall s"] for r in per_seed]).median()),
                "min ESS": float(pd.Series([r["min ESS"] for r in per_seed]).median()),
                "max R-hat": max(r["max R-hat"] for r in per_seed),
                "ESS/s": float(ess_s.median()),
                "ESS/s range": f"{ess_s.min():.0f}-{ess_s.max():.0f}",
                "JAGS ESS/s": spec.jags_ess_per_s,
                "Stan ESS/s": spec.stan_ess_per_s or "",
            }
        )
    print(
        f"MCMC on coalgov: {args.chains} chains x {args.draws} draws, tune "
        f"{args.tune or res.raw.tune}, {args.cores} processes, seeds {args.seeds} "
        f"(BLAS 1 thread; {machine()})"
    )
    print("\nEvery run:")
    print(pd.DataFrame(runs).round(3).to_string(index=False))
    print("\nMedian over seeds (ESS/s range: lowest and highest seed):")
    print(pd.DataFrame(rows).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
