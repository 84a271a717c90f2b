"""One chain of :func:`~mmreg.inference.mcmc.fit_mcmc`: start, tune, sample, latent draws.

:func:`chain_job` runs one independent ensemble from start to finish (in this process or a
worker process of ``cores=``): walker starting points around the Laplace fit
(:func:`_start`), staged tuning with adapted proposals and the kept phase
(:func:`_run_chain`, moves from :mod:`mmreg.inference.tuning`), with an optional progress
bar, and the latent draw and log-likelihood of every kept state (:func:`_latent_draws`).
The density it samples is a :class:`~mmreg.inference.logpost.LogPosterior`.
"""

from __future__ import annotations

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

__all__ = ["chain_job"]


def _start(logpost, u_hat, cov_u, nw, rng, tries: int = 50) -> np.ndarray:
    """Walker starting points around the Laplace fit, all in the bulk of the posterior."""
    dim = len(u_hat)
    cov = capped(2.0 * cov_u, 1.0)
    floor = logpost(u_hat)[0] - 5.0 * dim - 10.0  # far below the mode: start again
    p0 = rng.multivariate_normal(u_hat, cov, size=nw)
    for _ in range(tries):
        bad = [i for i in range(nw) if not logpost(p0[i])[0] > floor]
        if not bad:
            return p0
        cov = cov / 4.0  # move closer to the mode
        p0[bad] = rng.multivariate_normal(u_hat, cov, size=len(bad))
    raise MMDataError(
        "could not find starting points with a finite posterior around the Laplace fit; "
        "check the weight function and priors (see the Laplace fit's warnings)"
    )


def chain_job(job):
    """One chain: sample, thin, and draw the latent vector of every kept state."""
    (
        logpost,
        u_hat,
        cov_u,
        nw,
        tune,
        steps,
        thin,
        cseed,
        moves,
        adapt,
        pool,
        backends,
        progress,
    ) = job
    from threadpoolctl import threadpool_limits

    crng = np.random.default_rng(cseed)
    # one BLAS thread also in worker processes (cores=); emcee's (-inf) - (-inf) is harmless
    with threadpool_limits(1, user_api="blas"), np.errstate(invalid="ignore", over="ignore"):
        chain, blob, af = _run_chain(
            logpost, u_hat, cov_u, nw, tune, steps, crng, moves, adapt, pool, backends, progress
        )
    u = chain[::thin]
    z, ll = _latent_draws(logpost.posterior, logpost, u[None], blob[::thin][None])
    return u, z[0], ll[0], af


def _sampler(logpost, nw, moves, pool, backend, rng):
    dim = logpost.space.dim
    blobs: list[tuple] = [("seed", np.uint64)]
    if logpost.keep_z:
        blobs.append(("z", np.float64, (logpost.latent.dim,)))
    smp = emcee.EnsembleSampler(
        nw, dim, logpost, moves=moves, pool=pool, backend=backend, blobs_dtype=blobs
    )
    smp.random_state = np.random.RandomState(rng.integers(2**31)).get_state()
    return smp


