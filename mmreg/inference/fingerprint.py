"""Fingerprints of MCMC checkpoints: what identifies a model, its data and a run's settings.

A checkpoint file (:mod:`mmreg.inference.backend`) records :func:`run_settings` plus the
model's hash (:func:`_model_hash`: formula, family options, priors and every array of the
design) and the sampler layout; a run may continue a file only if all of them agree.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

__all__ = ["model_fingerprint", "run_settings"]

_FORMAT = "mmreg-checkpoint-1"


def _design_arrays(model):
    """Every array that the posterior depends on (the data as the model sees them)."""
    d = model.design
    yield d.X
    yield d.offset
    for key in sorted(d.outcome):
        yield d.outcome[key]
    for b in d.mm:
        yield from (b.group, b.member, b.X, b.fixed_offset)
        yield from (a for a in (b.re_state, b.re_prev, b.re_step) if a is not None)
        for sl in b.slopes:
            yield from (sl.re_state, sl.re_values)
        # the weight function's columns (and n) enter the model only through the weights:
        # probe it at two parameter vectors
        k = len(b.wnames)
        for theta in (np.zeros(k), np.linspace(0.1, 0.3, k)):
            with np.errstate(all="ignore"):
                yield b.weights(theta, derivative=False)[0]
    for h in d.hm:
        yield from (h.unit, h.Z, h.fe)
        yield from (a for a in (h.re_state, h.re_prev, h.fixed_offset, h.re_step) if a is not None)
        for sl in h.slopes:
            yield from (sl.re_state, sl.re_values)


def model_fingerprint(model, walkers: int, dim: int, layout: str = "") -> str:
    """A hash identifying the model, its data and the sampler layout.

    Parameters
    ----------
    model : MMModel
    walkers, dim : int
        Walkers per ensemble and number of sampled hyperparameters.
    layout : str
        Anything else that fixes what the sampler stores (e.g. whether latent draws are
        kept as blobs).

    Returns
    -------
    str
        Hex digest; equal for the same formula, family options, priors, data (as used by
        the model) and sampler layout.
    """
    return _hash([_FORMAT, _model_hash(model), str(walkers), str(dim), layout])


def _hash(parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(str(part).encode())
        h.update(b"\0")
    return h.hexdigest()


def _model_hash(model) -> str:
    """Hash of the formula, family options, priors and the data as the model uses them."""
    h = hashlib.sha256()
    family = model.bound_family.family
    priors = sorted((k, repr(v)) for k, v in model.priors.items())
    for part in (_FORMAT, model.formula, repr(family), repr(priors)):
        h.update(part.encode())
        h.update(b"\0")
    for arr in _design_arrays(model):
        a = np.ascontiguousarray(arr)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _describe(obj, depth: int = 0) -> str:
    """A stable description of an emcee move (or list of them): class and settings."""
    if depth > 4:
        return type(obj).__name__
    if obj is None or isinstance(obj, (bool, int, float, str, np.number)):
        return repr(obj)
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(_describe(o, depth + 1) for o in obj) + "]"
    if isinstance(obj, np.ndarray):
        return (
            f"array{obj.shape}:"
            + hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest()[:16]
        )
    if isinstance(obj, dict):
        return (
            "{"
            + ",".join(
                f"{k}={_describe(v, depth + 1)}"
                for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))
            )
            + "}"
        )
    attrs = getattr(obj, "__dict__", None)
    name = f"{type(obj).__module__}.{type(obj).__qualname__}"
    if attrs is None or callable(obj) and not attrs:
        return name
    return name + _describe({k: v for k, v in attrs.items() if not callable(v)}, depth + 1)


def run_settings(
    seed: int | None, tune: int, chains: int, walkers: int, particles: int | str, moves=None
) -> dict:
    """The sampler settings that change an MCMC run's draws (recorded in a checkpoint).

    Parameters
    ----------
    seed : int or None
        The run's seed (``None`` until it is known).
    tune, chains, walkers, particles : int
        As in :func:`~mmreg.inference.mcmc.fit_mcmc` (``particles``: the number given, or
        ``"auto"`` when the sampler chooses it from the data, deterministically).
    moves : emcee moves or None
        User moves (described by class and settings); ``None`` for mmreg's default moves.

    Returns
    -------
    dict
        JSON-serialisable settings; :func:`open_backends` adds the model's hash and layout.
    """
    return {
        "seed": seed,
        "tune": int(tune),
        "chains": int(chains),
        "walkers": int(walkers),
        "particles": particles if isinstance(particles, str) else int(particles),
        "moves": "default" if moves is None else _hash([_describe(moves)])[:16],
    }


_WHAT = {
    "model": "model, data or priors",
    "layout": "sampler layout",
    "dim": "number of sampled hyperparameters",
}


def _differences(stored: dict, ours: dict) -> list[str]:
    """Settings of ``ours`` that differ from those stored in a file, described."""
    out = []
    for k, v in ours.items():
        if stored.get(k) == v:
            continue
        if k in ("model", "layout", "moves"):
            out.append(
                f"the {_WHAT.get(k, k)} differ" if k == "model" else f"{_WHAT.get(k, k)} differs"
            )
        elif k not in stored:
            out.append(f"{k} is not recorded in the file (written by an older mmreg)")
        else:
            out.append(f"{k}={stored[k]!r} in the file, {k}={v!r} in this run")
    return out


def _fingerprint(settings: dict) -> str:
    return _hash([_FORMAT, json.dumps(settings, sort_keys=True)])
