"""Exact posterior sampling of (ψ, w) by Gibbs steps, for large non-Gaussian models.

The pseudo-marginal sampler (:mod:`mmreg.inference.mcmc`) estimates p(y | ψ) by importance
sampling; the variance of its log-weights grows with the data, and at 100,000 simulated
Weibull groups no Gaussian proposal keeps it workable (``benchmarks/README.md``, "The
importance weights are at the floor of any Gaussian proposal").  This sampler keeps one
particle's normals w in every walker's state instead (the Laplace-whitened latent vector of
:mod:`mmreg.inference.whitened`) and alternates

1. w | ψ: a Hamiltonian step (:func:`~mmreg.inference.whitened.hmc_step`), per walker;
2. ψ | w: one of emcee's Metropolis–Hastings moves with every walker's own w fixed — an
   independence proposal (around the Laplace fit while tuning, then fitted to the tuning
   draws, as the pseudo-marginal sampler's) or a Gaussian random walk.

Both steps leave π(ψ, w) invariant, whose ψ-marginal is the exact posterior, and z of a
kept state is an exact draw of the latent vector.  The ψ-moves are emcee's own
:class:`~emcee.moves.MHMove` objects: they propose for every walker at once, and the
vectorised log-density (:class:`JointDensity`) evaluates walker k at its own w.  emcee's
ensemble moves (stretch, differential evolution) propose from other walkers and evaluate
half the ensemble at a time, so they are not used here.

Reproducible bit for bit: every random number comes from emcee's RandomState, seeded per
chain from the run's seed.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import emcee
import numpy as np

from mmreg.errors import MMDataError
from mmreg.inference.logpost import LogPosterior
from mmreg.inference.moves import LaplaceIndependenceMove
from mmreg.inference.pointwise import draw_loglik
from mmreg.inference.tuning import adapted_moves, capped, fit_points, stage_ends
from mmreg.inference.whitened import Whitened, hmc_step

__all__ = [
    "GibbsRun",
    "JointDensity",
    "LatentGibbsMove",
    "WalkerLatents",
    "fit_gibbs",
    "run_gibbs",
]

#: Share of the ψ-moves that are a Gaussian random walk (the rest: independence
#: proposals), scaled 2.38/√dim × the covariance of the draws (or of the Laplace fit).
RANDOM_WALK = 0.2


class WalkerLatents:
    """Every walker's normals w, the conditional at its current ψ, and the acceptance of
    its Hamiltonian steps."""

    def __init__(self, conds: list[Whitened]):
        self.conds = conds
        dim = conds[0].center.shape[0]
        self.w = np.zeros((len(conds), dim))
        #: Φ_ψ and its gradient at each walker's (ψ, w), once a Hamiltonian step computed
        #: them (None after ψ moved)
        self.at_w: list[tuple[float, np.ndarray] | None] = [None] * len(conds)
        self.pending: list[Whitened | None] = [None] * len(conds)
        self.hmc_accepted = np.zeros(len(conds))
        self.hmc_steps = 0

    def z(self, k: int) -> np.ndarray:
        """Walker k's latent vector."""
        return self.conds[k].z(self.w[k])


class JointDensity:
    """emcee's vectorised log-probability: log π(ψ_k, w_k) for every walker k's proposed
    ψ_k (rows of ``coords``, in walker order), with the walker's current w_k.  The
    conditionals it builds wait in ``latents.pending`` for the move to keep or drop."""

    def __init__(self, logpost: LogPosterior, latents: WalkerLatents):
        self.logpost = logpost
        self.latents = latents

    def __call__(self, coords: np.ndarray) -> np.ndarray:
        lat = self.latents
        out = np.full(len(coords), -np.inf)
        for k, u in enumerate(coords):
            cond = Whitened.at(self.logpost, u)
            lat.pending[k] = cond
            if cond is not None:
                out[k] = cond.log_joint(lat.w[k])
        return out


class LatentGibbsMove(emcee.moves.Move):
    """One Gibbs sweep: a Hamiltonian step of every walker's w, then one ψ-move.

    Parameters
    ----------
    latents : WalkerLatents
        The walkers' w (shared with the sampler's :class:`JointDensity`).
    moves : list of (emcee.moves.MHMove, float)
        ψ-moves and their weights; one is drawn per sweep.
    """

    def __init__(self, latents: WalkerLatents, moves: list):
        self.latents = latents
        self.moves = [m for m, _ in moves]
        wt = np.array([p for _, p in moves], float)
        self.weights = wt / wt.sum()

    def propose(self, model, state):
        lat = self.latents
        for k, cond in enumerate(lat.conds):
            w, f, ok, g = hmc_step(cond, lat.w[k], model.random, start=lat.at_w[k])
            lat.w[k] = w
            lat.at_w[k] = (f, g)
            lat.hmc_accepted[k] += ok
            state.log_prob[k] = cond.log_joint(w, f)
        lat.hmc_steps += 1
        move = self.moves[model.random.choice(len(self.moves), p=self.weights)]
        state, accepted = move.propose(model, state)
        for j in np.flatnonzero(accepted):
            new = lat.pending[j]
            assert new is not None  # an accepted proposal had a finite density
            lat.conds[j] = new
            lat.at_w[j] = None
        lat.pending = [None] * len(lat.conds)
        return state, accepted


