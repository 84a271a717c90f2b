"""CPU milliseconds per log-density evaluation of the MCMC (issue #18).

    python -m benchmarks.eval_cpu [--models binom_hm,weib_hm] [--points 300]

For each coalgov model: ``LogPosterior.evaluate`` (log prior + Newton + importance
sampling, the sampler's default particles, seed 1) at ``points`` values of ψ drawn from the
Laplace approximation (seed 0), timed with ``time.process_time``; BLAS one thread.  Prints
one line per model (ms per evaluation and the sum of the finite values, which is equal
between two checkouts exactly when their estimates are).  Run it alternately with two
checkouts on the path (``PYTHONPATH=<checkout>``) to compare them on a loaded machine.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks._util import coalgov_or_none
from mmreg.inference.laplace import fit_laplace
from mmreg.inference.mcmc import LogPosterior
from validation.reference_models import build_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="binom_hm,weib_hm,weib_w,weib_eq")
    ap.add_argument("--points", type=int, default=300)
    args = ap.parse_args()
    df = coalgov_or_none()
    if df is None:
        return
    for name in args.models.split(","):
        post = build_model(name, df).posterior
        lap = fit_laplace(post)
        lp = LogPosterior.from_laplace(post, lap, post.particles(None), 1)
        L = np.linalg.cholesky(lap.cov_u)
        rng = np.random.default_rng(0)
        us = lap.u + (L @ rng.standard_normal((len(lap.u), args.points))).T
        t0 = time.process_time()
        vals = np.array([lp.evaluate(u)[0] for u in us])
        ms = 1e3 * (time.process_time() - t0) / args.points
        total = float(np.sum(vals[np.isfinite(vals)]))
        print(f"{name}: {ms:.3f} CPU ms/evaluation; sum of values {total:.10f}", flush=True)


if __name__ == "__main__":
    main()
