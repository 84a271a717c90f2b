"""mmreg against bml/JAGS on the coalgov reference models, in one run on one machine.

    python -m benchmarks.vs_jags [--models gaus_hm,...] [--seeds 1] [--skip-jags]

For every model and seed, mmreg runs in this process (``fit(method="mcmc", seed=s)`` at its
defaults: one process, ``cores=None``, BLAS and CHOLMOD on one thread), then bml 0.9.0 +
JAGS (``benchmarks/vs_jags.R`` through ``Rscript``: bml's default settings, ``parallel =
FALSE``, i.e. one process), one after the other.  Both wall times include everything a
user waits for inside the call: JAGS compilation and adaptation, mmreg's model build and
Laplace start (starting R/Python, loading packages and reading the CSV are excluded).

ESS per second is the *lowest* ESS over the parameters mmreg reports (fixed effects,
weight parameters, SDs, shape; bml's names from ``res.bml_names``) divided by the wall
time.  mmreg's ESS is its rank-normalised bulk ESS with every walker taken as a chain
(``res.mcmc_diag()``); JAGS's is coda's ``effectiveSize`` summed over the chains, as in
``../shared/reference/README.md``.  The per-run table also shows the bulk ESS of the JAGS
draws computed by mmreg's own estimator, the max R-hat of both, and CPU seconds with ESS
per CPU second and their ratio ("ratio (cpu)"), less sensitive than wall time to other load
on the machine (both programs are single-threaded).

Without R, JAGS or bml (or with ``--skip-jags``) only mmreg runs and a note says why.
This script is the source of every mmreg-vs-JAGS speed figure in README and docs.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import mmreg
from benchmarks._util import machine, pin_blas, timer
from mmreg.results.diagnostics import ess_bulk, rhat
from validation.reference_models import COALGOV, MODELS, SPEED_ONLY, load_coalgov

R_SCRIPT = Path(__file__).with_suffix(".R")
ALL = {**MODELS, **SPEED_ONLY}


def jags_available() -> str | None:
    """``None`` if Rscript, rjags and bml are installed, else the reason they are not."""
    if shutil.which("Rscript") is None:
        return "Rscript not found (install r-base, jags, r-cran-rjags and bml 0.9.0)"
    code = (
        "ok <- sapply(c('rjags', 'R2jags', 'bml'), requireNamespace, quietly = TRUE); "
        "cat(names(ok)[!ok])"
    )
    proc = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, check=False)
    missing = proc.stdout.strip()
    if proc.returncode != 0 or missing:
        return f"R packages missing: {missing or proc.stderr.strip()[-200:]}"
    return None


def run_jags(name: str, seed: int, names: list[str], timeout: float) -> dict:
    """One bml() run in a child Rscript; ESS over the bml parameter ``names``."""
    with tempfile.TemporaryDirectory(prefix="vs_jags_") as tmp:
        out = str(Path(tmp) / name)
        try:
            proc = subprocess.run(
                ["Rscript", str(R_SCRIPT), name, str(seed), out, str(COALGOV)],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"JAGS note": f"timed out after {timeout:.0f} s"}
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
            return {"JAGS note": f"Rscript failed: {last[:120]}"}
        summ = pd.read_csv(f"{out}_summary.csv").set_index("key")["value"]
        ess = pd.read_csv(f"{out}_ess.csv").set_index("param")["ess"]
        draws = pd.read_csv(f"{out}_draws.csv")
    present = [n for n in names if n in ess.index]
    lacking = sorted(set(names) - set(present))
    chains = [g.drop(columns="chain") for _, g in draws.groupby("chain")]
    bulk = {n: ess_bulk(np.stack([c[n].to_numpy() for c in chains])) for n in present}
    rh = max(rhat(np.stack([c[n].to_numpy() for c in chains])) for n in present)
    wall = float(summ["wall_s"])
    return {
        "JAGS wall s": wall,
        "JAGS cpu s": float(summ["cpu_s"]),
        "JAGS min ESS": float(ess[present].min()),
        "JAGS (param)": str(ess[present].idxmin()),
        "JAGS ESS/s": float(ess[present].min()) / wall,
        "JAGS ESS/cpu s": float(ess[present].min()) / float(summ["cpu_s"]),
        "JAGS min bulk ESS": float(min(bulk.values())),
        "JAGS max R-hat": float(rh),
        "JAGS settings": f"{summ['n_chains']}x{summ['n_iter']} (burn-in "
        f"{summ['n_burnin']}, thin {summ['n_thin']})",
        "JAGS note": f"not monitored: {', '.join(lacking)}" if lacking else "",
    }


def run_mmreg(name: str, df: pd.DataFrame, seed: int) -> tuple[dict, list[str]]:
    """One mmreg MCMC fit at the defaults in this process; its row and bml names."""
    spec = ALL[name]
    c0 = time.process_time()
    with timer() as t:
        model = mmreg.MMModel(spec.formula, df, family=spec.family, **spec.options)
        res = model.fit(method="mcmc", seed=seed, progress=False)
    wall, cpu = t(), time.process_time() - c0
    diag = res.mcmc_diag()
    ess = diag["ess_bulk"]
    row = {
        "mmreg wall s": wall,
        "mmreg cpu s": cpu,
        "mmreg min ESS": float(ess.min()),
        "mmreg (param)": str(ess.idxmin()),
        "mmreg ESS/s": float(ess.min()) / wall,
        "mmreg ESS/cpu s": float(ess.min()) / cpu,
        "mmreg max R-hat": float(diag["rhat"].max()),
    }
    return row, [str(res.bml_names[p]) for p in diag.index]


def _single_thread() -> None:
    """One BLAS thread, and one for CHOLMOD's supernodes too (JAGS uses one core)."""
    pin_blas()
    try:
        from mmreg.inference import cholmod

        cholmod.threads = 1
    except ImportError:  # pragma: no cover - older layouts
        pass


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--models", default=",".join(ALL), help=f"comma-separated, from {', '.join(ALL)}"
    )
    ap.add_argument("--seeds", default="1", help="comma-separated seeds (both programs)")
    ap.add_argument("--skip-jags", action="store_true", help="run mmreg only")
    ap.add_argument(
        "--jags-timeout",
        type=float,
        default=3600.0,
        help="seconds before one bml() run is abandoned",
    )
    args = ap.parse_args(argv)
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in names if m not in ALL]
    if unknown:
        ap.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(ALL)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    if not COALGOV.exists():
        print(f"skipped: {COALGOV} not found (run from the repository root with ../shared)")
        return
    why = "--skip-jags" if args.skip_jags else jags_available()
    if why:
        print(f"note: bml/JAGS skipped ({why}); mmreg only, no ratio")
    _single_thread()
    df = load_coalgov()
    runs = []
    for name in names:
        for seed in seeds:
            row = {"model": name, "seed": seed}
            try:
                mm_row, bml_names = run_mmreg(name, df, seed)
            except Exception as exc:  # a benchmark reports, it does not stop
                mm_row, bml_names = {"mmreg note": f"{type(exc).__name__}: {exc}"[:120]}, []
            row.update(mm_row)
            if not why:
                # mmreg first: its fit gives the parameter names (bml's) to compare
                row.update(run_jags(name, seed, bml_names, args.jags_timeout))
            if "JAGS ESS/s" in row and "mmreg ESS/s" in row:
                row["ratio"] = row["mmreg ESS/s"] / row["JAGS ESS/s"]
                row["ratio (cpu)"] = row["mmreg ESS/cpu s"] / row["JAGS ESS/cpu s"]
            runs.append(row)
            print(f"  done {name} seed {seed}", file=sys.stderr, flush=True)
    runs = pd.DataFrame(runs)
    cols = [
        "model",
        "mmreg wall s",
        "mmreg min ESS",
        "mmreg ESS/s",
        "JAGS wall s",
        "JAGS min ESS",
        "JAGS ESS/s",
        "ratio",
        "ratio (cpu)",
    ]
    main_tab = runs.reindex(columns=cols).groupby("model", sort=False).median()
    main_tab = main_tab.dropna(axis=1, how="all")  # no JAGS columns when JAGS was skipped
    pd.set_option("display.width", 200)
    print(
        f"mmreg {mmreg.__version__} vs bml/JAGS on coalgov, seeds {args.seeds}, one process "
        f"each ({machine()})"
    )
    print("\nEvery run:")
    print(runs.round(3).to_string(index=False))
    print(
        f"\n{'Median over seeds' if len(seeds) > 1 else 'Summary'} (ESS/s = lowest ESS / "
        "wall s; ratio = mmreg ESS/s / JAGS ESS/s; ratio (cpu): the same per CPU second):"
    )
    print(main_tab.round(2).to_string())


if __name__ == "__main__":
    main()
