"""cox10's MCMC with the low-rank factor of H against the dense path it replaced (#18).

    python -m validation.cox_lowrank [--seeds 1,2,3] [--draws 1000] [--chains 4]

For every seed, ``fit(method="mcmc", seed=...)`` of the coalgov cox10 model (defaults
otherwise) twice in this process: with the sparse-plus-low-rank factor
(:mod:`mmreg.inference.lowrank`, the default) and with it switched off (the dense Cholesky
path).  The draws differ — the importance particles are another square root of H⁻¹ applied to
the same normals, so the pseudo-marginal estimates are equal in law but not per draw
(``tests/inference/test_lowrank.py::test_importance_estimate_equal_in_law``) — so the script
prints, per parameter, both posterior means and SDs, the difference of the means in units of
their combined Monte Carlo SE (z), and per run the CPU seconds and the lowest bulk ESS.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import mmreg
import mmreg.inference.lowrank as lr
from benchmarks._util import pin_blas
from validation.reference_models import MODELS, load_coalgov


def run(seed: int, draws: int, chains: int, low_rank: bool):
    spec = MODELS["cox10"]
    old = lr.LOW_RANK_RATIO
    lr.LOW_RANK_RATIO = old if low_rank else 10**9
    try:
        model = mmreg.MMModel(spec.formula, load_coalgov(), family=spec.family, **spec.options)
        t0 = time.process_time()
        res = model.fit(method="mcmc", seed=seed, draws=draws, chains=chains)
        cpu = time.process_time() - t0
    finally:
        lr.LOW_RANK_RATIO = old
    return res.mcmcDiag(), cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    args = ap.parse_args()
    pin_blas()
    zs = []
    print("| seed | parameter | mean (low-rank) | mean (dense) | z | SD (low-rank) | SD (dense) |")
    print("|---|---|---|---|---|---|---|")
    runs = []
    for seed in (int(s) for s in args.seeds.split(",")):
        a, ca = run(seed, args.draws, args.chains, True)
        b, cb = run(seed, args.draws, args.chains, False)
        runs.append((seed, ca, cb, a["ess_bulk"].min(), b["ess_bulk"].min()))
        for p in a.index:
            z = (a.loc[p, "mean"] - b.loc[p, "mean"]) / np.hypot(
                a.loc[p, "mcse_mean"], b.loc[p, "mcse_mean"]
            )
            zs.append(z)
            print(
                f"| {seed} | {p} | {a.loc[p, 'mean']:.4f} | {b.loc[p, 'mean']:.4f} | {z:+.2f} "
                f"| {a.loc[p, 'sd']:.4f} | {b.loc[p, 'sd']:.4f} |"
            )
    print(f"\nz over all: mean {np.mean(zs):+.2f}, SD {np.std(zs):.2f} (expected 0, 1)\n")
    print("| seed | CPU s low-rank | CPU s dense | min ESS low-rank | min ESS dense |")
    print("|---|---|---|---|---|")
    for seed, ca, cb, ea, eb in runs:
        print(f"| {seed} | {ca:.1f} | {cb:.1f} | {ea:.0f} | {eb:.0f} |")


if __name__ == "__main__":
    main()
