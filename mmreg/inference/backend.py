"""Crash-safe checkpointing of MCMC runs to one HDF5 file (optional dependency h5py).

``fit(method="mcmc", backend="run.h5")`` keeps every chain in memory (emcee's in-memory
``Backend``) and writes checkpoints to ``run.h5``; rerunning the same call resumes from the
last checkpoint.

File layout
    One group per chain and phase (``chain0_tune``, ``chain0``, ``chain1_tune``, ...) in
    emcee's ``HDFBackend`` layout (datasets ``chain``, ``log_prob``, ``accepted``,
    ``blobs``; attributes ``iteration``, ``nwalkers``, ``ndim``, ``has_blobs``,
    ``random_state_*``), so ``emcee.backends.HDFBackend("run.h5", name="chain0",
    read_only=True)`` reads it too.  The file attribute ``mmreg_fingerprint`` identifies the
    model (formula, family, priors, every array of the design) and the sampler layout
    (walkers, dimension); a file of another model is refused with :class:`MMSpecError`.

What is guaranteed
    emcee's own ``HDFBackend`` updates the file in place at every step, and a process
    killed during such an update (SIGKILL, out-of-memory killer, power loss) can leave an
    HDF5 file that no longer opens.  Here every checkpoint is written to ``<file>.tmp``,
    flushed to disk (``fsync``) and moved over ``<file>`` with the atomic ``os.replace``,
    under an exclusive lock on ``<file>.lock`` (chains running in parallel processes share
    the file safely).  Hence at any moment ``<file>`` is either absent or a complete,
    consistent checkpoint; a killed run loses at most the steps since its last checkpoint.
    Checkpoints are written when each sampling phase of a chain ends and, during a phase,
    at most every :data:`MIN_INTERVAL` seconds (and never more often than keeps the writing
    time under :data:`MAX_COST` of the run time).  A leftover ``<file>.tmp`` is an
    unfinished checkpoint and is ignored; ``<file>.lock`` may be deleted when no run is
    active.  A file that cannot be read (damaged by another program, or a truncated copy)
    is refused with an :class:`MMSpecError` naming it, never silently overwritten.  File
    locking needs POSIX ``fcntl``; elsewhere do not let two processes write one file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time

import numpy as np
from emcee.backends import Backend

from mmreg.errors import MMSpecError

__all__ = ["CheckpointBackend", "MAX_COST", "MIN_INTERVAL", "model_fingerprint", "open_backends"]

#: Minimum number of seconds between two checkpoints written during a sampling phase.
MIN_INTERVAL = 2.0
#: Largest share of the run time spent writing checkpoints during a phase.
MAX_COST = 0.05
_FORMAT = "mmreg-checkpoint-1"


def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - exercised only without h5py
        raise MMSpecError("backend= needs h5py: pip install 'mmreg[h5py]'") from None
    return h5py


# --------------------------------------------------------------------------- fingerprint
def _design_arrays(model):
    """Every array that the posterior depends on (the data as the model sees them)."""
    d = model.design
    yield d.X
    yield d.offset
    for key in sorted(d.outcome):
        yield d.outcome[key]
    for b in d.mm:
        yield from (b.group, b.member, b.X, b.fixed_offset)
        yield from (a for a in (b.re_state, b.re_prev) if a is not None)
        # the weight function's columns (and n) enter the model only through the weights:
        # probe it at two parameter vectors
        k = len(b.wnames)
        for theta in (np.zeros(k), np.linspace(0.1, 0.3, k)):
            with np.errstate(all="ignore"):
                yield b.weights(theta, derivative=False)[0]
    for h in d.hm:
        yield from (h.unit, h.Z, h.fe)
        yield from (a for a in (h.re_state, h.re_prev, h.fixed_offset) if a is not None)


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
    h = hashlib.sha256()
    family = getattr(model, "_family", model.family)
    priors = sorted((k, repr(v)) for k, v in model.priors.items())
    for part in (_FORMAT, model.formula, repr(family), repr(priors), str(walkers), str(dim),
                 layout):
        h.update(part.encode())
        h.update(b"\0")
    for arr in _design_arrays(model):
        a = np.ascontiguousarray(arr)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- file access
@contextlib.contextmanager
def _locked(path: str):
    """Exclusive inter-process lock on ``<path>.lock`` (no-op without ``fcntl``)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path + ".lock", "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _unreadable(path: str, err: Exception) -> MMSpecError:
    return MMSpecError(
        f"backend file {path!r} exists but is not a readable mmreg checkpoint ({err}); it may "
        "be damaged or belong to another program. Delete it (the run restarts) or pass "
        "another backend= file name"
    )


