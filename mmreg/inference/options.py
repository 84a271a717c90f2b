"""Validation of the options of ``MMModel.fit()`` (and ``fit_mcmc``), in one place.

Every option of every method is described in :data:`LAPLACE_OPTIONS` and
:data:`MCMC_OPTIONS` (name -> what it accepts); :func:`check_fit_options` checks all of
them *before any work* and returns them normalised (the method name lower-cased, a seed
given as a numpy ``Generator``/``SeedSequence`` turned into an int, ``start`` turned into
unconstrained starting values).  Every problem is an :class:`~mmreg.MMSpecError` that names
the argument and the valid values; unknown keywords list the valid options with a
did-you-mean suggestion.  An MCMC run whose chains would not fit into the available memory
(e.g. ``tune=10**12``) is refused with the amount it would need.
"""

from __future__ import annotations

import difflib
import numbers
import os

import numpy as np

from mmreg.errors import MMSpecError

__all__ = [
    "LAPLACE_OPTIONS",
    "MCMC_OPTIONS",
    "MAX_SEED",
    "check_fit_options",
    "check_int",
    "check_method",
    "check_seed",
    "mcmc_memory_bytes",
]

#: Largest accepted integer seed (the run's seed keys a 64-bit hash).
MAX_SEED = 2**64 - 1

LAPLACE_OPTIONS = {
    "start": "a dict {hyperparameter name: value} or an array of the unconstrained free "
    "hyperparameters",
    "maxiter": "an integer >= 1 (optimiser iterations)",
}
MCMC_OPTIONS = {
    "draws": "an integer >= 1 (kept draws per chain)",
    "tune": "an integer >= 0 (discarded ensemble steps per chain)",
    "chains": "an integer >= 1",
    "thin": "an integer >= 1 and <= draws",
    "seed": "None, an integer in [0, 2**64 - 1] or a numpy Generator/SeedSequence",
    "progress": "True, False or None (on when stderr is a terminal)",
    "backend": "None or an HDF5 file name",
    "pool": "None or an executor with a map() method",
    "cores": "None or an integer >= 1 (not together with pool)",
    "walkers": "None or an integer >= max(4, 2 * number of free hyperparameters)",
    "particles": "None or an integer >= 1 (non-Gaussian families)",
    "moves": "None, an emcee move or a list of moves / (move, weight) pairs",
    "laplace": "None or a LaplaceFit of this model",
    "start": LAPLACE_OPTIONS["start"] + " (starting values of the Laplace fit)",
    "latent": "'auto' (the default), 'marginal' (integrated out) or 'gibbs' (sampled with "
    "the hyperparameters)",
}
_METHODS = {"laplace": LAPLACE_OPTIONS, "mcmc": MCMC_OPTIONS}
#: Names that users of other packages pass, with the mmreg option they mean.
_ALIASES = {
    "n_iter": "draws (= bml's n_iter - n_burnin)",
    "n_burnin": "tune",
    "n_chains": "chains",
    "n_thin": "thin",
    "nwalkers": "walkers",
    "iterations": "draws",
    "warmup": "tune",
    "burn": "tune",
    "burnin": "tune",
    "random_state": "seed",
    "n_jobs": "cores",
    "samples": "draws",
    "nsteps": "draws",
}
_BIG = 2**62  # integers beyond this are refused before any arithmetic on them


def check_method(method) -> str:
    """``method`` lower-cased and stripped; MMSpecError for anything but laplace/mcmc."""
    if not isinstance(method, str) or method.strip().lower() not in _METHODS:
        raise MMSpecError(f"method must be 'laplace' or 'mcmc' (case-insensitive), got {method!r}")
    return method.strip().lower()


