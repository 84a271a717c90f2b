"""SD of the pseudo-marginal log-likelihood estimate under three mean shifts (issue #18).

    python -m benchmarks.estimator_sd [--models weib_hm,binom_hm] [--seeds 50] [--step 1.5]

For each coalgov model: at the Laplace mode of ψ and ±``step`` Laplace SDs along each
hyperparameter, the SD over ``seeds`` seeds of ``LogPosterior.evaluate`` (log prior + log
estimate) with the importance proposal centred by

* ``fixed``: the mean shift with Var(η) fixed at the Laplace mode (mmreg's default),
* ``pilot``: Var(η) estimated at every evaluation from 16 pilot draws (mmreg before
  2026-12-05 20:10 UTC; reimplemented here),
* ``none``: no shift (the Laplace mode).

Also prints the CPU ms per evaluation of each.  BLAS one thread.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks._util import coalgov_or_none
from mmreg.inference.eta import linear_predictor
from mmreg.inference.importance import ImportanceSampler, particle_log_density
from mmreg.inference.laplace import fit_laplace
from mmreg.inference.mcmc import LogPosterior
from validation.reference_models import build_model


class PilotSampler(ImportanceSampler):
    """The former estimator: Var(η) from ``pilot`` draws per evaluation, drawn before the
    particles' normals (the same stream layout as mmreg had)."""

    pilot = 16

    def estimate(self, hyper, mode, rng, K):
        lat, fam, phi, h = self.latent, self.latent.family, hyper.phi, 1e-4
        D, R, off = lat.assemble(hyper.theta)
        half = (K + 1) // 2
        eps_p = rng.standard_normal((lat.dim, self.pilot))
        eps = rng.standard_normal((lat.dim, half))
        devs = mode.factor.sample(np.concatenate([eps_p, eps], axis=1))
        v = np.mean(linear_predictor(D, R, None, devs[:, : self.pilot], lat.P) ** 2, axis=1)
        _, cp = fam.derivs(mode.eta + h, phi)
        _, cm = fam.derivs(mode.eta - h, phi)
        g = -(cp.d - cm.d) / (2 * h) * v
        shift = 0.5 * mode.factor.solve(np.concatenate([D.T @ g, lat.transpose(R) @ g]))
        dev = devs[:, self.pilot :]
        center = mode.z + shift
        parts = np.concatenate([center[:, None] + dev, center[:, None] - dev], axis=1)[:, :K]
        epsall = np.concatenate([eps, -eps], axis=1)[:, :K]
        logw = particle_log_density(lat, hyper, D, R, off, parts)
        logw -= 0.5 * mode.factor.logdet - 0.5 * np.sum(epsall**2, axis=0)
        mx = np.max(logw)
        return float(mx + np.log(np.mean(np.exp(logw - mx)))), parts, logw


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="weib_hm,weib_eq,weib_w,binom_hm")
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--step", type=float, default=1.5)
    args = ap.parse_args()
    df = coalgov_or_none()
    if df is None:
        return
    for name in args.models.split(","):
        model = build_model(name, df)
        post = model.posterior
        lap = fit_laplace(post)
        K = post.particles(None)
        fixed = LogPosterior.from_laplace(post, lap, K, 0).sampler
        assert fixed is not None
        samplers = {
            "fixed": fixed,
            "pilot": PilotSampler(post.latent, fixed.var_eta),
            "none": ImportanceSampler(post.latent, None),
        }
        sd = np.sqrt(np.diag(lap.cov_u))
        eye = np.eye(len(sd))
        pts = [lap.u] + [
            lap.u + s * args.step * sd[k] * eye[k] for k in range(len(sd)) for s in (-1, 1)
        ]
        print(f"{name}: points = Laplace mode, then -/+{args.step} SD along {post.space.names}")
        for label, smp in samplers.items():
            sds, t0 = [], time.process_time()
            for u in pts:
                vals = [
                    LogPosterior(
                        post, lap.mode.z, lap.u, lap.sensitivity, K, s, False, smp
                    ).evaluate(u)[0]
                    for s in range(args.seeds)
                ]
                sds.append(np.std(vals))
            ms = 1e3 * (time.process_time() - t0) / (len(pts) * args.seeds)
            print(f"  {label:5s} SD {np.round(sds, 3)}  ({ms:.2f} CPU ms per evaluation)")


if __name__ == "__main__":
    main()
