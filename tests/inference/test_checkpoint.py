"""MCMC checkpoints (``backend="run.h5"``): resume after SIGKILL, no resampling of a finished
run, refusal of files of other models, and no corrupt file after a kill during a write.

References: an uninterrupted run of the same model (posterior means must agree within
Monte Carlo error: |Δ| ≤ 5 standard errors from batch means computed here), the draws of the
first complete run (bit for bit), and the requested numbers of steps.  Runs that are killed
are separate Python processes (``subprocess``) killed with SIGKILL after a random delay.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import emcee
import numpy as np
import pytest

import mmreg
from mmreg.inference import backend as ckpt
from mmreg.inference.mcmc import sampler_layout

h5py = pytest.importorskip("h5py")
if not hasattr(signal, "SIGKILL"):  # pragma: no cover
    pytest.skip("needs POSIX signals", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
SIM = {"n_groups": 150, "n_members": 60, "n_countries": 10, "seed": 3}
TRUTH = {"sigma.mm1": 1.0}
WALKERS = 16  # default for 3 hyperparameters
TUNE, STEPS, CHAINS = 60, 60, 2
RUN = {"method": "mcmc", "draws": STEPS * WALKERS, "tune": TUNE, "chains": CHAINS, "seed": 7}

SCRIPT = textwrap.dedent(f"""
    import sys, warnings
    import mmreg
    from mmreg.inference import backend
    warnings.simplefilter("ignore")
    backend.MIN_INTERVAL = float(sys.argv[2])
    df = mmreg.datasets.simulate_coalitions(**{SIM!r}, **{TRUTH!r})
    model = mmreg.MMModel(df.attrs["formula"], df, family="gaussian")
    print("sampling", flush=True)
    model.fit(backend=sys.argv[1], **{RUN!r})
    print("done", flush=True)
""")


def _model(**overrides) -> mmreg.MMModel:
    df = mmreg.datasets.simulate_coalitions(**SIM, **TRUTH)
    return mmreg.MMModel(df.attrs["formula"], df, family="gaussian", **overrides)


def _fit(model, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # emcee: -inf - -inf, rejected moves
        return model.fit(**{**RUN, **kw})


@pytest.fixture(scope="module")
def model():
    return _model()


@pytest.fixture(scope="module")
def reference(model):
    """An uninterrupted run without checkpoints."""
    return _fit(model)


def _run_and_kill(
    path: Path, interval: float, delay: float | None = None, at: tuple[str, int] | None = None
) -> bool:
    """Run the fit in a subprocess and SIGKILL it.

    The kill comes ``delay`` seconds after sampling started, or as soon as the checkpoint
    file shows group ``at[0]`` with at least ``at[1]`` saved steps (the file is polled
    while the run writes it).  Returns True if the process was killed before finishing.
    """
    script = path.parent / "run_fit.py"
    script.write_text(SCRIPT)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, str(script), str(path), str(interval)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        line = proc.stdout.readline()
        assert line.strip() == b"sampling", proc.stderr.read().decode()
        if at is None:
            time.sleep(delay)
        else:
            while proc.poll() is None and _saved_iterations(path).get(at[0], 0) < at[1]:
                time.sleep(0.005)
        killed = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:  # pragma: no cover
            proc.kill()
            proc.wait()
    return killed


def _saved_iterations(path: Path) -> dict[str, int]:
    """Group -> saved iteration, read with emcee's own HDF5 reader (file format contract)."""
    if not path.exists():
        return {}
    with h5py.File(path, "r") as f:
        names = list(f)
    return {
        n: int(emcee.backends.HDFBackend(str(path), name=n, read_only=True).iteration)
        for n in names
    }


