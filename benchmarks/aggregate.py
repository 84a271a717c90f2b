"""MCMC on the aggregation models of #16: wall time, lowest bulk ESS, ESS per second.

    python -m benchmarks.aggregate [--draws 1000] [--chains 4] [--cores 2] [--seeds 1,2]
                                   [--models agg_var,agg_smax,agg_thr,agg_int]

The models of ``validation/aggregate_reference.py`` (coalgov structure, simulated outcomes):
``fn("var")`` with estimated weights ``w(~ exp(g * pseat))``, ``fn("smax", kappa = est())``
``fn("threshold", c = est())`` and ``majority:coal`` with a named block of estimated weights
(``agg_int``).  Wall time includes building the model and the Laplace
start; the lowest bulk ESS is over every reported parameter.  The JAGS figures are those
of the reference runs (``tests/reference/data/jags_<model>.csv``: lowest ESS over the
run's wall time, from its comment line), when present.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd

import mmreg
from benchmarks._util import machine, pin_blas, timer
from validation.aggregate_reference import CSV, MODELS

DATA = Path(__file__).resolve().parents[1] / "tests" / "reference" / "data"


def jags_ess_per_s(name: str) -> float | None:
    """Lowest ESS per second of the stored JAGS reference run, if any."""
    path = DATA / f"jags_{name}.csv"
    if not path.exists():
        return None
    text = path.read_text()
    found = re.search(r"([\d.]+) s in all \(min ESS ([\d.]+)", text)
    return float(found.group(2)) / float(found.group(1)) if found else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args()
    pin_blas()
    df = pd.read_csv(CSV)
    rows = []
    for name in args.models.split(","):
        formula = MODELS[name][0]
        for seed in (int(s) for s in args.seeds.split(",")):
            with timer() as t:
                res = mmreg.MMModel(formula, df).fit(
                    method="mcmc", draws=args.draws, chains=args.chains, seed=seed, cores=args.cores
                )
            wall = t()
            diag = res.mcmc_diag()
            rows.append(
                {
                    "model": name,
                    "seed": seed,
                    "wall s": wall,
                    "min ESS": diag["ess_bulk"].min(),
                    "(param)": diag["ess_bulk"].idxmin(),
                    "max R-hat": diag["rhat"].max(),
                    "ESS/s": diag["ess_bulk"].min() / wall,
                    "JAGS ESS/s": jags_ess_per_s(name),
                }
            )
    print(
        f"MCMC, aggregation models: {args.chains} chains x {args.draws} draws, "
        f"{args.cores} processes (BLAS 1 thread; {machine()})"
    )
    print(pd.DataFrame(rows).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
