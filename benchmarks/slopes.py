"""Random slopes in hm() (issue #15): Laplace time, MCMC ESS/s and scaling.

    python -m benchmarks.slopes [--sizes 628,100000] [--draws 1000] [--chains 4] [--seeds 1,2]

Data: ``simulate_coalitions`` (members ≈ groups/2, countries ≈ groups/1000, at least 29)
with a country random slope of ``majority`` (SD 0.3) added to the Gaussian outcome; the
model is the simulation's formula with ``hm(id = id(cid), RE = re(1 + majority))``, next to
the same model without the slope.  Until the bml 1.0 parser reads ``re()``, the slope is
set on the parsed spec (``tests/slopes_helper.py``).  BLAS one thread.

Measured 2026-12-05 on the shared 2-core machine under a load average of 6-10 (other jobs;
absolute times are inflated several-fold, ratios are the useful figures):

* Laplace, 628 groups: 0.23 s without / 0.35 s with the slope (load 7); 1.2 / 1.8 s (load 9).
* Laplace, 100,000 groups (50,000 members, 100 countries): 256 s without / 217 s with the
  slope (load ~9): the slope costs nothing measurable (ratio 0.85; goal: within 2x).
* MCMC, 628 groups, 4 chains x 1000 draws, one process: lowest bulk ESS (sigma.mm1 in every
  run) 583 / 654 with the slope vs 1340 / 1406 without (seeds 1, 2); ESS/s 7.3 / 11.7 with
  vs 18.2 / 27.1 without.  The extra hyperparameter halves emcee's lowest ESS at equal
  wall time.
* After the kept phase's copula proposal (#18, commit f5c9abe; same seeds, load ~12): with
  the slope, acceptance 0.46 / 0.49 → 0.69 / 0.67, lowest bulk ESS 583 / 654 → 1023 / 648,
  median ESS over the parameters 1019 / 1167 → 1849 / 1440; per CPU second 65 / 79 →
  119 / 75 (models without the slope have 3 hyperparameters and are unchanged).
"""

from __future__ import annotations

import argparse

import pandas as pd

import mmreg
from benchmarks._util import machine, pin_blas, timer
from tests.slopes_helper import simulate_slopes, slope_model


def _laplace(df, slopes) -> dict:
    f = df.attrs["formula"]
    with timer() as t_build:
        model = slope_model(f, df, slopes=slopes) if slopes else mmreg.MMModel(f, df)
    with timer() as t_fit:
        res = model.fit()
    return {"build s": t_build(), "Laplace s": t_fit(), "res": res}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="628,100000")
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--cores", type=int, default=1)
    ap.add_argument("--seeds", default="1,2")
    args = ap.parse_args()
    pin_blas()
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        df = simulate_slopes(n_groups=n, seed=1)
        for slopes in ((), ("majority",)):
            out = _laplace(df, slopes)
            res = out.pop("res")
            rows.append(
                {
                    "groups": n,
                    "slope": bool(slopes),
                    **out,
                    "sigma.hm1.majority": res.params.get("sigma.hm1.majority", ""),
                }
            )
    print(f"Laplace fits ({machine()}, BLAS 1 thread):")
    print(pd.DataFrame(rows).round(3).to_string(index=False))
    if args.draws <= 0:
        return

    df = simulate_slopes(seed=1)
    runs = []
    for seed in (int(s) for s in args.seeds.split(",")):
        for slopes in (("majority",), ()):  # the same run without the slope: the baseline
            with timer() as t:
                model = (
                    slope_model(df.attrs["formula"], df, slopes=slopes)
                    if slopes
                    else mmreg.MMModel(df.attrs["formula"], df)
                )
                res = model.fit(
                    method="mcmc", draws=args.draws, chains=args.chains, seed=seed, cores=args.cores
                )
            diag = res.mcmc_diag()
            runs.append(
                {
                    "seed": seed,
                    "slope": bool(slopes),
                    "wall s": t(),
                    "min ESS": diag["ess_bulk"].min(),
                    "(param)": diag["ess_bulk"].idxmin(),
                    "max R-hat": diag["rhat"].max(),
                    "ESS/s": diag["ess_bulk"].min() / t(),
                }
            )
    print(
        f"\nMCMC, coalgov-sized (628 groups) with a country slope: {args.chains} chains x "
        f"{args.draws} draws, {args.cores} process(es)"
    )
    print(pd.DataFrame(runs).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