def _mcse(draws, col: str, transform=None) -> tuple[float, float]:
    """Posterior mean and its Monte Carlo SE: batch means of the walker-averaged series."""
    means, var = [], []
    for _, d in draws.groupby("chain"):
        x = d.sort_values(["draw", "walker"])[col].to_numpy()
        x = transform(x) if transform else x
        series = x.reshape(-1, WALKERS).mean(axis=1)  # one value per ensemble step
        batches = series[: len(series) // 6 * 6].reshape(6, -1).mean(axis=1)
        means.append(series.mean())
        var.append(batches.var(ddof=1) / 6)
    return float(np.mean(means)), float(np.sqrt(np.sum(var)) / len(var))


def _assert_same_posterior(res, ref):
    assert set(res.draws.columns) == set(ref.draws.columns)
    for col in ref.params.index:
        tr = np.log if col.startswith("sigma") else None  # heavy-tailed SDs: log scale
        m1, s1 = _mcse(res.draws, col, tr)
        m2, s2 = _mcse(ref.draws, col, tr)
        assert abs(m1 - m2) <= 5 * np.hypot(s1, s2), (col, m1, m2, s1, s2)


# ----------------------------------------------------------------------------- (a) resume
@pytest.mark.slow
def test_resume_after_sigkill_gives_full_valid_run(model, reference, tmp_path, monkeypatch):
    path = tmp_path / "run.h5"
    rng = np.random.default_rng(2024)
    # kill in the middle of the tuning phase of chain 0, then (after resuming) in the middle
    # of its kept phase, at random steps; checkpoints every 0.05 s.  The file is polled, so
    # the process may run a few more steps before the signal lands: leave a margin.
    mid_phase = 0
    for group, target in (("chain0_tune", TUNE), ("chain0", STEPS)):
        k = int(rng.integers(5, target - 25))
        assert _run_and_kill(path, 0.05, at=(group, k))
        mid_phase += k <= _saved_iterations(path)[group] < target
    assert mid_phase >= 1  # at least one kill interrupted a phase part-way
    saved = _saved_iterations(path)
    sampled = []
    run_mcmc = emcee.EnsembleSampler.run_mcmc

    def counting(self, initial_state, nsteps, **kw):
        sampled.append(nsteps)
        return run_mcmc(self, initial_state, nsteps, **kw)

    monkeypatch.setattr(emcee.EnsembleSampler, "run_mcmc", counting)
    res = _fit(model, backend=str(path))
    # it resumed: only the steps missing from the checkpoint were sampled (tuning runs in
    # stages, so one phase may take several run_mcmc calls)
    missing = [
        (TUNE if phase else STEPS) - saved.get(f"chain{c}{phase}", 0)
        for c in range(CHAINS)
        for phase in ("_tune", "")
    ]
    assert sum(sampled) == sum(m for m in missing if m > 0)
    assert sum(sampled) < CHAINS * (TUNE + STEPS)
    # the requested run: every phase complete, requested number of draws
    assert _saved_iterations(path) == {
        f"chain{c}{s}": (TUNE if s else STEPS) for c in range(CHAINS) for s in ("", "_tune")
    }
    assert res.draws.shape == reference.draws.shape
    assert len(res.draws) == CHAINS * STEPS * WALKERS
    assert np.all(np.isfinite(res.draws.to_numpy()))
    _assert_same_posterior(res, reference)


@pytest.mark.slow
def test_mcse_check_detects_a_different_posterior(model, reference):
    """The tolerance above is not vacuous: a moderately different posterior fails it."""
    other = _model(priors={"sigma": mmreg.priors.HalfNormal(0.3)})
    with pytest.raises(AssertionError):
        _assert_same_posterior(_fit(other), reference)


# ------------------------------------------------------------ (b) finished run not resampled
def test_rerun_of_finished_run_does_not_sample(model, tmp_path, monkeypatch):
    path = tmp_path / "run.h5"
    first = _fit(model, backend=str(path), tune=10, draws=5 * WALKERS)
    content = path.read_bytes()

    def no_sampling(*args, **kwargs):
        raise AssertionError("sampled again")

    monkeypatch.setattr(emcee.EnsembleSampler, "run_mcmc", no_sampling)
    again = _fit(model, backend=str(path), tune=10, draws=5 * WALKERS)
    assert np.array_equal(again.draws.to_numpy(), first.draws.to_numpy())
    assert path.read_bytes() == content  # nothing written either
    # fewer draws than stored: the first ones, still without sampling
    fewer = _fit(model, backend=str(path), tune=10, draws=3 * WALKERS)
    assert np.array_equal(
        fewer.draws.to_numpy(), first.draws[first.draws["draw"] < 3 * WALKERS].to_numpy()
    )


def test_checkpointed_run_equals_run_without_checkpoints(model, tmp_path):
    plain = _fit(model, tune=10, draws=5 * WALKERS)
    saved = _fit(model, tune=10, draws=5 * WALKERS, backend=str(tmp_path / "run.h5"))
    assert np.array_equal(saved.draws.to_numpy(), plain.draws.to_numpy())


def test_chains_in_parallel_processes_share_one_file(model, tmp_path, monkeypatch):
    path = tmp_path / "run.h5"
    par = _fit(model, backend=str(path), tune=10, draws=5 * WALKERS, cores=2)
    assert _saved_iterations(path) == {
        "chain0": 5,
        "chain0_tune": 10,
        "chain1": 5,
        "chain1_tune": 10,
    }
    monkeypatch.setattr(emcee.EnsembleSampler, "run_mcmc", None)  # must not sample
    again = _fit(model, backend=str(path), tune=10, draws=5 * WALKERS)
    assert np.array_equal(again.draws.to_numpy(), par.draws.to_numpy())


# --------------------------------------------------------------- (c) other model refused
def _changed_data(column: str, fn):
    df = mmreg.datasets.simulate_coalitions(**SIM, **TRUTH)
    df[column] = fn(df[column])
    return df


@pytest.mark.parametrize(
    "change",
    ["outcome", "member covariate", "country ids", "priors", "formula", "walkers", "weight column"],
)
def test_file_of_another_model_is_refused(change, tmp_path):
    path = tmp_path / "run.h5"
    base = _model()
    walkers = WALKERS
    if change == "weight column":
        # weights that depend on a column only through the weight function
        df = mmreg.datasets.simulate_coalitions(weights="estimated", **SIM, **TRUTH)
        base = mmreg.MMModel(df.attrs["formula"], df)
        other = mmreg.MMModel(df.attrs["formula"], df.assign(pseat=df["pseat"] * 0.9))
    elif change == "outcome":
        other = mmreg.MMModel(base.formula, _changed_data("y", lambda s: s + 0.01))
    elif change == "member covariate":
        other = mmreg.MMModel(base.formula, _changed_data("finance", lambda s: -s))
    elif change == "country ids":  # countries 1 and 2 merged: same columns, other structure
        other = mmreg.MMModel(base.formula, _changed_data("cid", lambda s: s.where(s != 2, 1)))
    elif change == "priors":
        other = _model(priors={"sigma.hm1": mmreg.priors.HalfNormal(1.0)})
    elif change == "formula":
        other = mmreg.MMModel(
            base.formula.replace("vars(finance)", "vars(rile)"),
            mmreg.datasets.simulate_coalitions(**SIM, **TRUTH),
        )
    else:
        other, walkers = base, WALKERS + 2
    first = _fit(base, backend=str(path), tune=2, draws=WALKERS)
    content = path.read_bytes()
    with pytest.raises(mmreg.MMSpecError, match=str(path)):
        _fit(other, backend=str(path), tune=2, draws=WALKERS, walkers=walkers)
    assert path.read_bytes() == content  # left as it was
    # and the original model still resumes from it
    again = _fit(base, backend=str(path), tune=2, draws=WALKERS)
    assert np.array_equal(again.draws.to_numpy(), first.draws.to_numpy())


def test_same_model_rebuilt_from_equal_data_is_accepted(tmp_path):
    path = tmp_path / "run.h5"
    first = _fit(_model(), backend=str(path), tune=2, draws=WALKERS)
    df = mmreg.datasets.simulate_coalitions(**SIM, **TRUTH).sample(frac=1.0, random_state=1)
    shuffled = mmreg.MMModel(df.attrs["formula"], df)  # row order never matters
    again = _fit(shuffled, backend=str(path), tune=2, draws=WALKERS)
    assert np.array_equal(again.draws.to_numpy(), first.draws.to_numpy())


@pytest.mark.parametrize("damage", ["truncated", "garbage", "foreign hdf5"])
def test_unreadable_or_foreign_file_is_refused(model, tmp_path, damage):
    path = tmp_path / "run.h5"
    if damage == "foreign hdf5":
        with h5py.File(path, "w") as f:
            f["x"] = np.arange(3)
    else:
        _fit(model, backend=str(path), tune=2, draws=WALKERS)
        data = path.read_bytes()
        path.write_bytes(
            data[: len(data) // 2]
            if damage == "truncated"
            else bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8))
        )
    content = path.read_bytes()
    with pytest.raises(mmreg.MMSpecError, match="not a readable mmreg checkpoint") as err:
        _fit(model, backend=str(path), tune=2, draws=WALKERS)
    assert str(path) in str(err.value)
    assert path.read_bytes() == content  # never silently overwritten


