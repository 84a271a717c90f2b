"""ESS per second of mmreg and JAGS on the new models of #15, in one run on one machine.

    python -m benchmarks.models15 [--models country_slope,...] [--seed 1] [--skip-jags]
                                  [--jags-chains 3] [--jags-burnin 500] [--jags-iter 1000]

For each model mmreg runs in this process (``fit(method="mcmc", seed=seed)`` at its
defaults, BLAS on one thread), then the hand-written JAGS model of the same posterior
through Rscript at a bml-like default length (3 chains × 1,000 after 500 burn-in; JAGS's
adaptation inside ``jags.model``), one after the other.  The models and data are those of
the JAGS reference runs:

* ``country_slope``, ``cor_slope``, ``member_slope``, ``ar_time``:
  ``validation/slopes_reference.py`` (real coalgov structure, simulated Gaussian outcome;
  JAGS ``validation/jags_slopes.R``, whose independent SDs use Gelman's parameter expansion
  — faster-mixing than bml's centred code would be);
* ``poisson``, ``negbinomial``: ``validation/count_reference.py`` (coalgov-shaped
  simulation, 500 governments, member and country REs, exposure offset; JAGS
  ``validation/jags_counts.R``).

ESS/s = lowest ESS over the reported parameters / wall seconds (also per CPU second).
mmreg's ESS is its rank-normalised bulk ESS (``res.mcmc_diag()``); JAGS's is coda's
``effectiveSize`` over the chains, as in ``benchmarks/vs_jags.py``.  Wall times include the
model build and Laplace start (mmreg) and compilation, adaptation and burn-in (JAGS), not
starting R or reading files.  A model this checkout cannot fit yet (MMSpecError "not
available yet") is skipped with a note, JAGS included.  The load average is printed: on a
shared machine wall times are inflated, the CPU columns less so.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import mmreg
from benchmarks._util import machine, pin_blas, timer
from validation import count_reference, slopes_reference

MODELS = ("country_slope", "cor_slope", "member_slope", "poisson", "negbinomial", "ar_time")
_HEADER = re.compile(r"; ([\d.]+) s; ([\d.]+) cpu s")


def model_and_data(name: str) -> tuple[str, pd.DataFrame, str]:
    """(formula, data, family) of a benchmark model."""
    if name in count_reference.FILES:
        return count_reference.FORMULA, count_reference.simulate_counts(name), name
    return slopes_reference.MODELS[name], slopes_reference.simulate(name), "gaussian"


def run_mmreg(name: str, seed: int) -> dict:
    """mmreg's MCMC at its defaults: wall and CPU time, lowest bulk ESS."""
    formula, df, family = model_and_data(name)
    c0 = time.process_time()
    with timer() as t:
        try:
            model = mmreg.MMModel(formula, df, family=family)
        except mmreg.MMSpecError as exc:
            if "not available yet" in str(exc):
                return {"note": f"mmreg cannot fit it yet: {exc}"[:110]}
            raise
        res = model.fit(method="mcmc", seed=seed, progress=False)
    wall, cpu = t(), time.process_time() - c0
    ess = res.mcmc_diag()["ess_bulk"]
    return {
        "hyper dim": res.model.space.dim,
        "mmreg wall s": wall,
        "mmreg cpu s": cpu,
        "mmreg min ESS": float(ess.min()),
        "mmreg (param)": str(ess.idxmin()),
        "mmreg ESS/s": float(ess.min()) / wall,
        "mmreg ESS/cpu s": float(ess.min()) / cpu,
    }


def run_jags(name: str, chains: int, burnin: int, iter_: int, seed: int) -> dict:
    """The JAGS model through Rscript; its lowest coda ESS and timings."""
    _, df, _ = model_and_data(name)
    counts = name in count_reference.FILES
    script = count_reference.R_SCRIPT if counts else slopes_reference.R_SCRIPT
    with tempfile.TemporaryDirectory(prefix="models15_") as tmp:
        data_csv, out_csv = Path(tmp) / "data.csv", Path(tmp) / "out.csv"
        df.to_csv(data_csv, index=False)
        cmd = ["Rscript", str(script), name, str(data_csv), str(out_csv)]
        cmd += [str(chains), str(burnin), str(iter_), "1"] + ([] if counts else [str(seed)])
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
            return {"note": f"Rscript failed: {last[:100]}"}
        header = out_csv.read_text().splitlines()[0]
        summ = pd.read_csv(out_csv, comment="#").set_index("param")
    wall, cpu = (float(x) for x in _HEADER.search(header).groups())
    ess = summ["n_eff"]
    return {
        "JAGS wall s": wall,
        "JAGS cpu s": cpu,
        "JAGS min ESS": float(ess.min()),
        "JAGS (param)": str(ess.idxmin()),
        "JAGS ESS/s": float(ess.min()) / wall,
        "JAGS ESS/cpu s": float(ess.min()) / cpu,
        "JAGS max R-hat": float(summ["rhat"].max()),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-jags", action="store_true")
    ap.add_argument("--jags-chains", type=int, default=3)
    ap.add_argument("--jags-burnin", type=int, default=500)
    ap.add_argument("--jags-iter", type=int, default=1000)
    args = ap.parse_args(argv)
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        ap.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    if not slopes_reference.COALGOV.exists():
        print(f"skipped: {slopes_reference.COALGOV} not found (../shared is absent)")
        return
    pin_blas()
    load0 = os.getloadavg()[0]
    rows = []
    for name in names:
        row = {"model": name} | run_mmreg(name, args.seed)
        if "note" not in row and not args.skip_jags:
            jags = run_jags(
                name, args.jags_chains, args.jags_burnin, args.jags_iter, 100 + args.seed
            )
            row |= jags
        if "JAGS ESS/s" in row:
            row["ratio"] = row["mmreg ESS/s"] / row["JAGS ESS/s"]
            row["ratio (cpu)"] = row["mmreg ESS/cpu s"] / row["JAGS ESS/cpu s"]
        rows.append(row)
        print(f"  done {name}", file=sys.stderr, flush=True)
    tab = pd.DataFrame(rows).set_index("model")
    pd.set_option("display.width", 250)
    print(
        f"mmreg {mmreg.__version__} vs hand-written JAGS models, #15 ({machine()}; load "
        f"average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end); JAGS "
        f"{args.jags_chains} chains x {args.jags_iter} after {args.jags_burnin} burn-in"
    )
    print(tab.round(2).to_string())


if __name__ == "__main__":
    main()
