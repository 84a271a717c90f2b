"""MCMC on the coalgov reference models: wall time, lowest bulk ESS, ESS per second.

    python -m benchmarks.mcmc_coalgov [--draws 1000] [--chains 4] [--models gaus_hm,...]

Wall time includes building the model and the Laplace start.  The lowest bulk ESS is over
the reported fixed effects, weight parameters, SDs and shape (as the JAGS figures in
``../shared/reference/README.md``, which are printed alongside).
"""

from __future__ import annotations

import argparse

import pandas as pd

import mmreg
from benchmarks._util import machine, pin_blas, timer
from validation.reference_models import COALGOV, MODELS, SPEED_ONLY, load_coalgov


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=100)
    ap.add_argument("--cores", type=int, default=2,
                    help="chains run in parallel processes (bml/JAGS: one process per core)")
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--models", default=",".join([*MODELS, *SPEED_ONLY]))
    args = ap.parse_args()
    if not COALGOV.exists():
        print("skipped: ../shared/data/coalgov.csv not found")
        return
    pin_blas()
    df = load_coalgov()
    allm = {**MODELS, **SPEED_ONLY}
    rows = []
    for name in args.models.split(","):
        spec = allm[name]
        with timer() as t:
            model = mmreg.MMModel(spec.formula, df, family=spec.family, **spec.options)
            res = model.fit(method="mcmc", draws=args.draws, tune=args.tune,
                            chains=args.chains, seed=args.seed, cores=args.cores)
        wall = t()
        diag = res.mcmc_diag()
        worst = diag["ess_bulk"].idxmin()
        rows.append({"model": name, "wall s": wall, "min ESS": diag["ess_bulk"].min(),
                     "(param)": worst, "max R-hat": diag["rhat"].max(),
                     "ESS/s": diag["ess_bulk"].min() / wall, "JAGS ESS/s": spec.jags_ess_per_s,
                     "Stan ESS/s": spec.stan_ess_per_s or "",
                     "IS log-lik SD": res.raw.log_estimate_sd})
    print(f"MCMC on coalgov: {args.chains} chains x {args.draws} draws, tune {args.tune}, "
          f"{args.cores} processes (BLAS 1 thread; {machine()})")
    print(pd.DataFrame(rows).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
