"""How much of the importance weights' spread no Gaussian proposal can remove (issue #18).

    python -m benchmarks.is_floor [--models weib_hm,binom_hm,sim10000] [--steps 0,2]
                                  [--draws 4000]

The pseudo-marginal estimate of p(y | ψ) averages weights p(y, z | ψ) / q(z) over particles
from the Laplace Gaussian q = N(ẑ + δ, H⁻¹) (:mod:`mmreg.inference.importance`).  Around the
mode, log p(y, z | ψ) is the quadratic of q plus the higher Taylor terms of the rows'
log-likelihoods in ε_i = η_i − η̂_i; as Hermite polynomials under q (v_i = Var ε_i),

    He₃:  Σ ℓ‴_i / 6 · (ε_i³ − 3 v_i ε_i),    He₄:  Σ ℓ⁗_i / 24 · (ε_i⁴ − 6 v_i ε_i² + 3 v_i²).

Both are orthogonal to every quadratic function of z, i.e. to anything a change of the
proposal's mean or covariance can remove (log q is quadratic in z): their SD is a floor
for the per-particle log-weight SD of any Gaussian proposal (to first order: the Hermite
terms are those of the Laplace proposal, so the floor holds for proposals near it).  For
every model and point this prints the measured per-particle log-weight SD of mmreg's
proposal (independent draws), the SD of He₃ + He₄ and of He₃ alone (the same draws), and n,
the rows.

Models: a coalgov reference model (``validation/reference_models.py``), or ``simN`` for
the simulated Weibull data of ``benchmarks/scale.py`` with N groups.  Points: the Laplace
mode of ψ moved by ``step`` Laplace SDs along the first free hyperparameter (the first RE
SD on the default models; a weight parameter comes first where there is one).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import mmreg
from benchmarks._util import coalgov_or_none, pin_blas, scale_data
from mmreg.inference.eta import linear_predictor
from mmreg.inference.importance import eta_variance, particle_log_density
from mmreg.inference.laplace import fit_laplace
from mmreg.inference.logpost import LogPosterior, as_posterior
from validation.reference_models import build_model

#: step of the central differences of the curvature that give ℓ‴ and ℓ⁗
_H = 1e-3


def _model(name: str):
    """The model ``name``: ``simN`` or a coalgov reference model (None without coalgov)."""
    if name.startswith("sim"):
        df = scale_data(int(name[3:]), "weibull")
        return mmreg.MMModel(df.attrs["formula"], df, family="weibull")
    df = coalgov_or_none()
    return None if df is None else build_model(name, df)


def floor_at(lp: LogPosterior, u: np.ndarray, draws: int, seed: int = 3) -> dict:
    """Measured log-weight SD of mmreg's proposal at ``u`` and the Gaussian floor."""
    lat, fam = lp.latent, lp.latent.family
    hyp = lp.space.hyper(u)
    mode = lat.mode(hyp, z0=lp.z0, tol=1e-10)
    D, R, off = lat.assemble(hyp.theta)
    fac, e0, phi = mode.factor, mode.eta, hyp.phi
    v = eta_variance(lat, fac, D, R, draws=4096)
    d = [fam.derivs(e0 + k * _H, phi)[1].d for k in (1, 0, -1)]  # curvature −ℓ″
    l3 = -(d[0] - d[2]) / (2 * _H)
    l4 = -(d[0] - 2 * d[1] + d[2]) / _H**2
    assert lp.sampler is not None
    center = mode.z + lp.sampler.shift(hyp, mode, D, R)
    rng = np.random.default_rng(seed)
    logw, he3, he4 = [], [], []
    for k in np.diff(np.r_[0:draws:250, draws]):
        eps = rng.standard_normal((lat.dim, k))
        dev = fac.sample(eps)
        lq = 0.5 * fac.logdet - 0.5 * np.sum(eps**2, axis=0)
        logw.append(particle_log_density(lat, hyp, D, R, off, center[:, None] + dev) - lq)
        e, vv = linear_predictor(D, R, None, dev, lat.P), v[:, None]
        he3.append(np.sum(l3[:, None] / 6 * (e**3 - 3 * vv * e), axis=0))
        he4.append(np.sum(l4[:, None] / 24 * (e**4 - 6 * vv * e**2 + 3 * vv**2), axis=0))
    lw, h3, h4 = (np.concatenate(x) for x in (logw, he3, he4))
    return {"rows": lat.n, "logw SD": lw.std(), "floor He3+He4": (h3 + h4).std(), "He3": h3.std()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="weib_hm,weib_eq,binom_hm,sim10000")
    ap.add_argument("--steps", default="0,2", help="Laplace SDs along the first coordinate")
    ap.add_argument("--draws", type=int, default=4000)
    args = ap.parse_args()
    pin_blas()
    print("model | step | rows | log-weight SD (mmreg) | floor He3+He4 | He3 alone | s")
    for name in args.models.split(","):
        model = _model(name)
        if model is None:
            continue
        post = as_posterior(model)
        lap = fit_laplace(post, None, mcmc_start=True)
        lp = LogPosterior.from_laplace(post, lap, 8, 1)
        for step in (float(s) for s in args.steps.split(",")):
            u = lap.u.copy()
            u[0] += step * np.sqrt(lap.cov_u[0, 0])
            t0 = time.perf_counter()
            r = floor_at(lp, u, args.draws)
            print(
                f"{name} | {step:g} | {r['rows']} | {r['logw SD']:.2f} | "
                f"{r['floor He3+He4']:.2f} | {r['He3']:.2f} | {time.perf_counter() - t0:.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
