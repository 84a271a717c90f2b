"""Checkpointing of MCMC runs to HDF5 (emcee's ``HDFBackend``, optional h5py).

One HDF5 group per chain.  The file records a fingerprint of the model (formula, family,
priors, data) and the sampler layout; reopening it for a different model is refused.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from mmreg.errors import MMSpecError

__all__ = ["model_fingerprint", "open_backends"]


def model_fingerprint(model, walkers: int, dim: int) -> str:
    """A hash identifying the model, its data and the sampler layout."""
    h = hashlib.sha256()
    d = model.design
    for part in (model.formula, model.family, repr(sorted((k, str(v)) for k, v in
                                                           model.priors.items())),
                 str(walkers), str(dim)):
        h.update(part.encode())
    for arr in [d.X, d.offset, *d.outcome.values(), *(b.X for b in d.mm)]:
        h.update(np.ascontiguousarray(arr, dtype=float).tobytes())
    return h.hexdigest()


def open_backends(path: str | os.PathLike | None, model, chains: int, walkers: int,
                  dim: int) -> list:
    """(tuning, kept) emcee backends per chain (``None`` entries when ``path`` is None)."""
    if path is None:
        return [None] * chains
    try:
        import h5py
        from emcee.backends import HDFBackend
    except ImportError:  # pragma: no cover - exercised only without h5py
        raise MMSpecError("backend= needs h5py: pip install 'mmreg[h5py]'") from None
    fp = model_fingerprint(model, walkers, dim)
    path = os.fspath(path)
    if os.path.exists(path):
        with h5py.File(path, "r") as f:
            old = f.attrs.get("mmreg_fingerprint")
        if old is not None and old != fp:
            raise MMSpecError(
                f"backend file {path!r} holds a run of a different model, data, priors or "
                "sampler layout; use another file name or delete it")
    with h5py.File(path, "a") as f:
        f.attrs["mmreg_fingerprint"] = fp
    return [(HDFBackend(path, name=f"chain{c}_tune"), HDFBackend(path, name=f"chain{c}"))
            for c in range(chains)]
