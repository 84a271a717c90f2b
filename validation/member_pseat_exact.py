"""Independent check of the ``member_pseat`` posterior SDs: numpy only, no mmreg, no JAGS.

    python -m validation.member_pseat_exact [n_draws]

As ``validation/member_slope_exact.py``, for the member slope on ``pseat_z`` (which varies
within parties): the Gaussian model integrated exactly over the coefficients (N(0, 100^2)) and
the effects, y ~ N(0, 100^2 XX' + s^2 I + s0^2 AA' + s1^2 BB' + sh^2 ZZ'), where A[i, k] is
the weight of party k in government i and B[i, k] that weight times the party's ``pseat_z``
in that government; half-Cauchy(25) priors on the four SDs; importance sampling from a t4
proposal on the log SDs around the stored JAGS quantiles (scale 2x the IQR, wide enough to
cover both programs' tails).  Prints the IS ESS and the posterior mean, SD and 95% interval
of each SD next to JAGS's.
"""

import sys

import numpy as np
from scipy import stats

from validation.slopes_reference import load_reference, simulate

df = simulate("member_pseat")
gid_u, row_g = np.unique(df.gid, return_inverse=True)
pid_u, pid = np.unique(df.pid, return_inverse=True)
N, K = gid_u.size, pid_u.size
w = 1.0 / df.n.to_numpy()
A = np.zeros((N, K))
B = np.zeros((N, K))
np.add.at(A, (row_g, pid), w)
np.add.at(B, (row_g, pid), w * df.pseat_z.to_numpy())
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


ref = load_reference("member_pseat")
names = ["sigma.mm1", "sigma.mm1.pseat_z", "sigma.hm1", "sigma"]
mu = np.array([np.log(ref.loc[n, "q50"]) for n in names])
iqr = np.log(ref.loc[names, "q75"].to_numpy()) - np.log(ref.loc[names, "q25"].to_numpy())
sd = np.maximum(2.0 * iqr / 1.35, 0.05)  # wide: the IS must cover both programs' tails
rng = np.random.default_rng(2)
Nd = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
t = stats.t(df=4)
z = t.rvs(size=(Nd, 4), random_state=rng)
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