def _random_walk(cov: np.ndarray) -> emcee.moves.GaussianMove:
    dim = len(cov)
    return emcee.moves.GaussianMove(capped(cov, 3.0) * 2.38**2 / dim)


def _start(logpost, u_hat, cov_u, nw, rng, tries: int = 50) -> list[Whitened]:
    """Conditionals at walker starting points around the Laplace fit (as the
    pseudo-marginal sampler's start: within 5·dim + 10 of the density at the mode)."""
    dim = len(u_hat)
    cov = capped(2.0 * cov_u, 1.0)
    top = Whitened.at(logpost, u_hat)
    if top is None:
        raise MMDataError(
            "the latent conditional at the Laplace fit failed; check the Laplace fit's warnings"
        )
    floor = top.log_joint(np.zeros_like(top.center)) - 5.0 * dim - 10.0
    out: list[Whitened | None] = [None] * nw
    for _ in range(tries):
        for i in range(nw):
            if out[i] is None:
                c = Whitened.at(logpost, rng.multivariate_normal(u_hat, cov))
                if c is not None and c.log_joint(np.zeros_like(c.center)) > floor:
                    out[i] = c
        if all(c is not None for c in out):
            return out  # type: ignore[return-value]
        cov = cov / 4.0
    raise MMDataError(
        "could not find starting points with a finite posterior around the Laplace fit; "
        "check the weight function and priors (see the Laplace fit's warnings)"
    )


@dataclass(frozen=True)
class GibbsRun:
    """What every chain of a run shares (sent to worker processes with a job)."""

    logpost: LogPosterior
    u_hat: np.ndarray
    cov_u: np.ndarray
    nw: int
    tune: int
    steps: int
    thin: int
    chains: int = 1
    show: bool = False  # a progress bar per chain


def _bar(spec: GibbsRun, c: int):
    """chain ``c``'s tqdm bar counting draws (tuning and kept steps × walkers), or None;
    labelled as the default sampler's (``chain k/n``)."""
    if not spec.show:
        return None
    from tqdm.auto import tqdm

    return tqdm(
        total=(spec.tune + spec.steps) * spec.nw,
        desc=f"chain {c + 1}/{spec.chains}",
        unit="draw",
        position=c,
        dynamic_ncols=True,
    )


def _sampler(spec: GibbsRun, latents: WalkerLatents, moves: list, rs) -> emcee.EnsembleSampler:
    smp = emcee.EnsembleSampler(
        spec.nw,
        len(spec.u_hat),
        JointDensity(spec.logpost, latents),
        moves=[LatentGibbsMove(latents, moves)],
        vectorize=True,
    )
    smp.random_state = rs
    return smp


def chain_job(job):
    """One chain: start, tuning stages (proposals refitted to the draws so far), kept
    steps.  Returns the kept ψ, z and log-likelihood totals, and the acceptance of the
    ψ-moves and of the Hamiltonian steps per walker."""
    from threadpoolctl import threadpool_limits

    spec, c, seed = job
    rng = np.random.default_rng(seed)
    bar = _bar(spec, c)
    try:
        with threadpool_limits(1, user_api="blas"), np.errstate(invalid="ignore", over="ignore"):
            return _chain(spec, rng, bar)
    finally:
        if bar is not None:
            bar.close()


def _steps(smp: emcee.EnsembleSampler, state, n: int, bar):
    """``smp.sample(state, iterations=n)``, moving ``bar`` by the walkers of each step."""
    for out in smp.sample(state, iterations=n):
        if bar is not None:
            bar.update(smp.nwalkers)
        yield out


