"""#13 class 9 — results you can keep: pickling, ``res.save(path)`` / ``mmreg.load(path)``.

Every result type must pickle (no factorisation objects or closures held) and come back
*bit for bit*: after a round trip every accessor gives exactly the original's output, in
this process (the model is rebuilt from its design and design spec) and in a fresh one.
Files that are not mmreg results are refused with a named :class:`mmreg.MMDataError`.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mmreg
from mmreg.errors import MMDataError

ROOT = Path(__file__).resolve().parents[2]


@cache
def _result(kind: str):
    """Small fits; 60 members + 6 countries > 40 random effects: the sparse (SuperLU)
    factorisation that made ``pickle.dumps`` fail is used."""
    family, method = kind.split("-")
    df = mmreg.datasets.simulate_coalitions(
        n_groups=60, n_members=60, n_countries=6, family=family, seed=2
    )
    model = mmreg.MMModel(df.attrs["formula"], df, family=family)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "laplace":
            return model.fit()
        return model.fit(method="mcmc", draws=50, tune=20, chains=2, seed=1)


KINDS = [
    "gaussian-laplace",
    "weibull-laplace",
    "binomial-laplace",
    "cox-laplace",
    "gaussian-mcmc",
    "weibull-mcmc",
]


def _outputs(res) -> dict:
    """What a user reads from a result, as comparable objects."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "params": res.params,
            "bse": res.bse,
            "conf_int": res.conf_int(),
            "cov_params": res.cov_params(),
            "summary": res.summary().as_text(),
            "predict": res.predict(),
            "var_decomp": res.var_decomp() if res.family != "cox" else None,
            "random_effects": res.random_effects,
            "weights": res.weights,
        }


ACCESSORS = [
    "params",
    "bse",
    "conf_int",
    "cov_params",
    "summary",
    "predict",
    "var_decomp",
    "random_effects",
    "weights",
]


def _equal(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, pd.Series | pd.DataFrame):
        return a.equals(b) and list(a.index) == list(b.index)
    return a == b


@cache
def _round_trip(kind: str):
    res = _result(kind)
    before = _outputs(res)  # computed before pickling: profile intervals etc. are cached
    back = pickle.loads(pickle.dumps(res))
    return before, _outputs(back), back


@pytest.mark.parametrize("accessor", ACCESSORS)
@pytest.mark.parametrize("kind", KINDS)
def test_pickle_round_trip_is_exact(kind, accessor):
    before, after, back = _round_trip(kind)
    assert type(back) is type(_result(kind))
    assert _equal(before[accessor], after[accessor]), f"{kind}: {accessor} changed"


@pytest.mark.parametrize("kind", ["gaussian-laplace", "gaussian-mcmc"])
def test_pickled_result_holds_no_factor_and_original_still_works(kind):
    res = _result(kind)
    blob = pickle.dumps(res)
    assert b"SuperLU" not in blob and b"SchurFactor" not in blob
    lap = res.raw if kind.endswith("laplace") else res.raw.laplace
    assert lap.mode.factor is not None  # pickling did not strip the live object
    lap2 = pickle.loads(blob).raw
    lap2 = lap2 if kind.endswith("laplace") else lap2.laplace
    assert lap2.mode.factor is None
    np.testing.assert_array_equal(lap2.var_z, lap.var_z)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["gaussian-laplace", "weibull-mcmc"])
def test_save_load_in_a_fresh_process(kind, tmp_path):
    res = _result(kind)
    path = tmp_path / "fit.mmreg"
    res.save(path)
    script = (
        "import json, sys, warnings, mmreg\n"
        "warnings.simplefilter('ignore')\n"
        "r = mmreg.load(sys.argv[1])\n"
        "print(json.dumps({'type': type(r).__name__, 'params': r.params.tolist(),"
        " 'bse': r.bse.tolist(), 'ci': r.conf_int().to_numpy().tolist(),"
        " 'summary': r.summary().as_text(), 'predict': r.predict().tolist(),"
        " 'vd': r.var_decomp().to_numpy().tolist()}))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = {
            "type": type(res).__name__,
            "params": res.params.tolist(),
            "bse": res.bse.tolist(),
            "ci": res.conf_int().to_numpy().tolist(),
            "summary": res.summary().as_text(),
            "predict": res.predict().tolist(),
            "vd": res.var_decomp().to_numpy().tolist(),
        }
    # JSON writes floats by repr (exact round trip) and NaN as NaN: compare the texts
    assert out.stdout.strip() == json.dumps(want)


