"""#13 class 8: a checkpoint file is only ever continued by the same model, data and run
settings, and by one run at a time.

Each refused case asserts an ``MMSpecError`` naming what differs, that the file is left
byte for byte as it was, and that no work (Laplace fit, sampling) was started.  References
for the accepted cases: the draws of the first run, bit for bit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import emcee
import numpy as np
import pytest

import mmreg
from mmreg.inference import backend as ckpt
from mmreg.inference import mcmc as mcmc_mod
from mmreg.inference.fingerprint import run_settings

h5py = pytest.importorskip("h5py")
pytest.importorskip("fcntl")

ROOT = Path(__file__).resolve().parents[2]
SIM = {"n_groups": 60, "n_members": 30, "n_countries": 6, "seed": 2}
BASE = {"method": "mcmc", "tune": 4, "draws": 32, "chains": 2, "seed": 1}


def _fail(*args, **kwargs):
    raise AssertionError("work started on a refused checkpoint")


def _data(**over):
    return mmreg.datasets.simulate_coalitions(**SIM, **over)


def _model(df=None, **kw):
    df = _data() if df is None else df
    return mmreg.MMModel(df.attrs["formula"], df, **kw)


def _fit(model, path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", mmreg.MMWarning)  # flat SD of the tiny binomial fit
        return model.fit(backend=str(path), **{**BASE, **kw})


def _binomial():
    df = _data(family="binomial")
    return mmreg.MMModel(df.attrs["formula"], df, family="binomial")


# change -> (base model factory, base options, other model factory, other options, fragment)
CASES = {
    "seed": (_model, {}, _model, {"seed": 2}, "seed=1 in the file, seed=2 in this run"),
    "tune": (_model, {}, _model, {"tune": 6}, "tune=4 in the file, tune=6 in this run"),
    "chains": (_model, {}, _model, {"chains": 3}, "chains=2 in the file, chains=3"),
    "fewer chains": (_model, {}, _model, {"chains": 1}, "chains=2 in the file, chains=1"),
    "walkers": (_model, {}, _model, {"walkers": 18}, "walkers=16 in the file, walkers=18"),
    "moves": (_model, {}, _model, {"moves": emcee.moves.DEMove()}, "moves differs"),
    "particles": (
        _binomial,
        {"chains": 1},
        _binomial,
        {"chains": 1, "particles": 4},
        # the default run chose its particles from the data: recorded as "auto"
        "particles='auto' in the file, particles=4",
    ),
    "outcome": (
        _model,
        {},
        lambda: _model(_data().assign(y=lambda d: d["y"] + 0.01)),
        {},
        "model, data or priors differ",
    ),
    "member covariate": (
        _model,
        {},
        lambda: _model(_data().assign(finance=lambda d: -d["finance"])),
        {},
        "model, data or priors differ",
    ),
    "priors": (
        _model,
        {},
        lambda: _model(priors={"sigma": mmreg.priors.HalfNormal(2.0)}),
        {},
        "model, data or priors differ",
    ),
    "formula": (
        _model,
        {},
        lambda: mmreg.MMModel(
            _data().attrs["formula"].replace("vars(finance)", "vars(rile)"), _data()
        ),
        {},
        "model, data or priors differ",
    ),
    "family": (_model, {}, lambda: _model(family=mmreg.families.get_family("gaussian")), {}, None),
}


@pytest.mark.parametrize("change", list(CASES))
def test_other_run_is_refused_before_any_work(change, tmp_path, monkeypatch):
    base_f, base_kw, other_f, other_kw, fragment = CASES[change]
    path = tmp_path / "run.h5"
    base = base_f()
    first = _fit(base, path, **base_kw)
    content = path.read_bytes()
    other = other_f()
    if fragment is None:  # the same model given as a Family object: accepted, no sampling
        monkeypatch.setattr(emcee.EnsembleSampler, "run_mcmc", _fail)
        again = _fit(other, path, **{**base_kw, **other_kw})
        assert np.array_equal(again.draws.to_numpy(), first.draws.to_numpy())
        return
    with monkeypatch.context() as mp:
        mp.setattr(mcmc_mod, "fit_laplace", _fail)
        mp.setattr(emcee.EnsembleSampler, "run_mcmc", _fail)
        with pytest.raises(mmreg.MMSpecError) as err:
            _fit(other, path, **{**base_kw, **other_kw})
    msg = str(err.value)
    assert fragment in msg and str(path) in msg and "another backend= file" in msg
    assert path.read_bytes() == content
    # the lock was released and the original run still resumes, without sampling
    monkeypatch.setattr(emcee.EnsembleSampler, "run_mcmc", _fail)
    again = _fit(base, path, **base_kw)
    assert np.array_equal(again.draws.to_numpy(), first.draws.to_numpy())


def test_seed_none_resumes_with_the_stored_seed(tmp_path, monkeypatch):
    path = tmp_path / "run.h5"
    model = _model()
    first = _fit(model, path)
    with h5py.File(path, "r") as f:
        assert json.loads(f.attrs["mmreg_settings"])["seed"] == 1
    monkeypatch.setattr(emcee.EnsembleSampler, "run_mcmc", _fail)
    again = _fit(model, path, seed=None)
    assert np.array_equal(again.draws.to_numpy(), first.draws.to_numpy())


def test_seed_none_without_file_records_the_drawn_seed(tmp_path):
    path = tmp_path / "run.h5"
    model = _model()
    first = _fit(model, path, seed=None)
    with h5py.File(path, "r") as f:
        seed = json.loads(f.attrs["mmreg_settings"])["seed"]
    assert isinstance(seed, int) and seed >= 0
    plain = _fit(model, tmp_path / "other.h5", seed=seed)  # the recorded seed reproduces it
    assert np.array_equal(plain.draws.to_numpy(), first.draws.to_numpy())


def test_file_of_an_older_mmreg_without_settings_is_refused(tmp_path):
    path = tmp_path / "run.h5"
    model = _model()
    _fit(model, path)
    with h5py.File(path, "a") as f:
        del f.attrs["mmreg_settings"]
    content = path.read_bytes()
    with pytest.raises(mmreg.MMSpecError, match="not recorded in the file"):
        _fit(model, path)
    assert path.read_bytes() == content


def test_moves_are_fingerprinted_by_their_settings():
    de = run_settings(1, 4, 2, 16, 0, emcee.moves.DEMove(gamma0=0.5))["moves"]
    assert de == run_settings(1, 4, 2, 16, 0, emcee.moves.DEMove(gamma0=0.5))["moves"]
    assert de != run_settings(1, 4, 2, 16, 0, emcee.moves.DEMove(gamma0=0.7))["moves"]
    assert de != run_settings(1, 4, 2, 16, 0, emcee.moves.StretchMove())["moves"]
    assert run_settings(1, 4, 2, 16, 0, None)["moves"] == "default"


# ------------------------------------------------------------------ concurrent writers
HOLDER = textwrap.dedent("""
    import sys, time
    from mmreg.inference.backend import run_lock
    with run_lock(sys.argv[1]):
        print("locked", flush=True)
        sys.stdin.readline()  # hold the lock until told to stop
