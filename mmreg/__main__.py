"""Command line: ``python -m mmreg demo [--out DIR] [--seed N] [--quick]``.

The demo simulates a coalition data set shaped like coalgov (known true parameters), fits it
by MAP/Laplace and by MCMC (with a progress bar), prints ``summary()`` and ``var_decomp()``,
and writes a LaTeX table and a posterior plot to an output folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def demo(out: Path, seed: int = 2026, quick: bool = False) -> int:
    """Run the demo; returns a process exit code."""
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    import mmreg

    out.mkdir(parents=True, exist_ok=True)
    n_groups = 300 if quick else 628
    df = mmreg.datasets.simulate_coalitions(
        n_groups=n_groups,
        n_members=n_groups // 2,
        n_countries=29,
        family="gaussian",
        weights="estimated",
        seed=seed,
    )
    formula = df.attrs["formula"]
    truth = pd.Series(df.attrs["truth"], name="truth")
    print(
        f"Simulated {df['gid'].nunique()} governments, {df['pid'].nunique()} parties, "
        f"{df['cid'].nunique()} countries ({len(df)} rows).\nFormula: {formula}\n"
    )
    model = mmreg.MMModel.from_formula(
        formula, df, family="gaussian", priors={"mm1.w.*": mmreg.priors.Normal(0, 3)}
    )
    t0 = time.perf_counter()
    lap = model.fit()
    print(f"--- MAP + Laplace ({time.perf_counter() - t0:.2f} s) ---")
    print(lap.summary())
    t0 = time.perf_counter()
    mc = model.fit(
        method="mcmc",
        draws=400 if quick else 1000,
        chains=2 if quick else 4,
        seed=seed,
        progress=True,
        cores=2,
    )
    print(f"\n--- MCMC ({time.perf_counter() - t0:.1f} s) ---")
    print(mc.summary())
    comp = pd.DataFrame(
        {"truth": truth, "laplace": lap.params, "mcmc": mc.params, "mcmc_sd": mc.bse}
    ).dropna(subset=["truth"])
    print("\nEstimates against the simulation truth:\n" + comp.round(3).to_string())
    print("\nVariance decomposition (MCMC, per-draw weights):")
    print(mc.var_decomp().round(3).to_string())
    (out / "summary.tex").write_text(mc.to_latex())
    fig = mc.plot_posterior("mm1.w.b1")
    fig.savefig(out / "posterior_mm1.w.b1.png", dpi=110)
    print(f"\nWrote {out / 'summary.tex'} and {out / 'posterior_mm1.w.b1.png'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m mmreg`` and the ``mmreg`` script."""
    parser = argparse.ArgumentParser(prog="mmreg", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    d = sub.add_parser("demo", help="simulate coalition data and fit it both ways")
    d.add_argument("--out", default="mmreg-demo-output", help="output folder")
    d.add_argument("--seed", type=int, default=2026)
    d.add_argument("--quick", action="store_true", help="smaller data and fewer draws")
    args = parser.parse_args(argv)
    if args.command != "demo":
        parser.print_help()
        return 2
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    return demo(Path(args.out), seed=args.seed, quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