def check_int(
    name: str, value, lo: int, hi: int | None = None, none_ok: bool = False, owner: str = "fit()"
) -> int | None:
    """``value`` as an int in ``[lo, hi]``; bools, floats and strings are refused.

    Parameters
    ----------
    name : str
        Argument name used in the message.
    value : object
        The user's value.
    lo, hi : int
        Inclusive range (``hi=None``: no upper limit other than 2**62).
    none_ok : bool
        Accept ``None`` (returned as is).
    owner : str
        The function whose argument it is (for the message).

    Returns
    -------
    int or None
    """
    if value is None and none_ok:
        return None
    top = _BIG if hi is None else hi
    shown = "2**64 - 1" if hi == MAX_SEED else hi
    rng = f">= {lo}" if hi is None else f"in [{lo}, {shown}]"
    what = f"{'None or ' if none_ok else ''}an integer {rng}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral)):
        raise MMSpecError(
            f"{owner} argument {name} must be {what}, got {type(value).__name__} {value!r}"
        )
    if not lo <= int(value) <= top:
        raise MMSpecError(f"{owner} argument {name} must be {what}, got {value!r}")
    return int(value)


def check_seed(seed, name: str = "seed", owner: str = "fit()") -> int | None:
    """A seed as a non-negative int (or None).

    A numpy ``SeedSequence`` gives its first 64-bit state word and a ``Generator`` one draw
    (so it advances, as numpy's own seeding from a Generator does).
    """
    if seed is None:
        return None
    if isinstance(seed, np.random.SeedSequence):
        return int(seed.generate_state(1, np.uint64)[0])
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63))
    return check_int(name, seed, 0, MAX_SEED, owner=owner)


def _unknown(method: str, keys: list[str], owner: str) -> MMSpecError:
    valid = _METHODS[method]
    other = "mcmc" if method == "laplace" else "laplace"
    lines = []
    for k in keys:
        hint = ""
        if k in _METHODS[other]:
            hint = f" (an option of method='{other}')"
        elif k in _ALIASES:
            hint = f" (mmreg calls it {_ALIASES[k]})"
        else:
            close = difflib.get_close_matches(k, list(valid), n=1, cutoff=0.6)
            if close:
                hint = f" (did you mean {close[0]!r}?)"
        lines.append(f"{k!r}{hint}")
    return MMSpecError(
        f"{owner} with method={method!r} does not take {', '.join(lines)}; "
        f"valid options: {', '.join(valid)}"
    )


def _check_start(model, start, owner: str) -> np.ndarray | None:
    """``start`` as unconstrained free hyperparameters (validated against the model)."""
    if start is None:
        return None
    space = model.space
    free = list(space.free)
    if isinstance(start, dict):
        unknown = [k for k in start if k not in free]
        if unknown:
            known = set(model.param_names)
            fixed = [k for k in unknown if k in space.fixed]
            coef = [k for k in unknown if k in known and k not in space.fixed]
            other = [k for k in unknown if k not in known]
            parts = [f"unknown parameter(s) {other}"] if other else []
            if coef:
                parts.append(f"{coef} are coefficients (integrated out, no start value)")
            if fixed:
                parts.append(f"{fixed} are fixed by their prior")
            raise MMSpecError(
                f"{owner} argument start: {'; '.join(parts)}; start takes "
                f"values of the free hyperparameters {free}"
            )
        u0 = model.posterior.start_values()
        x = space.natural_free(u0)
        for k, v in start.items():
            ok = isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))
            i = free.index(k)
            if not ok or not np.isfinite(v) or not space.lower[i] < v < space.upper[i]:
                raise MMSpecError(
                    f"{owner} argument start[{k!r}] must be a finite number in "
                    f"({space.lower[i]}, {space.upper[i]}) (the support of its prior), "
                    f"got {v!r}"
                )
            x[i] = float(v)
        return space.unconstrain(x)
    if isinstance(start, (str, bytes)) or not np.iterable(start):
        raise MMSpecError(
            f"{owner} argument start must be a dict {{name: value}} over "
            f"{free} or an array of length {len(free)}, got {start!r}"
        )
    try:
        u = np.asarray(start, dtype=float)
    except (TypeError, ValueError):
        raise MMSpecError(f"{owner} argument start must hold numbers, got {start!r}") from None
    if u.shape != (len(free),):
        raise MMSpecError(
            f"{owner} argument start has shape {u.shape}; an array start must have length "
            f"{len(free)} (unconstrained values of {free}), or pass a dict by name"
        )
    if not np.all(np.isfinite(u)):
        raise MMSpecError(f"{owner} argument start must be finite, got {start!r}")
    return u