def _open_read(path: str):
    """The checkpoint file opened read-only, or None if there is none (absent or empty)."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    h5py = _h5py()
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise _unreadable(path, err) from None
    if f.attrs.get("mmreg_format") != _FORMAT:
        f.close()
        raise _unreadable(path, "no mmreg checkpoint format attribute")
    return f


def _write_group(g, b: Backend) -> None:
    it = b.iteration
    g.attrs["version"] = _FORMAT
    g.attrs["nwalkers"] = b.nwalkers
    g.attrs["ndim"] = b.ndim
    g.attrs["iteration"] = it
    g.attrs["has_blobs"] = b.has_blobs()
    g.create_dataset("accepted", data=b.accepted)
    g.create_dataset("chain", data=b.chain[:it])
    g.create_dataset("log_prob", data=b.log_prob[:it])
    if b.has_blobs():
        g.create_dataset("blobs", data=b.blobs[:it])
    for i, v in enumerate(b.random_state or ()):
        g.attrs[f"random_state_{i}"] = v


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _replace_group(path: str, fingerprint: str, backend: CheckpointBackend) -> None:
    """Atomically replace group ``backend.name`` of the checkpoint file."""
    h5py = _h5py()
    tmp = path + ".tmp"
    with _locked(path):
        with h5py.File(tmp, "w") as dst:
            dst.attrs["mmreg_format"] = _FORMAT
            dst.attrs["mmreg_fingerprint"] = fingerprint
            src = _open_read(path)
            if src is not None:
                with src:
                    for key in src:
                        if key != backend.name:
                            src.copy(src[key], dst, name=key)
            _write_group(dst.create_group(backend.name), backend)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path)


# --------------------------------------------------------------------------- backend
class CheckpointBackend(Backend):
    """emcee backend kept in memory and checkpointed atomically to an HDF5 file.

    Parameters
    ----------
    path : str
        The checkpoint file.
    name : str
        Group of this chain and phase in the file.
    fingerprint : str
        :func:`model_fingerprint` of the run, stored in the file.

    Notes
    -----
    On creation the group's saved state (if any) is loaded, so an emcee sampler built on
    this backend continues where the last checkpoint stopped.  See the module docstring for
    when checkpoints are written and what survives a crash.
    """

    def __init__(self, path: str, name: str, fingerprint: str):
        super().__init__()
        self.path, self.name, self.fingerprint = path, name, fingerprint
        self._next_write = 0.0
        f = _open_read(path)
        if f is not None:
            with f:
                if name in f:
                    self._load(f[name])

    def _load(self, g) -> None:
        try:
            it = int(g.attrs["iteration"])
            self.reset(int(g.attrs["nwalkers"]), int(g.attrs["ndim"]))
            self.chain = np.array(g["chain"][:it], dtype=self.dtype)
            self.log_prob = np.array(g["log_prob"][:it], dtype=self.dtype)
            self.accepted = np.array(g["accepted"][...], dtype=self.dtype)
            if g.attrs["has_blobs"]:
                self.blobs = np.array(g["blobs"][:it])
            keys = sorted(k for k in g.attrs if k.startswith("random_state_"))
            state = [g.attrs[k] for k in keys]
            self.random_state = tuple(state) if state else None
            self.iteration = it
        except (KeyError, OSError, ValueError) as err:
            raise _unreadable(self.path, f"group {self.name!r}: {err}") from None
        if self.chain.shape != (it, self.nwalkers, self.ndim):
            raise _unreadable(self.path, f"group {self.name!r} has inconsistent shapes")

    def save_step(self, state, accepted) -> None:
        """Store a step in memory; write a checkpoint when due (see module docstring)."""
        super().save_step(state, accepted)
        last_of_run = self.iteration == len(self.chain)  # emcee grew the arrays for the run
        if last_of_run or time.monotonic() >= self._next_write:
            self.flush()

    def flush(self) -> None:
        """Write the current state of this chain and phase to the file now."""
        t0 = time.monotonic()
        _replace_group(self.path, self.fingerprint, self)
        t1 = time.monotonic()
        self._next_write = t1 + max(MIN_INTERVAL, (t1 - t0) / MAX_COST)


def open_backends(
    path: str | os.PathLike | None, model, chains: int, walkers: int, dim: int,
    layout: str = "",
) -> list:
    """Checkpoint backends ``(tuning, kept)`` for every chain.

    Parameters
    ----------
    path : str, path-like or None
        The HDF5 checkpoint file; ``None`` for no checkpointing.
    model : MMModel
    chains, walkers, dim : int
        Sampler layout.
    layout : str
        Passed to :func:`model_fingerprint`.

    Returns
    -------
    list
        Per chain a pair of :class:`CheckpointBackend` (tuning phase, kept draws), or
        ``None`` per chain when ``path`` is None.

    Raises
    ------
    MMSpecError
        h5py is missing; the file's directory does not exist or is not writable; the file
        is unreadable; or it holds a run of a different model, data, priors or sampler
        layout.
    """
    if path is None:
        return [None] * chains
    _h5py()
    try:
        path = os.fspath(path)
    except TypeError:
        raise MMSpecError(
            f"backend must be a file name (str or path), got {type(path).__name__}"
        ) from None
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise MMSpecError(
            f"backend file {path!r}: folder {folder!r} does not exist or is not writable"
        )
    if os.path.isdir(path):
        raise MMSpecError(f"backend file {path!r} is a folder; give a file name")
    fp = model_fingerprint(model, walkers, dim, layout)
    f = _open_read(path)
    if f is not None:
        with f:
            old = f.attrs.get("mmreg_fingerprint")
        if old != fp:
            raise MMSpecError(
                f"backend file {path!r} holds a run of a different model, data, priors or "
                "sampler layout (walkers); use another file name or delete it"
            )
    return [
        (CheckpointBackend(path, f"chain{c}_tune", fp), CheckpointBackend(path, f"chain{c}", fp))
        for c in range(chains)
    ]
