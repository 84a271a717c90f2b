"""Laplace fit time of every coalgov reference model (target: under 1 s each).

Also times the first ``conf_int()`` (profile intervals of the random-effect SDs).

    python -m benchmarks.laplace_coalgov [--repeat 3]
"""

from __future__ import annotations

import argparse

import pandas as pd

import mmreg
from benchmarks._util import coalgov_or_none, machine, timer
from validation.reference_models import MODELS, SPEED_ONLY


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    df = coalgov_or_none()
    if df is None:
        return
    rows = []
    for name, spec in {**MODELS, **SPEED_ONLY}.items():
        times = []
        for _ in range(args.repeat):
            with timer() as t:
                model = mmreg.MMModel(spec.formula, df, family=spec.family, **spec.options)
                res = model.fit()
            times.append(t())
        with timer() as t:
            ci = res.conf_int()  # profile intervals of the random-effect SDs (cached after)
        sd_zero = [n for n in ci.index if n.startswith("sigma.") and ci.loc[n, "lower"] == 0]
        rows.append(
            {
                "model": name,
                "family": spec.family,
                "params": len(res.params),
                "latent dim": model.latent.dim,
                "best s": min(times),
                "median s": sorted(times)[len(times) // 2],
                "converged": bool(res.raw.optimizer.success),
                "profile CI s": t(),
                "SD CI incl. 0": ",".join(sd_zero) or "-",
            }
        )
    print(f"Laplace fits on coalgov (build + fit, BLAS 1 thread; {machine()})")
    print(pd.DataFrame(rows).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
