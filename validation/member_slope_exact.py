"""Independent check of the member-slope posterior SDs: numpy only, no mmreg, no JAGS.

    python -m validation.member_slope_exact [--slope {finance,pseat_z}] [n_draws]
    python -m validation.member_pseat_exact [n_draws]      (the same as --slope pseat_z)

The Gaussian models of ``slopes_reference`` with a random member slope, ``member_slope``
(``--slope finance``, the default) and ``member_pseat`` (``--slope pseat_z``), integrated
exactly over the coefficients (N(0, 100^2)) and the effects:
y ~ N(0, 100^2 XX' + s^2 I + s0^2 AA' + s1^2 BB' + sh^2 ZZ'), where A[i, k] is the weight
of party k in government i and B[i, k] that weight times the slope column in that government;
half-Cauchy(25) priors on the four SDs.  ``finance`` is constant within a party, so
BB' = A diag(f_k^2) A' and a party's intercept and slope enter only through
s0^2 + f_k^2 s1^2 (not separately identified); ``pseat_z`` varies within parties.
Importance sampling from a t proposal on the log SDs around the stored JAGS quantiles
(seed 2, ``n_draws`` default 3000).  Prints the IS ESS and the posterior mean, SD and 95%
interval of each SD next to JAGS's.

The proposal of each slope is the one of the runs reported in ``validation/README.md``:

* ``finance``: t5, scale 1.5x the IQR.  (Session 7, 2026-12-05: IS ESS 582; SDs 0.156 /
  0.123 for sigma.mm1 / sigma.mm1.finance, JAGS 0.172 / 0.142, mmreg 0.157 / 0.122.)
* ``pseat_z``: t4, scale 2x the IQR, wide enough to cover both programs' tails.  (With 8000
  draws: IS ESS 803, sigma.mm1.pseat_z mean 0.392, SD 0.099, 95% [0.180, 0.574].)

The two checks were two scripts until 2026-12-05 (``member_slope_exact.py`` for ``finance``,
``member_pseat_exact.py`` for ``pseat_z``); folded into this one with the same numbers.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
from scipy import stats

from validation.slopes_reference import load_reference, simulate


@dataclass(frozen=True)
class SlopeCheck:
    """One member-slope reference model and its importance-sampling proposal."""

    model: str  # slopes_reference model name
    column: str  # the member-level slope column
    t_df: int  # degrees of freedom of the t proposal
    iqr_scale: float  # proposal scale: this many IQRs (log scale) / 1.35


CHECKS = {
    "finance": SlopeCheck("member_slope", "finance", t_df=5, iqr_scale=1.5),
    "pseat_z": SlopeCheck("member_pseat", "pseat_z", t_df=4, iqr_scale=2.0),
}


def log_posterior(check: SlopeCheck):
    """The exact log marginal posterior of the log SDs (s0, s1, sh, s) of ``check.model``
    (up to a constant), as a function of one point."""
    df = simulate(check.model)
    gid_u, row_g = np.unique(df.gid, return_inverse=True)
    pid_u, pid = np.unique(df.pid, return_inverse=True)
    N, K = gid_u.size, pid_u.size
    w = 1.0 / df.n.to_numpy()
    A = np.zeros((N, K))
    B = np.zeros((N, K))
    np.add.at(A, (row_g, pid), w)
    np.add.at(B, (row_g, pid), w * df[check.column].to_numpy())
    first = np.unique(row_g, return_index=True)[1]
    y = df.y.to_numpy()[first]
    maj = df.majority.to_numpy()[first]
    _, cid = np.unique(df.cid.to_numpy()[first], return_inverse=True)
    Z = np.zeros((N, cid.max() + 1))
    Z[np.arange(N), cid] = 1
    mmfin = np.bincount(row_g, w * df.finance.to_numpy(), minlength=N)
    X = np.column_stack([np.ones(N), maj, mmfin])
    XX, AA, BB, ZZ = 1e4 * X @ X.T, A @ A.T, B @ B.T, Z @ Z.T

    def logpost(ls):  # ls = log of (s0, s1, sh, s)
        s0, s1, sh, s = np.exp(ls)
        S = XX + s**2 * np.eye(N) + s0**2 * AA + s1**2 * BB + sh**2 * ZZ
        L = np.linalg.cholesky(S)
        a = np.linalg.solve(L, y)
        ll = -np.log(np.diag(L)).sum() - 0.5 * a @ a
        lp = sum(stats.halfcauchy(scale=25).logpdf(v) for v in (s0, s1, sh, s)) + ls.sum()
        return ll + lp

    return logpost


def run(check: SlopeCheck, n_draws: int = 3000) -> None:
    """Importance sampling of the four SDs; prints the IS ESS and a line per SD."""
    logpost = log_posterior(check)
    ref = load_reference(check.model)
    names = ["sigma.mm1", f"sigma.mm1.{check.column}", "sigma.hm1", "sigma"]
    mu = np.array([np.log(ref.loc[n, "q50"]) for n in names])
    iqr = np.log(ref.loc[names, "q75"].to_numpy()) - np.log(ref.loc[names, "q25"].to_numpy())
    sd = np.maximum(check.iqr_scale * iqr / 1.35, 0.05)
    rng = np.random.default_rng(2)
    t = stats.t(df=check.t_df)
    z = t.rvs(size=(n_draws, 4), random_state=rng)
    U = mu + sd * z
    lw = np.array([logpost(u) for u in U]) - (t.logpdf(z).sum(1) - np.log(sd).sum())
    wt = np.exp(lw - lw.max())
    wt /= wt.sum()
    print("IS ESS", 1 / (wt**2).sum())
    Xn = np.exp(U)
    for j, n in enumerate(names):
        m = (wt * Xn[:, j]).sum()
        s = np.sqrt((wt * (Xn[:, j] - m) ** 2).sum())
        o = np.argsort(Xn[:, j])
        c = np.cumsum(wt[o])
        lo, hi = (Xn[o, j][np.searchsorted(c, p)] for p in (0.025, 0.975))
        print(
            n,
            f"exact-IS mean {m:.3f} sd {s:.3f} 95% [{lo:.3f}, {hi:.3f}] | JAGS "
            f"{ref.loc[n, 'mean']:.3f} {ref.loc[n, 'sd']:.3f} "
            f"[{ref.loc[n, 'q2.5']:.3f}, {ref.loc[n, 'q97.5']:.3f}]",
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slope", choices=sorted(CHECKS), default="finance")
    ap.add_argument("n_draws", nargs="?", type=int, default=3000)
    args = ap.parse_args(argv)
    run(CHECKS[args.slope], args.n_draws)


if __name__ == "__main__":
    main()
