"""Crash-safe checkpointing of MCMC runs to one HDF5 file (optional dependency h5py).

``fit(method="mcmc", backend="run.h5")`` keeps every chain in memory (emcee's in-memory
``Backend``) and writes checkpoints to ``run.h5``; rerunning the same call resumes from the
last checkpoint.

File layout
    One group per chain and phase (``chain0_tune``, ``chain0``, ``chain1_tune``, ...) in
    emcee's ``HDFBackend`` layout (datasets ``chain``, ``log_prob``, ``accepted``,
    ``blobs``; attributes ``iteration``, ``nwalkers``, ``ndim``, ``has_blobs``,
    ``random_state_*``), so ``emcee.backends.HDFBackend("run.h5", name="chain0",
    read_only=True)`` reads it too.  The file attribute ``mmreg_settings`` (JSON) records
    the run: a hash of the model (formula, family, priors, every array of the design), the
    sampler layout (walkers, dimension, stored blobs) and every setting that changes the
    draws (seed, tune, chains, particles, moves); ``mmreg_fingerprint`` is its hash.  A
    file of another model or run settings is refused with an :class:`MMSpecError` naming
    what differs — when the backends are opened (before any work), when a chain's phase
    resumes and before every checkpoint write (so a file rewritten by another run meanwhile
    is never continued with this one).  ``seed=None`` resumes with the seed stored in the
    file.

Concurrent runs
    A fit holds an exclusive advisory lock (``fcntl.flock``) on ``<file>.run.lock`` from
    opening the file to its end; a second fit on the same file (another process, or the
    same process) is refused with an :class:`MMSpecError` naming the process holding it.
    The kernel releases the lock when the process ends, also on SIGKILL, so a killed run
    resumes at once.

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
    unfinished checkpoint and is ignored; ``<file>.lock`` and ``<file>.run.lock`` may be
    deleted when no run is active.  A file that cannot be read (damaged by another program,
    or a truncated copy) is refused with an :class:`MMSpecError` naming it, never silently
    overwritten.  File locking needs POSIX ``fcntl``; elsewhere do not let two processes
    write one file.
"""

from __future__ import annotations

import contextlib
import json
import os
import time

import numpy as np
from emcee.backends import Backend

from mmreg.errors import MMSpecError
from mmreg.inference.fingerprint import (
    _FORMAT,
    _differences,
    _fingerprint,
    _model_hash,
    model_fingerprint,
    run_settings,
)

__all__ = [
    "CheckpointBackend",
    "MAX_COST",
    "MIN_INTERVAL",
    "model_fingerprint",
    "open_backends",
    "run_lock",
    "run_settings",
    "stored_seed",
]

#: Minimum number of seconds between two checkpoints written during a sampling phase.
MIN_INTERVAL = 2.0
#: Largest share of the run time spent writing checkpoints during a phase.
MAX_COST = 0.05


def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - exercised only without h5py
        raise MMSpecError("backend= needs h5py: pip install 'mmreg[h5py]'") from None
    return h5py


def _mismatch(path: str, diffs: list[str], when: str = "") -> MMSpecError:
    return MMSpecError(
        f"backend file {path!r} holds {when}a different run: {'; '.join(diffs)}. To resume it "
        "call fit() with the same model, data and settings; to start a new run pass another "
        "backend= file name (or delete the file)"
    )


def _stored_settings(f) -> dict:
    raw = f.attrs.get("mmreg_settings")
    if raw is None:
        return {}
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return {}


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


def _unreadable(path: str, err: Exception | str) -> MMSpecError:
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