def _run_chain(logpost, u_hat, cov_u, nw, tune, steps, rng, moves, adapt, pool, backends, progress):
    """One ensemble: staged tuning with an adapted independence proposal, kept steps.

    Tuning starts around the Laplace fit with :func:`default_moves`; with ``adapt`` it
    runs in stages (:func:`stage_ends`) and every later stage proposes from
    :func:`adapted_moves` fitted to the draws before it (:func:`fit_points`): the
    Laplace approximation can be poor (e.g. SDs of binomial models), and a proposal fitted
    to adapted draws is better than one fitted to the burn-in.  The kept phase uses moves
    fitted to all adapted tuning draws and never changes them, so it is a valid Markov
    chain.  With checkpoint backends each stage resumes where it stopped.

    Measured on coalgov weib_hm (2 chains × 1000 draws, seeds 1–4): three stages of 10
    steps gave the same kept-phase acceptance (0.57–0.65) and about the same lowest ESS
    (mean 382) as 100 steps in one stage (0.59–0.60, 511) in 60% of the time.
    """
    tb, kb = backends if backends is not None else (emcee.backends.Backend(), None)
    tuning = logpost.without_z()  # tuning states are never kept: no latent draws
    ends = stage_ends(tune, adapt)
    bar = _progress_bar(progress, (max(ends, default=0) + steps) * nw)
    for k, end in enumerate(ends):
        done = tb.iteration if tb.initialized else 0
        if done >= end:
            continue
        mv = (
            (moves or default_moves(u_hat, cov_u))
            if k == 0
            else adapted_moves(fit_points(tb.get_chain(), ends, ends[k - 1]))
        )
        st = _sampler(tuning, nw, mv, pool, tb, rng)
        p0 = _start(tuning, u_hat, cov_u, nw, rng) if done == 0 else None
        _advance(st, p0, end - done, bar, done * nw)
    if ends:
        last = tb.get_last_sample()
        state = emcee.State(last.coords, log_prob=last.log_prob, blobs=_kept_blobs(logpost, last))
    else:
        state = _start(tuning, u_hat, cov_u, nw, rng)
    if len(ends) > 1:  # adapted stages: the kept phase proposes from a fit to their draws
        mv = adapted_moves(fit_points(tb.get_chain(), ends, tune))
    else:
        mv = moves or default_moves(u_hat, cov_u)
    sk = _sampler(logpost, nw, mv, pool, kb, rng)
    done = kb.iteration if kb is not None and kb.initialized else 0
    at = (max(ends, default=0) + done) * nw  # draws before this call (tuning, resumed)
    if done == 0:
        _advance(sk, state, steps, bar, at)
    elif done < steps:
        _advance(sk, None, steps - done, bar, at)
    if bar is not None:
        bar.close()
    chain = sk.get_chain()[:steps]
    blobs = sk.get_blobs()[:steps]
    return chain, blobs, sk.acceptance_fraction


def _kept_blobs(logpost: LogPosterior, last) -> np.ndarray:
    """Blobs of the last tuning state as the kept phase stores them.

    Tuning stores only the seed of each evaluation; when the kept phase also stores the
    latent draw, the walkers' current states are evaluated again (seeded by the state, so
    the same log-density value and the draw the kept phase would have made).
    """
    if not logpost.keep_z:
        return last.blobs
    out = np.empty(
        len(last.coords), dtype=[("seed", np.uint64), ("z", np.float64, (logpost.latent.dim,))]
    )
    for i, u in enumerate(last.coords):
        _, out["seed"][i], out["z"][i] = logpost(u)
    return out


def _progress_bar(progress, total: int):
    """One tqdm bar for a chain (``progress`` is ``(chain, chains)``), or None."""
    if progress is None:
        return None
    from tqdm.auto import tqdm

    c, chains = progress
    return tqdm(
        total=total,
        desc=f"chain {c + 1}/{chains}",
        unit="draw",
        position=c,
        leave=True,
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

    z comes from the blobs when the sampler kept it; otherwise it is regenerated (the
    evaluation is seeded by the state, so the same particles and the same z come back).
    The pointwise log-likelihood is not kept (its size is groups × draws): the results
    recompute it from u and z with the same :func:`~mmreg.inference.pointwise.draw_loglik`.
    """
    C, S, W, _ = u.shape
    lat = posterior.latent
    stored = blobs.dtype.names is not None and "z" in blobs.dtype.names
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
                if stored:
                    zz = blobs["z"][c, s, w]
                else:
                    _, _, zz = logpost.evaluate(u[c, s, w], want_z=True)
                if zz is None or not np.all(np.isfinite(zz)):  # not for an accepted state
                    raise RuntimeError(f"kept state {u[c, s, w]} has no latent draw")
                z[c, s, w] = zz
                ll[c, s, w] = draw_loglik(posterior, u[c, s, w], zz).sum()
    return z, ll
