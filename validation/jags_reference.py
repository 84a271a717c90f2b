"""Full comparison of mmreg's MCMC with the bml/JAGS reference posteriors.

Run from the repository root (needs ``../shared``)::

    python -m validation.jags_reference [--draws 2000] [--chains 4] [--models gaus_hm,...]
                                        [--latent auto|marginal|gibbs]

Prints, for every reference model and parameter, the posterior mean and SD from mmreg and
from JAGS, Δmean in posterior SDs, the SD ratio and R-hat/ESS, and a PASS/FAIL column for
the SPEC's criterion (|Δmean| ≤ 0.1 SD and SD within 10%, widened by our own Monte Carlo
error, 2·sd/√ESS and 2/√(2·ESS)).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import mmreg
from validation.reference_models import MODELS, load_coalgov, load_reference


def compare(
    name: str,
    df: pd.DataFrame,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    latent: str = "auto",
) -> pd.DataFrame:
    spec = MODELS[name]
    model = mmreg.MMModel(spec.formula, df, family=spec.family, **spec.options)
    t0 = time.perf_counter()
    res = model.fit(method="mcmc", draws=draws, tune=tune, chains=chains, seed=seed, latent=latent)
    wall = time.perf_counter() - t0
    ref = load_reference(name)
    diag = res.mcmc_diag(list(ref.index))
    out = pd.DataFrame(
        {
            "mmreg": res.params[ref.index],
            "jags": ref["mean"],
            "sd": res.bse[ref.index],
            "sd_jags": ref["sd"],
        }
    )
    out["dmean/sd"] = (out["mmreg"] - out["jags"]) / out["sd_jags"]
    out["sd_ratio"] = out["sd"] / out["sd_jags"]
    out["rhat"] = diag["rhat"]
    out["ess"] = diag["ess_bulk"]
    mc = 2 / np.sqrt(out["ess"])
    out["pass"] = (out["dmean/sd"].abs() <= 0.1 + mc) & (
        (out["sd_ratio"] - 1).abs() <= 0.1 + mc / np.sqrt(2)
    )
    out.attrs["wall"] = wall
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=2000)
    ap.add_argument("--tune", type=int, default=300)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--latent", default="auto", choices=("auto", "marginal", "gibbs"))
    args = ap.parse_args()
    df = load_coalgov()
    pd.set_option("display.width", 160)
    allpass = True
    for name in args.models.split(","):
        tab = compare(name, df, args.draws, args.tune, args.chains, args.seed, args.latent)
        allpass &= bool(tab["pass"].all())
        print(f"\n== {name} ({tab.attrs['wall']:.1f} s) ==")
        print(tab.round(3).to_string())
    print("\nALL PASS" if allpass else "\nSOME FAILED")


if __name__ == "__main__":
    main()
