"""The chains of :func:`~mmreg.inference.mcmc.fit_mcmc`: start, tune, sample, latent draws.

:func:`run_chains` runs the independent ensembles of a run (in this process or in worker
processes of ``cores=``) phase by phase: walker starting points around the Laplace fit
(:func:`_start`); tuning in stages (:func:`tune_job`, all chains in lockstep) whose
proposals after the first are fitted to the draws of every chain so far; the kept phase
(:func:`kept_job`) with a proposal fitted to all adapted tuning draws and never changed, so
it is a valid Markov chain; and the latent draw and log-likelihood of every kept state
(:func:`_latent_draws`).  Moves come from :mod:`mmreg.inference.tuning`; the density is a
:class:`~mmreg.inference.logpost.LogPosterior`.  With checkpoint backends every phase
resumes where it stopped.

Measured on coalgov weib_hm (2 chains × 1000 draws, seeds 1–4, session 4): three stages of
10 steps gave the same kept-phase acceptance (0.57–0.65) and about the same lowest ESS (mean
382) as 100 steps in one stage (0.59–0.60, 511) in 60% of the time.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import emcee
import numpy as np

from mmreg.errors import MMDataError
from mmreg.inference.logpost import LogPosterior
from mmreg.inference.pointwise import draw_loglik
from mmreg.inference.tuning import (
    adapted_moves,
    capped,
    default_moves,
    fit_points,
    stage_ends,
)

__all__ = ["ChainRun", "RunSpec", "kept_job", "run_chains", "tune_job"]


def _start(logpost, u_hat, cov_u, nw, rng, tries: int = 50) -> np.ndarray:
    """Walker starting points around the Laplace fit, all in the bulk of the posterior."""
    dim = len(u_hat)
    cov = capped(2.0 * cov_u, 1.0)
    floor = logpost(u_hat)[0] - 5.0 * dim - 10.0  # far below the mode: start again
    p0 = rng.multivariate_normal(u_hat, cov, size=nw)
    for _ in range(tries):
        vals = [r[0] for r in logpost.batch(p0)]  # the walkers together where that shares work
        bad = [i for i in range(nw) if not vals[i] > floor]
        if not bad:
            return p0
        cov = cov / 4.0  # move closer to the mode
        p0[bad] = rng.multivariate_normal(u_hat, cov, size=len(bad))
    raise MMDataError(
        "could not find starting points with a finite posterior around the Laplace fit; "
        "check the weight function and priors (see the Laplace fit's warnings)"
    )


@dataclass(frozen=True)
class RunSpec:
    """What every chain of a run shares (read-only; sent to worker processes with a job)."""

    logpost: LogPosterior
    u_hat: np.ndarray  # Laplace mode of ψ (unconstrained)
    cov_u: np.ndarray  # its Laplace covariance
    nw: int  # walkers
    tune: int
    steps: int  # kept ensemble steps
    thin: int
    moves: object  # the user's emcee moves, or None (mmreg's, adapted)
    adapt: bool
    pool: object  # a walker-level pool (``pool=``), or None
    chains: int
    show: bool  # progress bars
    # jobs run in worker processes (cores=): each collects the last job's copy of the model
    in_workers: bool = False

    @property
    def ends(self) -> list[int]:
        """Cumulative ends of the tuning stages (:func:`stage_ends`)."""
        return stage_ends(self.tune, self.adapt)


@dataclass
class ChainRun:
    """One chain's own state between the phases of a run: its random numbers and its
    tuning and kept-phase backends (in memory, or a checkpoint's)."""

    c: int
    rng: np.random.Generator
    tuning: Any  # an emcee backend
    kept: Any = None  # an emcee backend, or None (the sampler's own, in memory)

    @classmethod
    def new(cls, c: int, seed: int, backends) -> ChainRun:
        tb, kb = backends if backends is not None else (emcee.backends.Backend(), None)
        return cls(c, np.random.default_rng(seed), tb, kb)


def run_chains(spec: RunSpec, runs: list[ChainRun], map_fn):
    """All chains of a run: tuning stages in lockstep, then the kept phases.

    Every tuning stage after the first, and the kept phase, proposes from a distribution
    fitted to the draws of *all* chains before it (:func:`fit_points` of each chain,
    pooled): four chains give the kernel estimate four times the points of one.  Each
    chain stays a valid Markov chain (its kept-phase proposal is fixed before its kept
    phase starts), and the chains are still started apart, so R-hat keeps its meaning.
    Measured on coalgov (4 chains × 1,000 draws, seeds 1–4; see ``benchmarks/README.md``,
    "Pooled tuning"): with the pooled proposals 40 tuning steps do better than 60 did
    (30 left one model's R-hat above 1.01).
    ``map_fn`` maps a job function over a list (``map``, or an executor's, for ``cores``);
    returns an iterator of each chain's ``(u, z, loglik_total, acceptance)``.
    """
    ends = spec.ends
    first = [spec.moves or default_moves(spec.u_hat, spec.cov_u)] * len(runs)
    mvs = first
    for k in range(len(ends)):
        if k > 0:
            mvs = _adapted(spec, runs, ends[k - 1])
        runs = list(map_fn(tune_job, [(spec, r, k, mv) for r, mv in zip(runs, mvs, strict=True)]))
    # adapted stages: the kept phase proposes from a fit to their draws
    mvs = _adapted(spec, runs, spec.tune) if len(ends) > 1 else first
    return map_fn(kept_job, [(spec, r, mv) for r, mv in zip(runs, mvs, strict=True)])


#: Fit adapted proposals to the tuning draws of every chain (False: each chain's own, as
#: before session 10; kept to compare the two and to reproduce older runs).
POOL = True


def _adapted(spec: RunSpec, runs: list[ChainRun], upto: int) -> list:
    """The adapted moves of every chain, fitted to the draws before step ``upto``."""
    pts = [fit_points(r.tuning.get_chain(), spec.ends, upto) for r in runs]
    at_edge = spec.logpost.space.edge_mask
    if not POOL:
        return [adapted_moves(p, at_edge) for p in pts]
    return [adapted_moves(np.concatenate(pts), at_edge)] * len(runs)


def tune_job(job) -> ChainRun:
    """Tuning stage ``k`` of one chain (skipped when its checkpoint already holds it)."""
    spec, run, k, moves = job
    end = spec.ends[k]
    done = run.tuning.iteration if run.tuning.initialized else 0
    if done >= end:
        return run
    with _quiet(spec):
        tuning = spec.logpost.without_z()  # tuning states are never kept: no latent draws
        st = _sampler(tuning, spec.nw, moves, spec.pool, run.tuning, run.rng)
        p0 = _start(tuning, spec.u_hat, spec.cov_u, spec.nw, run.rng) if done == 0 else None
        bar = _progress_bar(spec, run.c, leave=False)
        _advance(st, p0, end - done, bar, done * spec.nw)
        if bar is not None:
            bar.close()
    return run


def kept_job(job):
    """The kept phase of one chain, thinned, with the latent draw of every kept state."""
    spec, run, moves = job
    with _quiet(spec):
        chain, blob, af = _kept_phase(spec, run, moves)
        u = chain[:: spec.thin]
        z, ll = _latent_draws(
            spec.logpost.posterior, spec.logpost, u[None], blob[:: spec.thin][None]
        )
    return u, z[0], ll[0], af


@contextmanager
def _quiet(spec: RunSpec):
    """One BLAS thread (also in worker processes of ``cores=``); emcee's (-inf) - (-inf)
    is harmless.  A worker process runs one phase after another, each with its own copy of
    the model: the last phase's copy (held in reference cycles) is collected first (at
    100,000 groups: worker peak 2.7 → 1.7 GB; in one process, where no copy is made, a
    collection would only cost ~50 ms per phase)."""
    import gc

    from threadpoolctl import threadpool_limits

    if spec.in_workers:
        gc.collect()
    with threadpool_limits(1, user_api="blas"), np.errstate(invalid="ignore", over="ignore"):
        yield


def _kept_phase(spec: RunSpec, run: ChainRun, moves):
    """The kept steps, from the last tuning state (or from fresh starting points without
    tuning); with a checkpoint they resume where they stopped."""
    logpost, nw, steps = spec.logpost, spec.nw, spec.steps
    ends = spec.ends
    if ends:
        last = run.tuning.get_last_sample()
        state = emcee.State(last.coords, log_prob=last.log_prob, blobs=_kept_blobs(logpost, last))
    else:
        state = _start(logpost.without_z(), spec.u_hat, spec.cov_u, nw, run.rng)
    sk = _sampler(logpost, nw, moves, spec.pool, run.kept, run.rng)
    kb = run.kept
    done = kb.iteration if kb is not None and kb.initialized else 0
    at = (max(ends, default=0) + done) * nw  # draws before this call (tuning, resumed)
    bar = _progress_bar(spec, run.c, leave=True)
    if done == 0:
        _advance(sk, state, steps, bar, at)
    elif done < steps:
        _advance(sk, None, steps - done, bar, at)
    if bar is not None:
        bar.close()
    return sk.get_chain()[:steps], sk.get_blobs()[:steps], sk.acceptance_fraction


def _sampler(logpost, nw, moves, pool, backend, rng):
    dim = logpost.space.dim
    blobs: list[tuple] = [("seed", np.uint64)]
    if logpost.keep_z:
        blobs += _z_blobs(logpost)
    # without a pool, a step's walkers are evaluated together where that shares work (the
    # same numbers, bit for bit: LogPosterior.batch)
    batch = pool is None and logpost.batchable
    smp = emcee.EnsembleSampler(
        nw,
        dim,
        logpost.batch if batch else logpost,
        moves=moves,
        pool=pool,
        backend=backend,
        blobs_dtype=blobs,
        vectorize=batch,
    )
    smp.random_state = np.random.RandomState(rng.integers(2**31)).get_state()
    return smp


def _kept_blobs(logpost: LogPosterior, last) -> np.ndarray:
    """Blobs of the last tuning state as the kept phase stores them.

    Tuning stores only the seed of each evaluation; when the kept phase also stores the
    latent draw, the walkers' current states are evaluated again (seeded by the state, so
    the same log-density value and the draw the kept phase would have made).
    """
    if not logpost.keep_z:
        return last.blobs
    out = np.empty(len(last.coords), dtype=[("seed", np.uint64), *_z_blobs(logpost)])
    for i, (_, *blob) in enumerate(logpost.batch(last.coords)):
        out["seed"][i], out["z"][i], out["ll"][i] = blob
    return out


def _z_blobs(logpost: LogPosterior) -> list[tuple]:
    """The blob fields of a kept-phase evaluation besides its seed: the latent draw and its
    log-likelihood (:meth:`LogPosterior.__call__ <mmreg.inference.logpost.LogPosterior>`)."""
    return [("z", np.float64, (logpost.latent.dim,)), ("ll", np.float64)]


def _progress_bar(spec: RunSpec, c: int, leave: bool):
    """One tqdm bar for chain ``c`` counting its draws (tuning and kept steps × walkers),
    or None; a bar per phase, the kept phase's left on screen."""
    if not spec.show:
        return None
    from tqdm.auto import tqdm

    return tqdm(
        total=(max(spec.ends, default=0) + spec.steps) * spec.nw,
        desc=f"chain {c + 1}/{spec.chains}",
        unit="draw",
        position=c,
        leave=leave,
        dynamic_ncols=True,
    )


def _advance(smp, state, n: int, bar, at: int) -> None:
    """``smp.run_mcmc(state, n)``, updating ``bar`` by the walkers of every step (draws).

    The bar first moves to ``at`` draws (those of earlier stages, or stored in a resumed
    checkpoint).  Without a bar this is exactly ``run_mcmc``.
    """
    if bar is None:
        smp.run_mcmc(state, n, progress=False)
        return
    if at > bar.n:
        bar.update(at - bar.n)
    if state is None:  # resume: what run_mcmc(None) uses on a sampler with a stored backend
        state = smp.get_last_sample()
    for _ in smp.sample(state, iterations=n):
        bar.update(smp.nwalkers)


def _latent_draws(posterior, logpost: LogPosterior, u: np.ndarray, blobs: np.ndarray):
    """z of every kept state and its log-likelihood (summed over the groups).

    z and its log-likelihood come from the blobs when the sampler kept them; otherwise z
    is regenerated (the evaluation is seeded by the state, so the same particles and the
    same z come back) and its log-likelihood computed here.
    The pointwise log-likelihood is not kept (its size is groups × draws): the results
    recompute it from u and z with the same :func:`~mmreg.inference.pointwise.draw_loglik`.
    """
    C, S, W, _ = u.shape
    lat = posterior.latent
    stored = blobs.dtype.names is not None and "z" in blobs.dtype.names
    if stored:
        # the blobs of every kept state are its own (emcee keeps a rejected walker's
        # blob with its state): their fields as they are, copied once by the caller
        z, ll = blobs["z"], blobs["ll"]
        if not np.all(np.isfinite(z)):  # not for an accepted state
            c, s, w = np.argwhere(~np.isfinite(z).all(axis=-1))[0]
            raise RuntimeError(f"kept state {u[c, s, w]} has no latent draw")
        return z, ll
    z = np.empty((C, S, W, lat.dim))
    ll = np.empty((C, S, W))
    seen: dict[bytes, tuple[int, int, int]] = {}
    for c in range(C):
        for s in range(S):
            for w in range(W):
                key = u[c, s, w].tobytes()
                if key in seen:  # a rejected move repeats the state: same seed, same z
                    z[c, s, w], ll[c, s, w] = z[seen[key]], ll[seen[key]]
                    continue
                seen[key] = (c, s, w)
                _, _, zz = logpost.evaluate(u[c, s, w], want_z=True)
                if zz is None or not np.all(np.isfinite(zz)):  # not for an accepted state
                    raise RuntimeError(f"kept state {u[c, s, w]} has no latent draw")
                z[c, s, w] = zz
                ll[c, s, w] = draw_loglik(posterior, u[c, s, w], zz).sum()
    return z, ll
