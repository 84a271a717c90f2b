"""Exact posterior sampling with emcee on the hyperparameters.

emcee's ensemble moves mix well in a handful of dimensions, so the sampler runs on the free
hyperparameters ψ only (unconstrained scale, with the log-Jacobian).  The latent vector z
(coefficients and random effects) is handled exactly:

* Gaussian family: log p(y | ψ) is computed exactly (Laplace is exact), and z is drawn from
  its exact Gaussian conditional N(ẑ, H⁻¹) for every kept state.
* other families: p(y | ψ) is estimated without bias by importance sampling with K
  antithetic draws from the Laplace Gaussian (pseudo-marginal MCMC: emcee keeps each
  walker's stored estimate, as pseudo-marginal Metropolis–Hastings requires), and z for a
  kept state is one of its K particles, resampled by importance weight.

Every evaluation's randomness is seeded from the evaluated point and the run's seed, so a
run is reproducible bit for bit and identical with or without a ``pool``; the kept states'
particles are regenerated afterwards from the same seeds instead of being stored.

This module drives a run: it checks the options, fixes the seed, opens the checkpoints,
runs the chains (here or in worker processes) and assembles the :class:`MCMCFit`.  The
density evaluated for every walker is :class:`~mmreg.inference.logpost.LogPosterior`
(``logpost.py``); the chains — start, staged tuning (all chains in step, proposals fitted
to every chain's draws), kept phase, latent draws — are
:func:`~mmreg.inference.chains.run_chains` (``chains.py``), with the proposals of
``tuning.py`` and ``moves.py``.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass

import numpy as np

from mmreg.inference.backend import open_backends, run_lock, run_settings, stored_seed
from mmreg.inference.chains import ChainRun, RunSpec, run_chains
from mmreg.inference.laplace import fit_laplace
from mmreg.inference.logpost import LogPosterior, as_posterior
from mmreg.inference.options import check_fit_options
from mmreg.inference.particles import ParticleChoice, choose_particles, estimator_sd

__all__ = ["MCMCFit", "LogPosterior", "fit_mcmc"]


@dataclass
class MCMCFit:
    """Raw output of :func:`fit_mcmc` (wrapped by ``MCMCResults``)."""

    u: np.ndarray  # (chains, steps, walkers, dim) kept unconstrained hyperparameters
    z: np.ndarray  # (chains, steps, walkers, dim_z) latent draws
    # (chains, steps, walkers) log-likelihood of every draw (its sum over the groups; the
    # pointwise values are computed from u and z on demand: mmreg.inference.pointwise)
    loglik_total: np.ndarray
    acceptance: np.ndarray  # (chains, walkers)
    n_chains: int
    n_draws: int
    tune: int
    particles: int
    log_estimate_sd: float  # SD of the log-likelihood estimator at the Laplace mode
    laplace: object
    # how the particles were chosen (mmreg.inference.particles); None: not recorded
    particle_choice: ParticleChoice | None = None
    # how the latent vector was handled: "marginal" (integrated out: collapsed or
    # pseudo-marginal) or "gibbs" (sampled with ψ, mmreg.inference.latent_gibbs)
    latent: str = "marginal"
    # "gibbs": acceptance of the Hamiltonian steps of the latent vector (chains, walkers)
    latent_acceptance: np.ndarray | None = None


#: Largest latent dimension for which the sampler keeps every kept-phase evaluation's
#: latent draw (an emcee blob: 8 bytes × dim per walker and kept step, as much as the
#: output's own latent draws) instead of evaluating the kept states again afterwards.  A
#: draw costs one sample from the factor, a second evaluation a factorisation: coalgov
#: gaus_ar (2,109 latent effects) spent 29% of its CPU time re-evaluating kept states
#: with the former limit of 1,000.
KEEP_Z_MAX = 20_000


def keeps_latent(model) -> bool:
    """Whether the sampler stores the latent draw of every evaluation (small models)."""
    return model.latent.dim <= KEEP_Z_MAX


def sampler_layout(model) -> str:
    """What the sampler stores besides the chain (part of a checkpoint's fingerprint):
    the seed of every evaluation, and for small models the latent draw of every kept-phase
    evaluation and its log-likelihood (tuning stores seeds only)."""
    return f"blobs=seed{',z,ll(kept)' if keeps_latent(model) else ''}"


def _default_walkers(dim: int) -> int:
    w = max(16, 2 * dim + 2)
    return w + (w % 2)


def fit_mcmc(
    posterior,
    draws: int = 1000,
    tune: int = 40,
    chains: int = 4,
    thin: int = 1,
    seed: int | None = None,
    progress: bool | None = None,
    backend: str | None = None,
    pool=None,
    cores: int | None = None,
    walkers: int | None = None,
    particles: int | None = None,
    moves=None,
    laplace=None,
    start=None,
    latent: str = "auto",
) -> MCMCFit:
    """Sample the exact posterior.

    Parameters
    ----------
    posterior : Posterior
        The posterior to sample (:attr:`MMModel.posterior <mmreg.MMModel.posterior>`; a
        model is accepted too).
    draws : int
        Kept draws per chain (walkers flattened, after thinning).
    tune : int
        Ensemble steps discarded at the start of each chain.  They run in up to three
        stages, each with a proposal fitted to the draws of every chain before it (see
        :func:`~mmreg.inference.chains.run_chains`).  Default 40: on every coalgov
        reference model and seeds 1–4 this gave R-hat < 1.01 and bulk ESS > 400 with the
        default draws and chains (60 before the stages pooled the chains' draws; see
        ``benchmarks/README.md``, "Pooled tuning").
    chains : int
        Independent ensembles (for R-hat).
    thin : int
        Keep every ``thin``-th ensemble step (at most ``draws``).
    seed : int, numpy Generator or SeedSequence, optional
        Makes the run reproducible bit for bit (also with ``pool``).  An int in
        ``[0, 2**64 - 1]``.  ``None``: a fresh random seed, or, when ``backend`` holds a
        checkpoint, the seed stored in it (so the same call resumes).
    progress : bool, optional
        Show one progress bar per chain (tqdm), labelled ``chain k/n`` and counting draws
        (tuning and kept ensemble steps times walkers), also with ``cores``.  ``None``
        (default): on in interactive sessions (``sys.stderr`` a terminal, or Jupyter).
    backend : str, optional
        HDF5 file (needs h5py) to checkpoint to; rerunning the same call resumes.  The file
        records the model, data and every setting that changes the draws (seed, tune,
        chains, walkers, particles, moves); a file written with other ones is refused
        with an :class:`~mmreg.MMSpecError` naming the setting, and a file in use by
        another running fit is refused too (see :mod:`mmreg.inference.backend`).
    pool : executor, optional
        Anything with ``map`` (multiprocessing, concurrent.futures, MPI/dask pools):
        walkers are evaluated in parallel.
    cores : int, optional
        Run this many chains at once in separate processes (results are identical to
        ``cores=1``).  Cannot be combined with ``pool``.
    walkers : int, optional
        Walkers per ensemble (default ``max(16, 2·dim + 2)``; at least ``max(4, 2·dim)``,
        as emcee's ensemble moves need).
    particles : int, optional
        Importance particles per evaluation for non-Gaussian families.  Default: chosen
        from the SD of the log-likelihood estimate at the Laplace mode
        (:func:`~mmreg.inference.particles.choose_particles`): the family's
        :attr:`~mmreg.families.Family.default_particles` (8; Cox 16 — coalgov cox10, 2
        chains × 1000 draws, seeds 1 and 2: lowest bulk ESS 749 / 352 with 8, 965 / 1068
        with 16, for 25% more time), raised until that SD is at most 1 (large data sets;
        at most 256).  A given number is used as it is.  The Gaussian family needs none.
    moves : emcee moves, optional
        Default: while tuning, a mixture of independence proposals from a multivariate t
        around the Laplace fit (50%, :class:`~mmreg.inference.moves.LaplaceIndependenceMove`)
        and emcee's differential-evolution (40%) and snooker (10%) moves; for the kept
        draws, independence proposals from a kernel density estimate of the tuning draws
        with a t tail component (90%, see :class:`~mmreg.inference.moves.KDEIndependenceMove`;
        beyond three hyperparameters a Gaussian copula with kernel-density marginals,
        :class:`~mmreg.inference.copula.CopulaIndependenceMove`) and differential evolution
        (10%).
    laplace : LaplaceFit, optional
        Reuse a Laplace fit for the starting values.
    start : dict or array, optional
        Starting values of the Laplace fit (as for ``fit(method="laplace")``).
    latent : {"auto", "marginal", "gibbs"}
        How the latent vector (coefficients and random effects) is handled.
        ``"marginal"``: integrated out — exactly for the Gaussian family, by importance
        sampling (pseudo-marginal) otherwise.  ``"gibbs"``: sampled with the
        hyperparameters in Laplace-whitened coordinates, by Hamiltonian steps
        alternating with the hyperparameters' moves
        (:mod:`mmreg.inference.latent_gibbs`); it takes no ``particles``, ``moves``,
        ``backend`` or ``pool``.  Exact either way.  ``"auto"`` (default):
        ``"gibbs"`` for a non-Gaussian model whose importance-sampling estimate is noisy
        (SD above :data:`LATENT_SWITCH_SD` at the Laplace mode with the family's default
        particles: large data sets, e.g. 100,000 simulated Weibull groups, lowest bulk
        ESS 1,530 in 6 minutes instead of 160 in 11), else ``"marginal"``, which is
        faster on smaller models; always ``"marginal"`` when ``particles``, ``moves``,
        ``backend`` or ``pool`` is given.  ``res.raw.latent`` says which ran.

    Returns
    -------
    MCMCFit

    Raises
    ------
    MMSpecError
        Any option out of range (checked before any work by
        :func:`~mmreg.inference.options.check_fit_options`), or a checkpoint file of
        another model or settings, or in use by another run.
    """
    opts = dict(
        draws=draws,
        tune=tune,
        chains=chains,
        thin=thin,
        seed=seed,
        progress=progress,
        backend=backend,
        pool=pool,
        cores=cores,
        walkers=walkers,
        particles=particles,
        moves=moves,
        laplace=laplace,
        start=start,
        latent=latent,
    )
    posterior = as_posterior(posterior)
    model = posterior.source  # option checks and checkpoint fingerprints name the model
    _, opts = check_fit_options(model, "mcmc", opts)
    draws, tune, chains, thin, seed = (opts[k] for k in ("draws", "tune", "chains", "thin", "seed"))
    space = posterior.space
    dim = space.dim
    K = posterior.particles(particles)
    nw = walkers or _default_walkers(dim)
    latent = opts["latent"]
    if latent == "auto" and not (particles is None and moves is None and pool is None):
        latent = "marginal"  # options only the importance sampler takes (and backend)
    with run_lock(backend):
        # an automatic choice is a function of the model, data and seed: "auto" resumes it
        settings = run_settings(
            seed=seed,
            tune=tune,
            chains=chains,
            walkers=nw,
            particles="auto" if K and particles is None else K,
            moves=moves,
        )
        if seed is None:
            seed = stored_seed(backend)
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0])
        settings["seed"] = seed
        # the checkpoint (if any) is checked before the Laplace fit: a mismatch costs nothing
        backends = open_backends(
            backend, model, chains, nw, dim, layout=sampler_layout(posterior), settings=settings
        )
        if laplace is None:
            laplace = fit_laplace(posterior, opts["start"], mcmc_start=True)
        return _sample(
            posterior,
            laplace,
            K,
            particles is None,
            seed,
            nw,
            draws,
            tune,
            chains,
            thin,
            moves,
            pool,
            cores,
            backends,
            progress,
            latent if backend is None else "marginal",
        )


#: With ``latent="auto"``, a non-Gaussian run samples the latent vector
#: (:mod:`~mmreg.inference.latent_gibbs`) where the SD of the importance-sampling estimate
#: at the Laplace mode, with the family's default particles, is above this.  Simulated
#: Weibull data of ``benchmarks.scale`` (``weib``, equal weights; ``weibest``, estimated
#: weights), 4 chains × 1,000 draws, 2 cores, lowest bulk ESS (R-hat) integrated against
#: sampled: SD 0.42, 0.48: about even; 0.51: 1,022 (1.006) against 541 (1.015); 0.56:
#: 786 (1.008) against 1,623 (1.004); 0.61: 767 (1.015) against 1,342 (1.006); 0.71: 510
#: (1.020) against 944 (1.005); six designs from 0.84 to 1.01: the sampled latent vector
#: 1.4–3.6× the ESS, and at 100,000 groups 160 (1.031) against 1,530 (1.007), in 666
#: against 371 s.  coalgov's models measure 0.06–0.42 and keep the pseudo-marginal
#: sampler, which is faster there (``benchmarks/README.md``, "The switch of
#: latent="auto"").
LATENT_SWITCH_SD = 0.55


def _sample(
    posterior,
    laplace,
    K,
    auto_particles,
    seed,
    nw,
    draws,
    tune,
    chains,
    thin,
    moves,
    pool,
    cores,
    backends,
    progress,
    latent: str = "marginal",
) -> MCMCFit:
    logpost = LogPosterior.from_laplace(posterior, laplace, K, seed, keep_z=keeps_latent(posterior))
    sd = why = None
    if latent == "auto":
        latent = "marginal"
        if K:  # the particle choice's first measurement decides
            sd = estimator_sd(logpost, laplace.u)
            why = ParticleChoice(K, sd, True, ((K, sd),))
            latent = "gibbs" if sd > LATENT_SWITCH_SD else "marginal"
    if latent == "gibbs":
        from mmreg.inference.latent_gibbs import fit_gibbs

        show = _interactive() if progress is None else bool(progress)
        # one particle: the importance sampler (shared) only gives the proposal's shift
        gibbs = logpost.with_particles(1)
        return fit_gibbs(gibbs, laplace, nw, draws, tune, chains, thin, cores, show, why)
    # K is the family's default or the user's; an automatic choice may raise it
    logpost, choice = choose_particles(logpost, laplace.u, None if auto_particles else K, sd)
    K = choice.particles
    steps = -(-draws * thin // nw)  # ceil
    rng0 = np.random.default_rng(seed)
    spec = RunSpec(
        logpost=logpost,
        u_hat=laplace.u,
        cov_u=laplace.cov_u,
        nw=nw,
        tune=tune,
        steps=steps,
        thin=thin,
        moves=moves,
        adapt=moves is None,
        pool=pool,
        chains=chains,
        show=_interactive() if progress is None else bool(progress),
    )
    runs = [ChainRun.new(c, int(rng0.integers(2**63)), backends[c]) for c in range(chains)]
    if cores is not None and cores > 1 and chains > 1:
        spec = dataclasses.replace(spec, in_workers=True)
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # CHOLMOD's supernodal factor (and the BLAS it runs on) can hang in a forked child
        # once the parent has used it: such models start fresh interpreters instead.  Its
        # simplicial factor calls no BLAS and forks safely (tests/inference/test_linalg.py)
        pat = posterior.latent.pattern
        spawn = pat is not None and pat.uses_cholmod and pat.supernodal
        ctx = multiprocessing.get_context("spawn") if spawn else None
        with ProcessPoolExecutor(max_workers=min(cores, chains), mp_context=ctx) as ex:
            u, zs, lls, acc = collect_chains(run_chains(spec, runs, ex.map), chains)
    else:
        u, zs, lls, acc = collect_chains(run_chains(spec, runs, map), chains)
    return MCMCFit(
        u=u,
        z=zs,
        loglik_total=lls,
        acceptance=acc,
        n_chains=chains,
        n_draws=draws,
        tune=tune,
        particles=K,
        log_estimate_sd=choice.sd,
        laplace=laplace,
        particle_choice=choice,
    )


def collect_chains(results, chains: int) -> tuple[np.ndarray, ...]:
    """Stack the chains' outputs (each a tuple of arrays) as they arrive, each output into
    one preallocated ``(chains, ...)`` array.

    A chain's output is dropped once copied, so the latent draws are held once (plus one
    chain's) instead of twice, as a list of chains and their stack would.
    """
    out: list[np.ndarray] = []
    for c, parts in enumerate(results):
        if not out:
            out = [np.empty((chains, *np.shape(p))) for p in parts]
        for arr, p in zip(out, parts, strict=True):
            arr[c] = p
        del parts, p
    return tuple(out)


def _interactive() -> bool:
    """A terminal or a Jupyter kernel (whose ``sys.stderr`` is not a TTY) is interactive."""
    err = sys.stderr
    return bool(getattr(err, "isatty", lambda: False)()) or type(err).__module__.startswith(
        "ipykernel"
    )
