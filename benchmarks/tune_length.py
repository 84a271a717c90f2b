"""Tuning length: lowest bulk ESS per CPU second and R-hat at several ``tune=`` values.

    python -m benchmarks.tune_length [--models gaus_hm,binom_hm,weib_hm,gaus_w]
                                     [--tunes 30,40,60] [--seeds 1,2,3] [--draws 1000]

Every run is ``fit(method="mcmc", draws=..., chains=4, tune=t, seed=s)`` in one process
(``cores=None``) with one BLAS thread, so its CPU time (``time.process_time`` of the fit,
model build and Laplace start included) measures the work whatever the load of the machine.
Prints one JSON line per run as it finishes (so a cut-short run keeps what it measured),
then a table per model and tune: lowest bulk ESS, largest R-hat and ESS per CPU second over
the seeds, and whether every seed met R-hat < 1.01 and ESS ≥ 400 (issue #18).
"""

from __future__ import annotations

import argparse
import json
import time

import pandas as pd

from benchmarks._util import coalgov_or_none, machine
from validation.reference_models import build_model


def run_one(df, name: str, tune: int, seed: int, draws: int) -> dict:
    """One fit of coalgov model ``name``; CPU seconds, lowest ESS and largest R-hat."""
    c0 = time.process_time()
    model = build_model(name, df)
    res = model.fit(method="mcmc", draws=draws, chains=4, tune=tune, seed=seed)
    cpu = time.process_time() - c0
    diag = res.mcmc_diag()
    ess = float(diag["ess_bulk"].min())
    return {
        "model": name,
        "tune": tune,
        "seed": seed,
        "cpu s": round(cpu, 2),
        "min ESS": round(ess),
        "(param)": str(diag["ess_bulk"].idxmin()),
        "max R-hat": round(float(diag["rhat"].max()), 4),
        "ESS/CPU s": round(ess / cpu, 1),
        "acceptance": round(float(res.raw.acceptance.mean()), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="gaus_hm,binom_hm,weib_hm,gaus_w")
    ap.add_argument("--tunes", default="30,40,60")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--draws", type=int, default=1000)
    args = ap.parse_args()
    df = coalgov_or_none()
    if df is None:
        return
    runs = []
    for name in args.models.split(","):
        for seed in map(int, args.seeds.split(",")):
            for tune in map(int, args.tunes.split(",")):
                row = run_one(df, name, tune, seed, args.draws)
                runs.append(row)
                print(json.dumps(row), flush=True)
    tab = pd.DataFrame(runs)
    summ = tab.groupby(["model", "tune"]).agg(
        min_ESS=("min ESS", "min"),
        max_rhat=("max R-hat", "max"),
        ess_per_cpu_median=("ESS/CPU s", "median"),
        ess_per_cpu_min=("ESS/CPU s", "min"),
        cpu_median=("cpu s", "median"),
        seeds=("seed", "count"),
    )
    summ["converged every seed"] = (summ["max_rhat"] < 1.01) & (summ["min_ESS"] >= 400)
    print(f"\nTuning length, 4 chains x {args.draws} draws, one process ({machine()})")
    print(summ.to_string())


if __name__ == "__main__":
    main()
