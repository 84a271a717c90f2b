"""Scaling: Laplace and MCMC time and peak memory on simulated data of growing size.

    python -m benchmarks.scale [--sizes 1000,10000,100000,300000]
                               [--models gauss,weib,binom,weibest,west,ar]
                               [--mcmc-steps 20] [--sparse cholmod|superlu] [--threads 1]
                               [--full --cores 2 [--waic] [--full-draws 1000,40]
                                [--latent auto|marginal|gibbs]]

Each case runs in a fresh process (peak resident memory is the process's ``ru_maxrss``).
Data: ``simulate_coalitions`` with members ≈ groups/5 and 2–9 members per group, countries
≈ groups/1000 (at least 29).  MCMC cost is reported per ensemble step of 16 walkers
(``--mcmc-steps`` steps after the Laplace start), which is what grows with the data.
``--sparse`` picks the factorisation of one large sparse component (the AR case): CHOLMOD
(default where scikit-sparse is installed) or SciPy's SuperLU; the table says which ran.
``--threads`` sets the BLAS threads of each case (default 1: comparable timings); the
"factorisations" column counts factorisations of H in the Laplace fit.

``--full`` also runs the full posterior at ``fit(method="mcmc", seed=1, cores=...)``'s
defaults (4 chains × 1,000 draws, tune 40; Laplace start included) and reports its wall
time, CPU time (this process and its worker processes), lowest bulk ESS and largest R-hat
over the reported parameters, the importance particles and the SD of the log-likelihood
estimate at the Laplace mode (pseudo-marginal families), the peak resident memory of this
process after the fit and of its largest worker, and the size of the kept draws
(``--waic``: then the time of ``res.waic``, which computes the pointwise log-likelihood;
``peak_mb`` includes it).  ``--latent`` sets ``fit()``'s ``latent`` (default ``auto``, as
``fit()``'s); the "sampler" column says which ran, and for ``gibbs`` (the latent vector
sampled, :mod:`mmreg.inference.latent_gibbs`) the table gives the mean acceptance of its
Hamiltonian steps.
Issue #18: 4 chains, lowest bulk ESS ≥ 400, R-hat < 1.01 in ≤ 10 minutes at 100,000 groups
with ``cores=2``.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

CASES = {
    "gauss": ("gaussian", "equal", False),
    "weib": ("weibull", "equal", False),
    "binom": ("binomial", "equal", False),
    "weibest": ("weibull", "estimated", False),
    "west": ("gaussian", "estimated", False),
    "ar": ("gaussian", "equal", True),
}


def _formula(df, ar: bool) -> str:
    f = df.attrs["formula"]
    if ar:
        f = f.replace("RE = TRUE)", "RE = TRUE, ar = TRUE)")
    return f


def child(argv: list[str]) -> dict:
    """Run one case (called in a subprocess by :func:`benchmarks._util.run_child`)."""
    from threadpoolctl import threadpool_limits

    import mmreg
    from benchmarks._util import scale_data
    from mmreg.inference import cholmod
    from mmreg.inference.pattern import SparsePattern

    threadpool_limits(int(argv[4]))
    cholmod.threads = int(argv[4])  # CHOLMOD would otherwise take every core
    case, n, steps = argv[0], int(argv[1]), int(argv[2])
    SparsePattern.use_cholmod = argv[3] == "cholmod"
    family, weights, ar = CASES[case]
    t0 = time.perf_counter()
    df = scale_data(n, family, weights)
    t_sim = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = mmreg.MMModel(_formula(df, ar), df, family=family)
    t_build = time.perf_counter() - t0
    calls = []
    factor = model.latent.factor
    model.latent.factor = lambda *a, **k: calls.append(1) or factor(*a, **k)
    t0 = time.perf_counter()
    res = model.fit()
    t_fit = time.perf_counter() - t0
    del model.latent.factor  # the class method again
    pat = model.latent.pattern
    if pat is None:
        sparse = "dense"
    elif pat.kind == "cholmod":
        sparse = "cholmod " + ("supernodal" if pat.supernodal else "simplicial")
    else:
        sparse = {"dense": "dense blocks"}.get(pat.kind, pat.kind)
    out = {
        "case": case,
        "groups": n,
        "rows": len(df),
        "latent": model.latent.dim,
        "H_rr": sparse,
        "simulate s": t_sim,
        "build s": t_build,
        "laplace s": t_fit,
        "factorisations": len(calls),
    }
    if len(argv) > 5 and int(argv[5]) > 0:
        import resource

        def cpu() -> float:
            r = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
            return sum(x.ru_utime + x.ru_stime for x in r)

        c0, t0 = cpu(), time.perf_counter()
        draws, tune = (int(x) for x in argv[7].split(",")) if len(argv) > 7 else (1000, 40)
        latent = argv[8] if len(argv) > 8 else "auto"
        full = model.fit(
            method="mcmc", seed=1, cores=int(argv[5]), draws=draws, tune=tune, latent=latent
        )
        out["sampler"] = full.raw.latent  # which ran (latent="auto" chooses)
        out["full wall s"] = time.perf_counter() - t0
        out["full CPU s"] = cpu() - c0
        diag = full.mcmc_diag()
        out["min bulk ESS"] = float(diag["ess_bulk"].min())
        out["max R-hat"] = float(diag["rhat"].max())
        # importance particles (chosen from the estimator's SD unless given) and that SD
        out["particles"] = int(full.raw.particles)
        out["log-est SD"] = float(full.raw.log_estimate_sd)
        choice = full.raw.particle_choice
        if full.raw.latent == "gibbs" and choice is not None:
            out["log-est SD"] = float(choice.sd)  # what made latent="auto" choose it
        if full.raw.latent_acceptance is not None:
            out["HMC acc"] = float(full.raw.latent_acceptance.mean())
        # peak resident memory of this process after the fit, and of the largest worker
        out["fit peak MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out["worker peak MB"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        out["draws MB"] = (full.raw.z.nbytes + full.raw.u.nbytes) / 2**20
        if len(argv) > 6 and argv[6] == "waic":  # the pointwise log-likelihood on demand
            t0 = time.perf_counter()
            out["waic"] = full.waic["waic"]
            out["waic s"] = time.perf_counter() - t0
    if steps:
        from mmreg.inference.mcmc import fit_mcmc

        t0 = time.perf_counter()
        fit_mcmc(model, draws=16, tune=steps, chains=1, walkers=16, seed=1, laplace=res.raw)
        out["mcmc s/step"] = (time.perf_counter() - t0) / (steps + 1)
    return out


def main() -> None:
    from benchmarks._util import machine, run_child

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000,300000")
    ap.add_argument("--models", default=",".join(CASES))
    ap.add_argument("--mcmc-steps", type=int, default=10)
    ap.add_argument(
        "--sparse",
        default="cholmod",
        choices=("cholmod", "superlu"),
        help="factorisation of a large sparse H_rr (cholmod: if installed)",
    )
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads per case")
    ap.add_argument("--full", action="store_true", help="also the full posterior (MCMC)")
    ap.add_argument("--cores", type=int, default=2, help="processes of the full posterior")
    ap.add_argument(
        "--full-draws",
        default="1000,40",
        help="draws,tune of the full posterior (default 1000,40: fit()'s defaults)",
    )
    ap.add_argument(
        "--waic",
        action="store_true",
        help="after the full posterior, time its WAIC (the pointwise log-likelihood)",
    )
    ap.add_argument(
        "--latent",
        default="auto",
        choices=("auto", "marginal", "gibbs"),
        help="fit()'s latent= of the full posterior",
    )
    args = ap.parse_args()
    rows = []
    for case in args.models.split(","):
        for n in map(int, args.sizes.split(",")):
            row = run_child(
                "benchmarks.scale",
                [
                    case,
                    str(n),
                    str(args.mcmc_steps),
                    args.sparse,
                    str(args.threads),
                    str(args.cores if args.full else 0),
                    "waic" if args.waic else "-",
                    args.full_draws,
                    args.latent,
                ],
                threads=args.threads,
            )
            row.setdefault("case", case)
            row.setdefault("groups", n)
            rows.append(row)
            print(row, flush=True)
    print(f"\nScaling (BLAS {args.threads} thread(s), one process per case; {machine()})")
    print(pd.DataFrame(rows).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
