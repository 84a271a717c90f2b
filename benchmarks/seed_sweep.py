"""Lowest bulk ESS, R-hat and stuck walkers of coalgov MCMC runs over many seeds (issue #18).

    python -m benchmarks.seed_sweep [--models gaus_hm,binom_hm] [--seeds 1-24]
                                    [--set mmreg.inference.edges.EDGE_WEIGHT=0.15 ...]
                                    [--latent auto|marginal|gibbs]

The lowest bulk ESS of one run varies by ±30% from seed to seed, so a change to the sampler
is judged on the median and minimum over many seeds, paired by seed (the runs are
reproducible: a seed whose proposals the change does not touch gives the same ESS).  Every
run is ``fit(method="mcmc", seed=s)`` at the defaults in this process, one BLAS thread.
``--set`` overrides a module constant for the whole sweep (e.g. to compare a switch).

Per run: CPU seconds of the fit (``time.process_time``, Laplace start included), lowest
bulk ESS and its parameter, largest R-hat, mean kept-phase acceptance, and **stuck
walkers**: walkers of the kept phase that repeat one state for at least ``--stuck``
(default 15) consecutive steps, the mechanism behind most low-ESS runs (an independence
proposal much thinner than the posterior somewhere, or a pseudo-marginal estimate that came
out high).  A ``--set`` name the module does not have stops the sweep.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import time
import warnings

import numpy as np

from benchmarks._util import coalgov_or_none
from validation.reference_models import build_model


def stuck_walkers(u: np.ndarray, at_least: int) -> int:
    """Walkers (of all chains) whose longest run of repeated states in ``u`` (chains, steps,
    walkers, dim) has at least ``at_least`` repeats."""
    same = np.all(u[:, 1:] == u[:, :-1], axis=-1)  # (chains, steps - 1, walkers)
    count = 0
    for c in range(same.shape[0]):
        for w in range(same.shape[2]):
            run = best = 0
            for s in same[c, :, w]:
                run = run + 1 if s else 0
                best = max(best, run)
            count += best >= at_least
    return count


def _seeds(text: str) -> list[int]:
    if "-" in text:
        lo, hi = (int(v) for v in text.split("-"))
        return list(range(lo, hi + 1))
    return [int(v) for v in text.split(",")]


def _override(assignments: list[str]) -> None:
    """Set each ``module.CONSTANT=value``; a name the module does not have is an error (a
    misspelt switch would otherwise leave the sweep at the defaults without a word)."""
    for item in assignments:
        target, value = item.split("=", 1)
        module, attr = target.rsplit(".", 1)
        mod = importlib.import_module(module)
        if not hasattr(mod, attr):
            raise SystemExit(f"--set {item}: {module} has no {attr}")
        setattr(mod, attr, ast.literal_eval(value))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="gaus_hm,binom_hm")
    ap.add_argument("--seeds", default="1-8", help="a range 1-24 or a list 1,2,3")
    ap.add_argument("--set", action="append", default=[], help="module.CONSTANT=value")
    ap.add_argument("--stuck", type=int, default=15)
    ap.add_argument("--latent", default="auto", choices=("auto", "marginal", "gibbs"))
    args = ap.parse_args()
    _override(args.set)
    df = coalgov_or_none()  # one BLAS thread
    if df is None:
        return
    warnings.simplefilter("ignore")
    print(f"overrides: {args.set or 'none'}")
    for name in args.models.split(","):
        model = build_model(name, df)
        rows = []
        for seed in _seeds(args.seeds):
            c0 = time.process_time()
            res = model.fit(method="mcmc", seed=seed, progress=False, latent=args.latent)
            cpu = time.process_time() - c0
            diag = res.mcmc_diag()
            ess = diag["ess_bulk"]
            row = (
                seed,
                cpu,
                float(ess.min()),
                float(diag["rhat"].max()),
                float(np.mean(res.raw.acceptance)),
                stuck_walkers(res.raw.u, args.stuck),
            )
            rows.append(row)
            print(
                f"{name} seed {seed}: cpu {cpu:.2f} s, lowest ESS {row[2]:.0f} ({ess.idxmin()}), "
                f"max R-hat {row[3]:.4f}, acceptance {row[4]:.3f}, stuck {row[5]}",
                flush=True,
            )
        r = np.array(rows)
        print(
            f"== {name}, seeds {args.seeds}: lowest ESS median {np.median(r[:, 2]):.0f}, "
            f"min {r[:, 2].min():.0f}; max R-hat {r[:, 3].max():.4f}; stuck walkers "
            f"{int(r[:, 5].sum())}; median CPU {np.median(r[:, 1]):.2f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