def _mmreg_file(tmp_path: Path) -> bytes:
    path = tmp_path / "ok.mmreg"
    _result("gaussian-laplace").save(path)
    return path.read_bytes()


BAD_FILES = {
    "csv": (lambda ok: b"gid,pid,y\n1,2,3.5\n", ("not an mmreg result file", "res.save")),
    "empty": (lambda ok: b"", ("not an mmreg result file",)),
    "plain pickle of a result": (
        lambda ok: pickle.dumps(_result("gaussian-laplace")),
        ("not an mmreg result file",),
    ),
    "truncated": (lambda ok: ok[: len(ok) // 2], ("damaged", "save the result again")),
    "newer format": (
        lambda ok: ok.replace(b'"format": 1', b'"format": 99', 1),
        ("format 99", "upgrade mmreg"),
    ),
    "damaged header": (
        lambda ok: ok.replace(b'{"format": 1', b'{"formt": 1', 1),
        ("header", "damaged"),
    ),
    "header on another object": (
        lambda ok: ok.split(b"\n", 1)[0] + b"\n" + pickle.dumps({"params": [1.0]}),
        ("does not hold mmreg results", "dict"),
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_load_refuses_files_that_are_not_results(case, tmp_path):
    make, fragments = BAD_FILES[case]
    path = tmp_path / "bad.mmreg"
    path.write_bytes(make(_mmreg_file(tmp_path)))
    with pytest.raises(MMDataError) as err:
        mmreg.load(path)
    msg = str(err.value)
    assert "bad.mmreg" in msg
    for f in fragments:
        assert f in msg


@pytest.mark.parametrize("obj", [{"params": 1}, pd.Series([1.0])], ids=["dict", "series"])
def test_save_refuses_non_results(obj, tmp_path):
    from mmreg.io import save

    with pytest.raises(MMDataError, match="save\\(\\) writes mmreg results"):
        save(obj, tmp_path / "x.mmreg")
    assert not (tmp_path / "x.mmreg").exists()


@pytest.mark.parametrize("family", ["gaussian", "weibull", "binomial"])
def test_round_trip_before_anything_is_cached(family):
    """Pickled straight after fit(): profile intervals, llf and var_z are computed after
    loading, from the rebuilt model and the stored arrays, and equal the original's."""
    df = mmreg.datasets.simulate_coalitions(
        n_groups=60, n_members=60, n_countries=6, family=family, seed=3
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mmreg.MMModel(df.attrs["formula"], df, family=family).fit()
        back = pickle.loads(pickle.dumps(res))
        assert "_profile_cache" not in vars(back) and "llf" not in vars(back)
        assert back.conf_int().equals(res.conf_int())
        assert back.llf == res.llf
        assert _equal(back.random_effects, res.random_effects)
        assert back.summary().as_text() == res.summary().as_text()


EXTRA_MODELS = {
    "bml prior strings": dict(
        family="gaussian", priors=["b.w.1 ~ dnorm(0, 1)"], weights="estimated"
    ),
    "prior objects": dict(
        family="gaussian", priors={"mm1.w.*": "Normal(0, 3)"}, weights="estimated"
    ),
    "cox intervals": dict(family="cox", cox_intervals=5),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(EXTRA_MODELS))
def test_round_trip_keeps_priors_and_options(case):
    opts = dict(EXTRA_MODELS[case])
    family, weights = opts.pop("family"), opts.pop("weights", "equal")
    if isinstance(opts.get("priors"), dict):
        from mmreg.priors import Normal

        opts["priors"] = {"mm1.w.*": Normal(0, 3)}
    df = mmreg.datasets.simulate_coalitions(
        n_groups=60, n_members=30, n_countries=6, family=family, weights=weights, seed=4
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mmreg.MMModel(df.attrs["formula"], df, family=family, **opts).fit()
        back = pickle.loads(pickle.dumps(res))
        assert back.model.priors.keys() == res.model.priors.keys()
        assert repr(back.model.priors) == repr(res.model.priors)
        assert back.summary().as_text() == res.summary().as_text()
        if family == "cox":
            assert back.baseline_hazard().equals(res.baseline_hazard())
            assert len(back.baseline_hazard()) == 5
        else:
            assert _equal(back.weights, res.weights)
