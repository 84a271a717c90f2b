"""Where an MCMC run spends its time, per coalgov reference model (issue #18).

    python -m benchmarks.profile [--models gaus_hm,...] [--draws 1000] [--chains 4]
                                 [--seed 1] [--tune 60] [--cprofile gaus_hm]

One process, BLAS one thread, ``fit(method="mcmc", seed=...)`` at its defaults otherwise.
Every figure is in **CPU seconds** of this process (``time.process_time``), so the table is
meaningful on a loaded machine.  The run is instrumented by wrapping (never changing)
mmreg's functions for the duration of the run:

* phases: model build, Laplace start, walker start-up (``_start``), tuning stages and kept
  phase (``_advance``), latent draws of the kept states (``_latent_draws``), the estimator
  SD (``particles.estimator_sd``), and the rest (results, diagnostics: "other");
* inside the log-density evaluations (``LogPosterior._evaluate``): the Newton search of the
  conditional mode (``LatentModel.mode``; iterations per evaluation), factorisations of H
  (``LatentModel.factor``), design assembly (``LatentModel.assemble``), importance sampling
  (``ImportanceSampler.estimate``, of which the mean shift ``shift``), and per-walker
  Python overhead (evaluation time outside these);
* the sampler: kept-phase acceptance (mean over walkers), the integrated autocorrelation
  time τ of each hyperparameter (emcee's estimate on the kept steps, in ensemble steps),
  the SD of the log-likelihood estimate at the Laplace mode (pseudo-marginal families),
  the lowest bulk ESS and lowest-ESS per CPU second of the whole call.

``--cprofile NAME`` also prints cProfile's 25 most expensive functions (cumulative) for
model ``NAME``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections import defaultdict
from contextlib import ExitStack, contextmanager

import emcee
import numpy as np
import pandas as pd

import mmreg
from benchmarks._util import coalgov_or_none, machine
from mmreg.inference import chains as chains_mod
from mmreg.inference import importance as importance_mod
from mmreg.inference import latent as latent_mod
from mmreg.inference import mcmc as mcmc_mod
from mmreg.inference import particles as particles_mod
from validation.reference_models import MODELS, SPEED_ONLY

DEFAULT_MODELS = "gaus_hm,gaus_w,weib_eq,binom_hm,cox10,weib_hm,weib_w,gaus_ar"


class Clock:
    """Exclusive-free CPU timers keyed by name, with call counters."""

    def __init__(self) -> None:
        self.t: dict[str, float] = defaultdict(float)
        self.n: dict[str, int] = defaultdict(int)
        self.extra: dict[str, float] = defaultdict(float)

    def wrap(self, owner, attr: str, key: str, post=None):
        orig = getattr(owner, attr)
        clock = self

        def wrapped(*a, **kw):
            t0 = time.process_time()
            try:
                out = orig(*a, **kw)
            finally:
                clock.t[key] += time.process_time() - t0
                clock.n[key] += 1
            if post is not None:
                post(out)
            return out

        return orig, wrapped


@contextmanager
def patched(owner, attr: str, new):
    old = owner.__dict__[attr] if attr in owner.__dict__ else getattr(owner, attr)
    setattr(owner, attr, new)
    try:
        yield
    finally:
        setattr(owner, attr, old)


def _instrument(stack: ExitStack, clock: Clock) -> None:
    LM, LP = latent_mod.LatentModel, mcmc_mod.LogPosterior
    IS = importance_mod.ImportanceSampler

    def count_newton(mode):
        clock.extra["newton"] += mode.iterations

    def after_laplace(_):  # Newton/factor work of the Laplace fit is not per evaluation
        for k in ("mode", "factor", "assemble"):
            clock.t[k] = 0.0
            clock.n[k] = 0
        clock.extra["newton"] = 0.0

    for owner, attr, key, post in [
        (LM, "mode", "mode", count_newton),
        (LM, "factor", "factor", None),
        (LM, "assemble", "assemble", None),
        (IS, "estimate", "importance", None),
        (IS, "shift", "mean_shift", None),
        (LM, "draw_conditional", "draw_conditional", None),
        (LP, "_evaluate", "evaluate", None),  # every evaluation, called or not
        (mcmc_mod, "fit_laplace", "laplace", after_laplace),
        (chains_mod, "_start", "start", None),
        (chains_mod, "_latent_draws", "latent_draws", None),
        (particles_mod, "estimator_sd", "estimator_sd", None),
    ]:
        _, w = clock.wrap(owner, attr, key, post)
        stack.enter_context(patched(owner, attr, w))

    # a batched step (LogPosterior.batch of a Gaussian model) counts one evaluation per
    # point; where it is not batchable it calls _evaluate, which counts itself
    orig_batch = LP.batch

    def batch(self, us):
        if not self.batchable:
            return orig_batch(self, us)
        t0 = time.process_time()
        try:
            return orig_batch(self, us)
        finally:
            clock.t["evaluate"] += time.process_time() - t0
            clock.n["evaluate"] += len(us)

    stack.enter_context(patched(LP, "batch", batch))

    # tuning stages vs kept phase: _advance is called once per stage, the last is kept
    orig_adv = chains_mod._advance

    def adv(smp, state, n, bar, at):
        t0 = time.process_time()
        e0 = clock.n["evaluate"]
        orig_adv(smp, state, n, bar, at)
        clock.extra.setdefault("phases", 0)
        clock.extra["phases"] += 1
        clock.t["_adv_last"] = time.process_time() - t0
        clock.n["_adv_last_evals"] = clock.n["evaluate"] - e0
        clock.t["advance"] += clock.t["_adv_last"]
        clock.n["advance_evals"] += clock.n["_adv_last_evals"]

    stack.enter_context(patched(chains_mod, "_advance", adv))

    # the kept phase is the last _advance of each chain: remember it per chain
    orig_run = chains_mod._kept_phase

    def kept_phase(*a, **kw):
        out = orig_run(*a, **kw)
        clock.t["kept"] += clock.t["_adv_last"]
        clock.n["kept_evals"] += clock.n["_adv_last_evals"]
        return out

    stack.enter_context(patched(chains_mod, "_kept_phase", kept_phase))


def profile_model(
    name: str, df: pd.DataFrame, draws: int, chains: int, seed: int, prof=None, tune=None
):
    spec = {**MODELS, **SPEED_ONLY}[name]
    clock = Clock()
    with ExitStack() as stack:
        _instrument(stack, clock)
        if prof is not None:
            prof.enable()
        c0 = time.process_time()
        model = mmreg.MMModel(spec.formula, df, family=spec.family, **spec.options)
        c1 = time.process_time()
        opts = {} if tune is None else {"tune": tune}
        res = model.fit(method="mcmc", draws=draws, chains=chains, seed=seed, **opts)
        c2 = time.process_time()
        diag = res.mcmc_diag()
        c3 = time.process_time()
        if prof is not None:
            prof.disable()
    raw = res.raw
    total = c3 - c0
    t, n = clock.t, clock.n
    tune_s = t["advance"] - t["kept"]
    ev = max(n["evaluate"], 1)
    # evaluations in _start / estimator SD / latent draws are outside _advance
    inside = t["mode"] + t["importance"]
    u = raw.u  # (chains, steps, walkers, dim)
    taus = []
    for c in range(u.shape[0]):
        taus.append(emcee.autocorr.integrated_time(u[c], quiet=True))
    tau = np.mean(taus, axis=0)
    ess = diag["ess_bulk"].min()
    row = {
        "model": name,
        "hyper dim": u.shape[-1],
        "walkers": u.shape[2],
        "particles": raw.particles,
        "CPU s total": total,
        "build": c1 - c0,
        "Laplace": t["laplace"],
        "walker start": t["start"],
        "tuning": tune_s,
        "kept": t["kept"],
        "latent draws": t["latent_draws"],
        "est. SD": t["estimator_sd"],
        "other": total
        - (c1 - c0)
        - t["laplace"]
        - t["start"]
        - t["advance"]
        - t["latent_draws"]
        - t["estimator_sd"],
        "evals": n["evaluate"],
        "ms/eval": 1e3 * t["evaluate"] / ev,
        "Newton ms/eval": 1e3 * (t["mode"] - 0) / ev,
        "Newton it/eval": clock.extra["newton"] / max(n["mode"], 1),
        "factor/eval": n["factor"] / ev,
        "ms/factor": 1e3 * t["factor"] / max(n["factor"], 1),
        "IS ms/eval": 1e3 * t["importance"] / ev,
        "shift ms/eval": 1e3 * t["mean_shift"] / ev,
        "assemble ms/eval": 1e3 * t["assemble"] / ev,
        "overhead ms/eval": 1e3 * (t["evaluate"] - inside) / ev,
        "log-est SD": raw.log_estimate_sd,
        "acceptance": float(np.mean(raw.acceptance)),
        "tau max": float(np.max(tau)),
        "tau": " ".join(f"{x:.1f}" for x in tau),
        "min ESS": float(ess),
        "median ESS": float(diag["ess_bulk"].median()),
        "ESS/CPU s": float(ess / (c2 - c0)),
        "max R-hat": float(diag["rhat"].max()),
    }
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=DEFAULT_MODELS)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tune", type=int, default=None, help="default: fit_mcmc's")
    ap.add_argument("--cprofile", default="", help="print cProfile's top functions for this")
    args = ap.parse_args()
    df = coalgov_or_none()
    if df is None:
        return
    rows = []
    for name in args.models.split(","):
        prof = cProfile.Profile() if name == args.cprofile else None
        rows.append(profile_model(name, df, args.draws, args.chains, args.seed, prof, args.tune))
        if prof is not None:
            print(f"\ncProfile of {name} (cumulative, top 25):")
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        print(pd.Series(rows[-1]).to_string(), flush=True)
    out = pd.DataFrame(rows).set_index("model")
    print(
        f"\nMCMC profile, {args.chains} chains x {args.draws} draws, seed {args.seed}, one "
        f"process, BLAS 1 thread, CPU seconds ({machine()})"
    )
    with pd.option_context("display.width", 250, "display.max_columns", 50):
        print(out.T.round(3).to_string())


if __name__ == "__main__":
    main()