""")


@pytest.mark.slow
def test_second_process_is_refused_while_a_run_holds_the_file(tmp_path, monkeypatch):
    path = tmp_path / "run.h5"
    model = _model()
    first = _fit(model, path)
    content = path.read_bytes()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout.readline().strip() == b"locked"
        with monkeypatch.context() as mp:
            mp.setattr(mcmc_mod, "fit_laplace", _fail)
            with pytest.raises(
                mmreg.MMSpecError, match=rf"in use by another running fit \(process {proc.pid}"
            ):
                _fit(model, path)
        assert path.read_bytes() == content
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    monkeypatch.setattr(emcee.EnsembleSampler, "run_mcmc", _fail)
    again = _fit(model, path)  # released: resumes
    assert np.array_equal(again.draws.to_numpy(), first.draws.to_numpy())


def test_second_open_in_the_same_process_is_refused(tmp_path):
    path = tmp_path / "run.h5"
    with ckpt.run_lock(str(path)):
        with pytest.raises(mmreg.MMSpecError, match="in use by another running fit"):
            _fit(_model(), path)
    assert not path.exists()  # nothing written by the refused run


def _backends(path, model, seed):
    settings = run_settings(seed, 4, 1, 16, 0)
    ((tb, _),) = ckpt.open_backends(
        str(path),
        model,
        1,
        16,
        model.space.dim,
        layout=mcmc_mod.sampler_layout(model),
        settings=settings,
    )
    return tb


def _rewrite_seed(path, seed):
    """Another run (which ignored the lock, e.g. on a file system without locks)."""
    with h5py.File(path, "a") as f:
        s = json.loads(f.attrs["mmreg_settings"])
        f.attrs["mmreg_settings"] = json.dumps({**s, "seed": seed}, sort_keys=True)


def test_write_after_another_run_rewrote_the_file_is_refused(tmp_path):
    path = tmp_path / "run.h5"
    model = _model()
    tb = _backends(path, model, seed=1)
    tb.reset(16, model.space.dim)
    tb.flush()  # first checkpoint of this run
    _rewrite_seed(path, 99)
    content = path.read_bytes()
    with pytest.raises(mmreg.MMSpecError, match=r"rewritten by another process.*seed=99"):
        tb.flush()
    assert path.read_bytes() == content
    assert not Path(str(path) + ".tmp").exists()


def test_resume_of_a_phase_checks_the_file_again(tmp_path):
    path = tmp_path / "run.h5"
    model = _model()
    tb = _backends(path, model, seed=1)
    tb.reset(16, model.space.dim)
    tb.flush()
    _rewrite_seed(path, 5)
    with pytest.raises(mmreg.MMSpecError, match="seed=5 in the file, seed=1 in this run"):
        ckpt.CheckpointBackend(str(path), "chain0", tb.settings)
