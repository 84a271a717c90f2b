"""Count-family reference: simulated coalgov-structured counts, fitted by JAGS (#15).

``simulate_counts`` draws Poisson or negative-binomial (NB2) counts for coalgov-shaped data
(governments = groups, parties = members, countries) with member (party) and country random
effects and an exposure offset ``log_exposure`` (entered as ``fix(log_exposure, 1)``).

Run ``python -m validation.count_reference`` (from the repository root) to rewrite
``tests/reference/data/{poisson,negbin}_jags.csv``: it writes the simulated data to a CSV,
runs ``validation/jags_counts.R`` with Rscript (rjags) on it and stores the JAGS posterior
summaries (mean, sd, MC error, n_eff) with a provenance header.
"""

from __future__ import annotations

import datetime
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import mmreg

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "reference" / "data"
R_SCRIPT = ROOT / "validation" / "jags_counts.R"

#: the reference models (formula with mmreg's names; JAGS uses the same names in its CSV)
FORMULA = (
    "y ~ 1 + majority + fix(log_exposure, 1) + mm(id = id(pid, gid), vars = vars(finance), "
    "fn = fn(w ~ 1/n, c = TRUE), RE = TRUE) + hm(id = id(cid), type = 'RE')"
)
TRUTH = {
    "Intercept": 0.5,
    "majority": 0.4,
    "mm1.finance": -0.3,
    "sigma.mm1": 0.4,
    "sigma.hm1": 0.3,
}
SHAPE = 2.0
SEED = 20261205
SIZES = {"n_groups": 500, "n_members": 200, "n_countries": 20}
JAGS_RUN = {"chains": 3, "burnin": 4000, "iter": 20000, "thin": 2}
FILES = {"poisson": "poisson_jags.csv", "negbinomial": "negbin_jags.csv"}


def simulate_counts(
    family: str, seed: int = SEED, shape: float = SHAPE, truth: dict | None = None, **sizes
) -> pd.DataFrame:
    """Coalgov-shaped long data with a count outcome ``y`` and ``log_exposure``.

    Parameters
    ----------
    family : {"poisson", "negbinomial"}
    seed : int
    shape : float
        NB2 shape (``Var = mu + mu^2 / shape``); ignored for the Poisson.
    truth : dict, optional
        Overrides of :data:`TRUTH` (names as mmreg reports them).
    **sizes
        ``n_groups``, ``n_members``, ``n_countries`` of ``simulate_coalitions``.

    Returns
    -------
    pandas.DataFrame
        One row per (party, government); ``attrs["truth"]`` holds the true values.
    """
    truth = TRUTH | (truth or {})
    opts = SIZES | sizes
    # the Gaussian simulator with a negligible residual SD returns the linear predictor
    df = mmreg.datasets.simulate_coalitions(
        seed=seed,
        member_re=True,
        country_re=True,
        family="gaussian",
        **opts,
        **(truth | {"sigma": 1e-9}),
    )
    rng = np.random.default_rng([seed, 1])
    groups = df.groupby("gid", sort=True)
    eta = groups["y"].first().to_numpy()
    log_exposure = np.log(rng.uniform(0.5, 2.0, eta.size))
    mu = np.exp(eta + log_exposure)
    if family == "negbinomial":
        mu = mu * rng.gamma(shape, 1.0 / shape, eta.size)
        truth = truth | {"shape": shape}
    elif family != "poisson":
        raise ValueError(f"family must be 'poisson' or 'negbinomial', got {family!r}")
    y = rng.poisson(mu).astype(float)
    pos = groups.ngroup().to_numpy()
    df = df.assign(y=y[pos], log_exposure=log_exposure[pos])
    df.attrs = {"truth": truth, "family": family}
    return df


def _provenance(family: str, version: str) -> str:
    run = JAGS_RUN
    return (
        f"# JAGS reference for family={family}: python -m validation.count_reference "
        f"(simulate_counts(seed={SEED}, {SIZES}, shape={SHAPE}), validation/jags_counts.R); "
        f"JAGS {version}, {run['chains']} chains x {run['iter']} iterations after "
        f"{run['burnin']} burn-in, thin {run['thin']}; "
        f"{datetime.date.today().isoformat()}\n"
    )


def run_reference(family: str) -> pd.DataFrame:
    """Simulate, run JAGS through Rscript, store and return the posterior summary."""
    df = simulate_counts(family)
    with tempfile.TemporaryDirectory() as tmp:
        data_csv, out_csv = Path(tmp) / "data.csv", Path(tmp) / "out.csv"
        df.to_csv(data_csv, index=False)
        run = JAGS_RUN
        cmd = [
            "Rscript",
            str(R_SCRIPT),
            family,
            str(data_csv),
            str(out_csv),
            str(run["chains"]),
            str(run["burnin"]),
            str(run["iter"]),
            str(run["thin"]),
        ]
        subprocess.run(cmd, check=True)
        summary = pd.read_csv(out_csv, comment="#")
        version = (Path(tmp) / "out.csv").read_text().splitlines()[0].split("JAGS ")[-1]
    path = DATA / FILES[family]
    with open(path, "w") as fh:
        fh.write(_provenance(family, version))
        summary.to_csv(fh, index=False)
    return summary


def load_count_reference(family: str) -> pd.DataFrame:
    """The stored JAGS summary of ``family``, indexed by mmreg's parameter names."""
    return pd.read_csv(DATA / FILES[family], comment="#").set_index("param")


if __name__ == "__main__":
    for fam in sys.argv[1:] or list(FILES):
        print(fam, run_reference(fam), sep="\n")