@pytest.mark.parametrize("bad", ["no_such_folder/run.h5", ".", 3.5])
def test_bad_backend_argument(model, tmp_path, bad):
    arg = str(tmp_path / bad) if isinstance(bad, str) else bad
    with pytest.raises(mmreg.MMSpecError, match="backend"):
        ckpt.open_backends(arg, model, CHAINS, WALKERS, model.space.dim)


def test_empty_file_is_a_fresh_start(model, tmp_path):
    path = tmp_path / "run.h5"
    path.touch()  # e.g. made by tempfile
    res = _fit(model, backend=str(path), tune=5, draws=2 * WALKERS)
    plain = _fit(model, tune=5, draws=2 * WALKERS)
    assert np.array_equal(res.draws.to_numpy(), plain.draws.to_numpy())


# ------------------------------------------------------- (d) SIGKILL during the HDF5 write
@pytest.mark.slow
def test_sigkill_during_checkpoint_writes_never_corrupts_the_file(model, reference, tmp_path):
    """Checkpoint after every step (MIN_INTERVAL = 0) so kills often land in a write."""
    path = tmp_path / "run.h5"
    (tmp_path / "run.h5.tmp").write_bytes(b"stale unfinished checkpoint")  # ignored
    rng = np.random.default_rng(11)
    previous: dict[str, int] = {}
    for _ in range(4):
        _run_and_kill(path, 0.0, delay=rng.uniform(0.05, 1.0))
        saved = _saved_iterations(path)  # raises if the file were unreadable
        # every kill loses at most the step being written: progress never goes back
        assert all(saved.get(k, 0) >= v for k, v in previous.items())
        previous = saved
        ckpt.open_backends(
            str(path), model, CHAINS, WALKERS, model.space.dim, layout=sampler_layout(model)
        )
    assert sum(previous.values()) > 0
    res = _fit(model, backend=str(path))
    assert res.draws.shape == reference.draws.shape
    _assert_same_posterior(res, reference)