def _replace_group(path: str, settings: dict, backend: CheckpointBackend) -> None:
    """Atomically replace group ``backend.name`` of the checkpoint file.

    The file's recorded run must still be this one (checked under the write lock).
    """
    h5py = _h5py()
    tmp = path + ".tmp"
    with _locked(path):
        src = _open_read(path)
        with contextlib.ExitStack() as stack:
            stored = {}
            if src is not None:
                stack.enter_context(src)
                stored = _stored_settings(src)
                diffs = _differences(stored, settings)
                if diffs:  # rewritten by another run since this one opened it
                    raise _mismatch(path, diffs, "(rewritten by another process) ")
            merged = {**stored, **settings}
            with h5py.File(tmp, "w") as dst:
                dst.attrs["mmreg_format"] = _FORMAT
                dst.attrs["mmreg_settings"] = json.dumps(merged, sort_keys=True)
                dst.attrs["mmreg_fingerprint"] = _fingerprint(merged)
                if src is not None:
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
    settings : dict
        The run's model hash and sampler settings (see :func:`open_backends`), stored in
        the file and checked against it on loading and before every write.

    Notes
    -----
    On creation the group's saved state (if any) is loaded, so an emcee sampler built on
    this backend continues where the last checkpoint stopped.  See the module docstring for
    when checkpoints are written and what survives a crash.
    """

    def __init__(self, path: str, name: str, settings: dict):
        super().__init__()
        self.path, self.name, self.settings = path, name, dict(settings)
        self._next_write = 0.0
        f = _open_read(path)
        if f is not None:
            with f:
                diffs = _differences(_stored_settings(f), self.settings)
                if diffs:
                    raise _mismatch(path, diffs)
                if name in f:
                    self._load(f[name])

    @property
    def fingerprint(self) -> str:
        """Hash of the run's settings (the file attribute ``mmreg_fingerprint``)."""
        return _fingerprint(self.settings)

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
        _replace_group(self.path, self.settings, self)
        t1 = time.monotonic()
        self._next_write = t1 + max(MIN_INTERVAL, (t1 - t0) / MAX_COST)


def _check_path(path) -> str:
    """The backend path as a str; MMSpecError for a bad type, folder or a directory."""
    try:
        path = os.fspath(path)
    except TypeError:
        raise MMSpecError(
            f"backend must be a file name (str or path), got {type(path).__name__}"
        ) from None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise MMSpecError(
            f"backend file {path!r}: folder {folder!r} does not exist or is not writable"
        )
    if os.path.isdir(path):
        raise MMSpecError(f"backend file {path!r} is a folder; give a file name")
    return path


@contextlib.contextmanager
def run_lock(path):
    """Hold the exclusive run lock of checkpoint file ``path`` (no-op for ``None``).

    Parameters
    ----------
    path : str, path-like or None
        The checkpoint file; the lock is ``<path>.run.lock``.

    Raises
    ------
    MMSpecError
        Another fit (in this or another process) holds the lock.
    """
    if path is None:
        yield
        return
    _h5py()
    path = _check_path(path)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no locking
        yield
        return
    lock = path + ".run.lock"
    with open(lock, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            owner = fh.read().strip() or "unknown"
            raise MMSpecError(
                f"backend file {path!r} is in use by another running fit (process {owner}, "
                f"lock {lock!r}); two runs must not write one checkpoint file: wait for it "
                "to finish or pass another backend= file name"
            ) from None
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(str(os.getpid()))
            fh.flush()
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def stored_seed(path) -> int | None:
    """The seed recorded in checkpoint file ``path`` (None: no file, or none recorded)."""
    if path is None:
        return None
    f = _open_read(_check_path(path))
    if f is None:
        return None
    with f:
        seed = _stored_settings(f).get("seed")
    return int(seed) if isinstance(seed, int) and seed >= 0 else None


def open_backends(
    path: str | os.PathLike | None,
    model,
    chains: int,
    walkers: int,
    dim: int,
    layout: str = "",
    settings: dict | None = None,
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
        What the sampler stores besides the chain (e.g. whether latent draws are kept).
    settings : dict, optional
        :func:`run_settings` of the run (seed, tune, chains, particles, moves);
        ``fit_mcmc`` always passes them.  Only the settings given are checked against a
        file (the model, walkers, dimension and layout always are).

    Returns
    -------
    list
        Per chain a pair of :class:`CheckpointBackend` (tuning phase, kept draws), or
        ``None`` per chain when ``path`` is None.

    Raises
    ------
    MMSpecError
        h5py is missing; the file's directory does not exist or is not writable; the file
        is unreadable; or it holds a run of a different model, data, priors, sampler
        layout or settings (the message names which).
    """
    if path is None:
        return [None] * chains
    _h5py()
    path = _check_path(path)
    full = {
        "model": _model_hash(model),
        "walkers": int(walkers),
        "dim": int(dim),
        "layout": layout,
        **(settings or {}),
    }
    f = _open_read(path)
    if f is not None:
        with f:
            diffs = _differences(_stored_settings(f), full)
        if diffs:
            raise _mismatch(path, diffs)
    return [
        (
            CheckpointBackend(path, f"chain{c}_tune", full),
            CheckpointBackend(path, f"chain{c}", full),
        )
        for c in range(chains)
    ]