def _check_moves(moves) -> None:
    from emcee.moves import Move

    if moves is None or isinstance(moves, Move):
        return
    items = moves if isinstance(moves, (list, tuple)) else None
    ok = bool(items)
    for m in items or ():
        if isinstance(m, tuple):
            ok &= (
                len(m) == 2
                and isinstance(m[0], Move)
                and isinstance(m[1], numbers.Real)
                and not isinstance(m[1], bool)
                and bool(np.isfinite(float(m[1])))
                and float(m[1]) > 0
            )
        else:
            ok &= isinstance(m, Move)
    if not ok:
        raise MMSpecError(f"fit() argument moves must be {MCMC_OPTIONS['moves']}, got {moves!r}")


def _check_latent(options: dict, owner: str) -> str:
    """The ``latent`` option; ``"gibbs"`` refuses the options it does not take."""
    latent = options.get("latent", "auto")
    if latent not in ("auto", "marginal", "gibbs"):
        raise MMSpecError(
            f"{owner} argument latent must be {MCMC_OPTIONS['latent']}, got {latent!r}"
        )
    if latent == "gibbs":
        given = [k for k in ("particles", "moves", "backend", "pool") if options.get(k) is not None]
        if given:
            raise MMSpecError(
                f"{owner} with latent='gibbs' does not take {', '.join(given)}: the latent "
                "vector is sampled (no importance particles), the hyperparameters move by "
                "mmreg's own proposals, and the run is neither checkpointed nor spread over "
                "a walker pool (cores= runs chains in parallel); drop them, or use "
                "latent='marginal'"
            )
    return latent