def _chain(spec: GibbsRun, rng: np.random.Generator, bar=None):
    latents = WalkerLatents(_start(spec.logpost, spec.u_hat, spec.cov_u, spec.nw, rng))
    coords = np.array([c.u for c in latents.conds])
    logp = np.array([c.log_joint(latents.w[k]) for k, c in enumerate(latents.conds)])
    state = emcee.State(coords, log_prob=logp)
    rs = np.random.RandomState(rng.integers(2**31)).get_state()
    moves = [
        (LaplaceIndependenceMove(spec.u_hat, capped(spec.cov_u, 3.0)), 1 - RANDOM_WALK),
        (_random_walk(spec.cov_u), RANDOM_WALK),
    ]
    ends = stage_ends(spec.tune, adapt=True)
    tuning = np.empty((0, spec.nw, len(spec.u_hat)))
    done = 0
    for k, end in enumerate(ends):
        if k > 0:
            moves = _adapted(spec, fit_points(tuning, ends, done))
        smp = _sampler(spec, latents, moves, rs)
        state = deque(_steps(smp, state, end - done, bar), maxlen=1)[0]  # the last
        rs = smp.random_state
        tuning = np.concatenate([tuning, smp.get_chain()])
        done = end
    if len(ends) > 1:
        moves = _adapted(spec, fit_points(tuning, ends, spec.tune))
    latents.hmc_accepted[:] = 0
    latents.hmc_steps = 0
    smp = _sampler(spec, latents, moves, rs)
    S, nw = spec.steps, spec.nw
    kept = -(-S // spec.thin)
    z = np.empty((kept, nw, latents.w.shape[1]))
    ll = np.empty((kept, nw))
    post = spec.logpost.posterior
    for i, _ in enumerate(_steps(smp, state, S, bar)):
        if i % spec.thin:
            continue
        for k, cond in enumerate(latents.conds):
            z[i // spec.thin, k] = zk = latents.z(k)
            ll[i // spec.thin, k] = draw_loglik(post, cond.u, zk, cond.hyper).sum()
    u = smp.get_chain()[:: spec.thin]
    hmc = latents.hmc_accepted / max(latents.hmc_steps, 1)
    return u, z, ll, smp.acceptance_fraction, hmc


def _adapted(spec: GibbsRun, points: np.ndarray) -> list:
    """ψ-moves fitted to tuning draws: the pseudo-marginal sampler's independence proposal
    (:func:`~mmreg.inference.tuning.adapted_moves`) and a random walk."""
    ind = adapted_moves(points, spec.logpost.space.edge_mask)[0][0]
    cov = np.cov(points, rowvar=False).reshape(points.shape[1], points.shape[1])
    return [(ind, 1 - RANDOM_WALK), (_random_walk(cov), RANDOM_WALK)]


def fit_gibbs(
    logpost: LogPosterior,
    laplace,
    walkers: int,
    draws: int,
    tune: int,
    chains: int,
    thin: int,
    cores: int | None,
    show: bool = False,
    why=None,
):
    """The run of ``fit(method="mcmc", latent="gibbs")`` (options checked by
    :func:`~mmreg.inference.mcmc.fit_mcmc`) on ``logpost``, a log posterior with one
    particle (whose importance sampler gives the proposal's mean shift δ) and the run's
    seed; returns an :class:`~mmreg.inference.mcmc.MCMCFit`.  ``why``: the
    :class:`~mmreg.inference.particles.ParticleChoice` measured when ``latent="auto"``
    chose this sampler (kept as the fit's ``particle_choice``)."""
    from mmreg.inference.mcmc import MCMCFit

    steps = -(-draws * thin // walkers)  # ceil
    spec = GibbsRun(logpost, laplace.u, laplace.cov_u, walkers, tune, steps, thin, chains, show)
    rng0 = np.random.default_rng(logpost.seed)
    seeds = [int(rng0.integers(2**63)) for _ in range(chains)]
    u, z, ll, acc, hmc = run_gibbs(spec, seeds, cores)
    return MCMCFit(
        u=u,
        z=z,
        loglik_total=ll,
        acceptance=acc,
        n_chains=chains,
        n_draws=draws,
        tune=tune,
        particles=0,
        log_estimate_sd=0.0,
        laplace=laplace,
        particle_choice=why,
        latent="gibbs",
        latent_acceptance=hmc,
    )


def run_gibbs(spec: GibbsRun, seeds: list[int], cores: int | None = None):
    """Every chain (in ``cores`` worker processes where > 1); returns the stacked
    ``(u, z, loglik_total, acceptance, hmc_acceptance)`` of the chains
    (:func:`~mmreg.inference.mcmc.collect_chains`: the latent draws held once)."""
    from mmreg.inference.mcmc import collect_chains

    jobs = [(spec, c, s) for c, s in enumerate(seeds)]
    if cores is not None and cores > 1 and len(seeds) > 1:
        pat = spec.logpost.latent.pattern
        spawn = pat is not None and pat.uses_cholmod and pat.supernodal
        ctx = multiprocessing.get_context("spawn") if spawn else None
        with ProcessPoolExecutor(max_workers=min(cores, len(seeds)), mp_context=ctx) as ex:
            return collect_chains(ex.map(chain_job, jobs), len(seeds))
    return collect_chains(map(chain_job, jobs), len(seeds))
