"""Laplace work counted, not timed: conditional-mode solves and factorisations per fit.

    python -m benchmarks.solve_counts [--sizes 10000] [--cases gauss,weib,west]

Counts do not depend on the machine's load, so they compare versions of the optimiser
reliably (run the script from two checkouts); CPU seconds are printed beside them.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

CASES = {
    "gauss": ("gaussian", "equal"),
    "weib": ("weibull", "equal"),
    "west": ("gaussian", "estimated"),
    "binom": ("binomial", "equal"),
}


def count(n: int, family: str, weights: str) -> dict:
    """Fit one simulated data set and count LatentModel.mode / factor calls."""
    import mmreg
    from benchmarks._util import scale_data
    from mmreg.inference.latent import LatentModel

    calls = {"modes": 0, "newton its": 0, "factorisations": 0}
    mode, factor = LatentModel.mode, LatentModel.factor

    def counted_mode(self, *a, **k):
        md = mode(self, *a, **k)
        calls["modes"] += 1
        calls["newton its"] += md.iterations
        return md

    def counted_factor(self, *a, **k):
        calls["factorisations"] += 1
        return factor(self, *a, **k)

    LatentModel.mode, LatentModel.factor = counted_mode, counted_factor
    try:
        df = scale_data(n, family, weights)
        model = mmreg.MMModel(df.attrs["formula"], df, family=family)
        t0 = time.process_time()
        res = model.fit()
        cpu = time.process_time() - t0
    finally:
        LatentModel.mode, LatentModel.factor = mode, factor
    return {**calls, "cpu s": round(cpu, 2), "llf": round(res.llf, 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000")
    ap.add_argument("--cases", default="gauss,weib,west")
    args = ap.parse_args()
    from benchmarks._util import pin_blas

    pin_blas()
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        for case in args.cases.split(","):
            rows.append({"case": case, "groups": n, **count(n, *CASES[case])})
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
