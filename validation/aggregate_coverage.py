"""Coverage of the Laplace intervals of estimated aggregation shapes and weights (#16).

    python -m validation.aggregate_coverage [--reps 200] [--n-groups 400]
                                            [--kinds threshold,smax,interaction]

Per replication: groups of 2-5 members drawn from a pool, x member-level N(0, 1), equal
weights, y = 0.5 + F_g + N(0, 0.3²) with F the threshold feature (kappa = 10, c = 0.4) or
the soft maximum (kappa = 2) of x (:func:`simulate_aggregate`, also used by
``tests/formula/test_aggregate_est.py``); the shape is estimated with ``est()`` by the
Laplace fit and the table gives the share of 95% intervals (estimate ± 1.96 SE) covering
the truth, with its binomial Monte Carlo SE.

``interaction``: a named block with an estimated weight parameter in a cross-level
interaction (:func:`simulate_interaction`, also used by
``tests/formula/test_named_estimated.py``): weights ∝ exp(gamma·s), F = Σ w·x, y = 0.5 +
0.5·m + F + 0.8·m·F + N(0, 0.3²), m a group covariate; the table covers gamma
(``mm1.w.gamma``) and the interaction coefficient (``m:coal``).
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd

TRUTH = {
    "threshold": ("c", 0.4, 'fn("threshold", c = est())'),
    "smax": ("kappa", 2.0, 'fn("smax", kappa = est())'),
}

#: the interaction simulation: its formula and true values
INTERACTION = (
    "y ~ 1 + m + m:coal + mm(id = id(pid, gid), vars = vars(x), w = w(~ exp(gamma * s)), "
    'RE = FALSE, name = "coal")'
)
INTERACTION_TRUTH = {"mm1.w.gamma": 1.5, "m:coal": 0.8, "mm1.x": 1.0, "m": 0.5}


def simulate_interaction(n_groups: int = 400, seed: int = 0, sigma: float = 0.3) -> pd.DataFrame:
    """Groups of 2-5 members from a pool of 4·n_groups, x ~ N(0, 1) per member, s ~ U(0, 1)
    per membership, weights w ∝ exp(1.5·s) (normalised within the group), F = Σ w·x, a group
    covariate m ~ N(0, 1) and y = 0.5 + 0.5·m + F + 0.8·m·F + N(0, sigma²)
    (:data:`INTERACTION_TRUTH`, fitted with :data:`INTERACTION`)."""
    t = INTERACTION_TRUTH
    rng = np.random.default_rng(seed)
    xpool = rng.normal(size=4 * n_groups)
    rows = []
    for g in range(n_groups):
        mem = rng.choice(len(xpool), size=rng.integers(2, 6), replace=False)
        x, s = xpool[mem], rng.uniform(size=len(mem))
        w = np.exp(t["mm1.w.gamma"] * s)
        F = float(np.sum(w * x) / np.sum(w))
        m = rng.normal()
        y = 0.5 + t["m"] * m + t["mm1.x"] * F + t["m:coal"] * m * F + sigma * rng.normal()
        rows += [(g, int(p), xi, si, m, y) for p, xi, si in zip(mem, x, s, strict=True)]
    return pd.DataFrame(rows, columns=["gid", "pid", "x", "s", "m", "y"])


def _coverage(kind: str, name: str, truth: float, est, se) -> dict:
    est, se = np.asarray(est), np.asarray(se)
    hits = np.abs(est - truth) <= 1.96 * se
    z = (est - truth) / se
    cov = float(np.mean(hits))
    return {
        "kind": kind,
        "param": name,
        "truth": truth,
        "reps": len(est),
        "coverage": cov,
        "MC SE": np.sqrt(cov * (1 - cov) / len(est)),
        "mean z": float(np.mean(z)),
        "sd z": float(np.std(z)),
    }


def simulate_aggregate(
    kind: str,
    truth: float,
    n_groups: int = 400,
    seed: int = 0,
    beta: float = 1.0,
    sigma: float = 0.3,
) -> pd.DataFrame:
    """Groups of 2-5 members from a pool of 4·n_groups, x ~ N(0, 1) per member, equal
    weights, y = 0.5 + beta * F_g + N(0, sigma²): F the threshold (kappa = 10, c = truth)
    or smax (kappa = truth) feature of x."""
    rng = np.random.default_rng(seed)
    xpool = rng.normal(size=4 * n_groups)
    rows = []
    for g in range(n_groups):
        m = rng.choice(len(xpool), size=rng.integers(2, 6), replace=False)
        x = xpool[m]
        if kind == "threshold":
            F = np.mean(1 / (1 + np.exp(-10 * (x - truth))))
        else:
            F = np.log(np.mean(np.exp(truth * x))) / truth
        y = 0.5 + beta * F + sigma * rng.normal()
        rows += [(g, int(p), xi, y) for p, xi in zip(m, x, strict=True)]
    return pd.DataFrame(rows, columns=["gid", "pid", "x", "y"])


def main() -> None:
    import mmreg

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--n-groups", type=int, default=400)
    ap.add_argument("--kinds", default="threshold,smax,interaction")
    args = ap.parse_args()
    rows = []
    for kind in args.kinds.split(","):
        if kind == "interaction":
            fits = []
            for rep in range(args.reps):
                df = simulate_interaction(n_groups=args.n_groups, seed=rep)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fits.append(mmreg.MMModel(INTERACTION, df).fit())
            for name in ("mm1.w.gamma", "m:coal"):
                est = [r.params[name] for r in fits]
                se = [r.bse[name] for r in fits]
                rows.append(_coverage(kind, name, INTERACTION_TRUTH[name], est, se))
            continue
        shape, truth, fn = TRUTH[kind]
        name = f"mm1.fn.{shape}"
        est, se = [], []
        for rep in range(args.reps):
            df = simulate_aggregate(kind, truth, n_groups=args.n_groups, seed=rep)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = mmreg.MMModel(
                    f"y ~ 1 + mm(id = id(pid, gid), vars = vars(x), fn = {fn})", df
                ).fit()
            est.append(res.params[name])
            se.append(res.bse[name])
        rows.append(_coverage(kind, name, truth, est, se))
    print(pd.DataFrame(rows).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