def _available_memory() -> float | None:
    """Bytes of memory available to this process (MemAvailable on Linux), or None."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return None


def mcmc_memory_bytes(
    model, draws: int, tune: int, chains: int, thin: int, walkers: int, particles: int
) -> float:
    """Estimated memory of an MCMC run's stored chains and outputs, in bytes.

    Per chain: emcee keeps every ensemble step (tuning and kept) with the hyperparameters,
    the log posterior and the blobs (seed, and in the kept phase the latent draw when it is
    kept); the output holds per kept state the hyperparameters, the latent draw and the
    pointwise log-likelihood.  Importance particles add ``particles * dim_z`` per evaluation.
    """
    from mmreg.inference.mcmc import keeps_latent

    dim, zdim, n = model.space.dim, model.latent.dim, model.latent.n
    steps = -(-draws * thin // walkers)
    per_step = walkers * (dim + 2)  # tuning stores no latent draws
    per_kept_step = per_step + walkers * (zdim if keeps_latent(model) else 0)
    kept = (steps // thin + 1) * walkers * (dim + zdim + n)
    return 8.0 * (chains * (tune * per_step + steps * per_kept_step + kept) + particles * zdim)


def _gb(b: float) -> str:
    return f"{b / 1e9:.3g} GB"


def check_fit_options(model, method, options: dict, owner: str = "fit()") -> tuple[str, dict]:
    """Check every option of ``model.fit(method, **options)`` before any work.

    Parameters
    ----------
    model : MMModel
    method : str
        ``"laplace"`` or ``"mcmc"``, case-insensitive.
    options : dict
        The keyword arguments (not modified).
    owner : str
        Name of the function for the messages.

    Returns
    -------
    (str, dict)
        The method name in lower case and the options normalised (``seed`` an int or
        None, ``start`` unconstrained starting values or None).

    Raises
    ------
    MMSpecError
        An unknown option (listing the valid ones) or a value out of range (naming the
        argument and the valid values), or an MCMC run that would not fit into memory.
    """
    method = check_method(method)
    unknown = [k for k in options if k not in _METHODS[method]]
    if unknown:
        raise _unknown(method, unknown, owner)
    out = dict(options)
    out["start"] = _check_start(model, options.get("start"), owner)
    if method == "laplace":
        if "maxiter" in out:
            out["maxiter"] = check_int("maxiter", out["maxiter"], 1, owner=owner)
        return method, out
    g = {k: out.get(k, _mcmc_default(k)) for k in ("draws", "tune", "chains", "thin")}
    for name, lo in (("draws", 1), ("tune", 0), ("chains", 1), ("thin", 1)):
        out[name] = g[name] = check_int(name, g[name], lo, owner=owner)
    if g["thin"] > g["draws"]:
        raise MMSpecError(
            f"{owner} argument thin ({g['thin']}) must be <= draws "
            f"({g['draws']}): draws counts the kept draws after thinning"
        )
    out["seed"] = check_seed(out.get("seed"), owner=owner)
    progress = out.get("progress")
    if progress is not None and not isinstance(progress, (bool, np.bool_)):
        raise MMSpecError(
            f"{owner} argument progress must be True, False or None, got {progress!r}"
        )
    backend = out.get("backend")
    if backend is not None and not isinstance(backend, (str, os.PathLike)):
        raise MMSpecError(
            f"{owner} argument backend must be None or a file name (str or "
            f"path), got {type(backend).__name__} {backend!r}"
        )
    pool = out.get("pool")
    if pool is not None and not callable(getattr(pool, "map", None)):
        raise MMSpecError(
            f"{owner} argument pool must have a map() method (e.g. a "
            f"multiprocessing.Pool), got {type(pool).__name__}"
        )
    cores = check_int("cores", out.get("cores"), 1, none_ok=True, owner=owner)
    if cores is not None and cores > 1 and pool is not None:
        raise MMSpecError(
            f"{owner}: use either cores= (chains in parallel) or pool= "
            "(walkers in parallel), not both"
        )
    dim = model.space.dim
    wmin = max(4, 2 * dim)
    walkers = check_int("walkers", out.get("walkers"), wmin, none_ok=True, owner=owner)
    particles = check_int("particles", out.get("particles"), 1, none_ok=True, owner=owner)
    _check_moves(out.get("moves"))
    out["latent"] = _check_latent(out, owner)
    lap = out.get("laplace")
    if lap is not None:
        from mmreg.inference.laplace import LaplaceFit

        if not isinstance(lap, LaplaceFit) or np.shape(lap.u) != (dim,):
            raise MMSpecError(
                f"{owner} argument laplace must be the .raw LaplaceFit of a "
                "Laplace fit of this model (res.raw of model.fit())"
            )
        if out["start"] is not None:
            raise MMSpecError(
                f"{owner}: give start= or laplace=, not both (start is the "
                "starting point of the Laplace fit)"
            )
    from mmreg.inference.mcmc import _default_walkers

    nw = walkers or _default_walkers(dim)
    need = mcmc_memory_bytes(
        model, g["draws"], g["tune"], g["chains"], g["thin"], nw, particles or 16
    )
    have = _available_memory()
    if have is not None and need > have:
        raise MMSpecError(
            f"{owner}: draws={g['draws']}, tune={g['tune']}, chains={g['chains']}, "
            f"thin={g['thin']} with {nw} walkers would need about {_gb(need)} of memory for "
            f"the chains ({_gb(have)} available); reduce tune, draws or chains"
        )
    return method, out


def _mcmc_default(name: str):
    """The default of ``fit_mcmc``'s argument ``name`` (its signature is the one source)."""
    import inspect

    from mmreg.inference.mcmc import fit_mcmc

    return inspect.signature(fit_mcmc).parameters[name].default
