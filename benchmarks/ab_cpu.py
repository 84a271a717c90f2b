"""CPU time of the same MCMC run in two checkouts, alternated (for a loaded machine).

    python -m benchmarks.ab_cpu --old /path/to/other/checkout [--models gaus_hm,binom_hm]
                                [--reps 2] [--draws 1000] [--chains 2] [--seed 1]

On a machine shared with other jobs even CPU seconds drift with the load (cache and core
contention: ±20% within minutes), so two profiles taken at different times do not compare
two checkouts.  This runs ``fit(method="mcmc", seed=...)`` of each coalgov model in a fresh
process per checkout (``PYTHONPATH`` = the checkout), alternating old / new ``--reps``
times, and prints each run's CPU seconds, its lowest bulk ESS and a hash of the draws (the
same hash: bit-identical draws; the path of the mmreg it imported is printed too), and the
ratio of the medians.  BLAS one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

CHILD = """
import hashlib, json, sys, time, warnings
warnings.simplefilter("ignore")
from threadpoolctl import threadpool_limits
threadpool_limits(1)
import numpy as np, pandas as pd, mmreg
sys.path.insert(0, {here!r})
from validation.reference_models import MODELS, SPEED_ONLY
df = pd.read_csv({data!r}); df["logdur"] = np.log(df["dur_wkb"])
spec = {{**MODELS, **SPEED_ONLY}}[{name!r}]
t0 = time.process_time()
m = mmreg.MMModel(spec.formula, df, family=spec.family, **spec.options)
r = m.fit(method="mcmc", draws={draws}, chains={chains}, seed={seed})
cpu = time.process_time() - t0
ess = r.mcmc_diag()["ess_bulk"].min()
h = hashlib.sha1(np.ascontiguousarray(r.raw.u).tobytes()).hexdigest()[:10]
print(json.dumps({{"cpu": cpu, "ess": float(ess), "hash": h, "mmreg": mmreg.__file__}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", required=True, help="the other checkout (its repository root)")
    ap.add_argument("--new", default=str(Path(__file__).resolve().parents[1]))
    ap.add_argument("--models", default="gaus_hm,binom_hm")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    here = str(Path(__file__).resolve().parents[1])
    data = str(Path(here).parent / "shared" / "data" / "coalgov.csv")
    rows = []
    for name in args.models.split(","):
        code = CHILD.format(
            here=here, data=data, name=name, draws=args.draws, chains=args.chains, seed=args.seed
        )
        for rep in range(args.reps):
            for label, tree in (("old", args.old), ("new", args.new)):
                env = dict(os.environ, PYTHONPATH=tree, OPENBLAS_NUM_THREADS="1")
                # ``python -c`` puts the working directory first on sys.path: run in the
                # checkout itself, or every run would import the caller's mmreg
                out = subprocess.run(
                    [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tree
                )
                if out.returncode != 0:
                    print(out.stderr.strip().splitlines()[-1])
                    continue
                res = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append({"model": name, "rep": rep, "checkout": label, **res})
                print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    print(df.round(3).to_string(index=False))
    med = df.groupby(["model", "checkout"])["cpu"].median().unstack()
    med["old/new"] = med["old"] / med["new"]
    print("\nmedian CPU s per checkout and the ratio:")
    print(med.round(3).to_string())


if __name__ == "__main__":
    main()
