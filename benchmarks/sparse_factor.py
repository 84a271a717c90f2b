"""One factorisation of a sparse random-effect block H_rr: SuperLU against CHOLMOD (#18).

    python -m benchmarks.sparse_factor [--groups 1000,3000,10000] [--reps 50]
                                       [--others 200,1000,3000,10000,30000]

For coalgov's gaus_ar (random walk of the party effects, 2,106 states; skipped without
``../shared``) and simulated random walks (``simulate_coalitions``, ``ar = TRUE``) with the
given numbers of groups, H_rr is filled at curvature 1 with the model's loadings and unit
prior multipliers, then factored ``--reps`` times (wall ms per
factorisation, one BLAS thread, the first call excluded) by:

* SuperLU as mmreg uses it without the ``cholmod`` extra (its fill-reducing order and
  supernode options, the pattern's layout);
* CHOLMOD's simplicial LDLᵀ in an AMD order (the default with the extra below
  ``SparsePattern.CHOLMOD_MIN_Q`` states);
* CHOLMOD's supernodal LLᵀ in a METIS order (the default from that size).

Also printed: nnz(L) of each CHOLMOD factor and the largest relative difference of the
log-determinants (all three factor the same matrix).

A second table takes the H_rr that the cost rules give, without the extra, to a LAPACK band
or to batched dense blocks — coalgov's parties in countries (gaus_hm), with a country slope
of ``majority`` and with a party slope of ``cohesion``, and simulated coalitions
(``simulate_coalitions``) with the ``--others`` numbers of groups — and times what an
evaluation asks of the factor: the factorisation, a solve with P + 1 right-hand sides (the
Schur complement's and the mode's) and one draw, by that factor and by CHOLMOD's simplicial
one (wall µs, one BLAS thread).  Needs scikit-sparse.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

import mmreg
from benchmarks._util import coalgov_or_none, machine, pin_blas
from mmreg.inference import cholmod
from mmreg.inference.pattern import SparsePattern


def _ms(f, reps: int) -> float:
    f()
    t0 = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t0) / reps * 1e3


def _walk_models(groups: list[int]):
    """The models, built without CHOLMOD so that their patterns plan SuperLU."""
    SparsePattern.use_cholmod = False
    try:
        yield from _build(groups)
    finally:
        SparsePattern.use_cholmod = True


def _build(groups: list[int]):
    df = coalgov_or_none()
    if df is not None:
        from validation.reference_models import build_model

        yield "coalgov gaus_ar", build_model("gaus_ar", df)
    for n in groups:
        sim = mmreg.datasets.simulate_coalitions(
            n_groups=n, n_members=max(n // 5, 20), n_countries=max(29, n // 1000), seed=1
        )
        f = sim.attrs["formula"].replace("RE = TRUE)", "RE = TRUE, ar = TRUE)")
        yield f"walk, {n:,} groups", mmreg.MMModel(f, sim)


def _row(name: str, model, reps: int) -> dict:
    lat, pat = model.latent, model.latent.pattern
    _, R, _ = lat.assemble(model.space.hyper(np.zeros(model.space.dim)).theta)
    data = pat.fill(R.data, np.ones(lat.n), np.ones(int(pat.qblock.max()) + 1))
    H = sp.csc_matrix((data, pat.indices, pat.indptr), shape=(pat.q, pat.q))
    out = {"H_rr": name, "states": pat.q, "no extra": pat.kind}
    out["SuperLU ms"] = _ms(lambda: pat.factor_rr(data), reps) if pat.kind == "superlu" else np.nan
    logdets = [pat.factor_rr(data).logdet] if pat.kind == "superlu" else []
    for label, supernodal in (("simplicial", False), ("supernodal", True)):
        sym = cholmod.symbolic(H, supernodal=supernodal)
        out[f"{label} ms"] = _ms(lambda sym=sym: sym.cholesky(H), reps)
        F = sym.cholesky(H)
        out[f"{label} nnz(L)"] = int(F.L().nnz)
        logdets.append(float(F.logdet()))
    out["logdet rel diff"] = float(np.ptp(logdets) / abs(np.mean(logdets)))
    return out


def _other_models(groups: list[int]):
    """Models whose H_rr the cost rules give to a band or dense blocks without the extra."""
    df = coalgov_or_none()
    if df is not None:
        from validation.reference_models import MODELS, build_model

        yield "coalgov parties in countries", build_model("gaus_hm", df)
        base = MODELS["gaus_hm"].formula
        hm = 'hm(id = id(cid), type = "RE")'
        slope = base.replace(hm, "hm(id = id(cid), RE = re(1 + majority))")
        yield "coalgov + country slope", mmreg.MMModel(slope, df)
        member = base.replace("RE = TRUE)", "RE = re(1 + cohesion))")
        yield "coalgov + party slope", mmreg.MMModel(member, df)
    for n in groups:
        countries = max(min(29, n // 20), n // 1000)
        sim = mmreg.datasets.simulate_coalitions(
            n_groups=n, n_members=max(n // 5, 2 * countries), n_countries=countries, seed=1
        )
        yield f"simulated, {n:,} groups", mmreg.MMModel(sim.attrs["formula"], sim)


def _evaluation_row(name: str, model, reps: int) -> dict:
    """µs of a factorisation, a solve with P + 1 columns and a draw: the planned factor
    (without the extra) against CHOLMOD's simplicial one, on the same H_rr."""
    lat, pat = model.latent, model.latent.pattern
    _, R, _ = lat.assemble(model.space.hyper(np.zeros(model.space.dim)).theta)
    data = pat.fill(R.data, np.ones(lat.n), np.ones(int(pat.qblock.max()) + 1))
    H = sp.csc_matrix((data, pat.indices, pat.indptr), shape=(pat.q, pat.q))
    B, eps = np.ones((pat.q, lat.P + 1)), np.ones((pat.q, 1))
    sym = cholmod.symbolic(H, supernodal=False)
    out = {"H_rr": name, "states": pat.q, "no extra": pat.kind}
    logdets = []
    for label, make in (
        ("planned", lambda: pat.factor_rr(data)),
        ("simplicial", lambda: cholmod.CholmodRR(sym, H, blas=False)),
    ):
        f = make()
        logdets.append(f.logdet)
        parts = (
            _ms(make, reps),
            _ms(lambda f=f: f.solve(B), reps),
            _ms(lambda f=f: f.sample(eps), reps),
        )
        out[f"{label} µs (factor/solve/draw)"] = "/".join(f"{1e3 * t:.0f}" for t in parts)
        out[f"{label} µs total"] = 1e3 * sum(parts)
    out["logdet rel diff"] = float(abs(logdets[0] - logdets[1]) / abs(logdets[0]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", default="1000,3000,10000")
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--others", default="200,1000,3000,10000,30000")
    args = ap.parse_args()
    if not cholmod.available():
        print("skipped: scikit-sparse (the cholmod extra) is not installed")
        return
    pin_blas()
    cholmod.threads = 1
    groups = [int(g) for g in args.groups.split(",") if g]
    rows = []
    for name, model in _walk_models(groups):
        reps = args.reps if model.latent.pattern.q < 5000 else max(3, args.reps // 10)
        rows.append(_row(name, model, reps))
    print(f"One factorisation of H_rr, wall ms, BLAS 1 thread ({machine()})")
    with pd.option_context("display.width", 200, "display.float_format", "{:.3g}".format):
        print(pd.DataFrame(rows).to_string(index=False))
    others = [int(g) for g in args.others.split(",") if g]
    rows = []
    SparsePattern.use_cholmod = False  # plan the factors the cost rules choose without it
    try:
        for name, model in _other_models(others):
            reps = args.reps * 4 if model.latent.pattern.q < 1000 else args.reps
            rows.append(_evaluation_row(name, model, reps))
    finally:
        SparsePattern.use_cholmod = True
    print(f"\nWhat an evaluation asks of the factor, wall µs, BLAS 1 thread ({machine()})")
    with pd.option_context("display.width", 200, "display.float_format", "{:.3g}".format):
        print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
