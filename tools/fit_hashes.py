"""Hashes of Laplace and short MCMC fits of the coalgov reference models (refactoring check).

    PYTHONPATH=/path/to/checkout python tools/fit_hashes.py [--models gaus_hm,...]
        [--draws 100] [--tune 30] [--chains 2] [--seed 1]

A change that should not change behaviour (moving code between modules, say) must print
the same hashes before and after: run it once with ``PYTHONPATH`` set to a checkout of the
old code and once with the new one (it prints which mmreg it imported).  Per model it
hashes the Laplace fit (``res.params``, ``res.bse``, ``res.raw.u``), ``model.loglike`` and
``model.simulate`` at the Laplace estimates, and a short seeded MCMC run (``res.raw.u``,
``res.raw.z``, ``res.raw.loglik_total``); ``gaus_hm`` also runs its chains in two processes
(``cores=2``), which must give the same draws as one process.  BLAS one thread.  The
``slope`` model is ``gaus_hm`` with a correlated intercept and ``majority`` slope of the
countries, ``re(1 + majority, cor = TRUE)``.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import warnings
from pathlib import Path

import numpy as np

# validation/ of this checkout if not on PYTHONPATH (appended: PYTHONPATH picks the mmreg)
sys.path.append(str(Path(__file__).resolve().parents[1]))

SLOPE = (
    "logdur ~ 1 + majority + mm(id = id(pid, gid), vars = vars(cohesion), "
    "fn = fn(w ~ 1/n, c = TRUE), RE = TRUE) + hm(id = id(cid), RE = re(1 + majority, cor = TRUE))"
)


def _h(*arrays) -> str:
    h = hashlib.sha1()
    for a in arrays:
        h.update(np.ascontiguousarray(np.asarray(a, dtype=np.float64)).tobytes())
    return h.hexdigest()[:12]


def main() -> None:
    from threadpoolctl import threadpool_limits

    import mmreg
    from validation.reference_models import MODELS, SPEED_ONLY, load_coalgov

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="gaus_hm,binom_hm,weib_w,cox10,slope")
    ap.add_argument("--draws", type=int, default=100)
    ap.add_argument("--tune", type=int, default=30)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    threadpool_limits(1)
    print(f"mmreg: {mmreg.__file__}")
    df = load_coalgov()
    specs = {**MODELS, **SPEED_ONLY}
    for name in args.models.split(","):
        if name == "slope":
            formula, family, options = SLOPE, "Gaussian", {}
        else:
            s = specs[name]
            formula, family, options = s.formula, s.family, s.options
        model = mmreg.MMModel(formula, df, family=family, **options)
        lap = model.fit()
        sim = model.simulate(lap.params, seed=args.seed)
        run = dict(draws=args.draws, tune=args.tune, chains=args.chains, seed=args.seed)
        mc = model.fit(method="mcmc", **run)
        out = {
            "laplace": _h(lap.params, lap.bse, lap.raw.u),
            "loglike": _h([model.loglike(lap.params)]),
            "simulate": _h(*sim.values()),
            "mcmc": _h(mc.raw.u, mc.raw.z, mc.raw.loglik_total),
        }
        if name == "gaus_hm":
            par = model.fit(method="mcmc", cores=2, **run)
            out["mcmc cores=2"] = _h(par.raw.u, par.raw.z, par.raw.loglik_total)
        print(name, " ".join(f"{k}={v}" for k, v in out.items()), flush=True)


if __name__ == "__main__":
    main()
