"""Correlated intercept and slope: JAGS reference posterior on coalgov (#15).

The model ``logdur ~ 1 + majority + mwc + hm(id = id(cid), RE = re(1 + majority, cor =
TRUE))`` on coalgov at the government level (628 governments, 29 countries), mmreg's
default priors.  Run ``python -m validation.correlated_reference`` (from the repository root)
to rewrite ``tests/reference/data/cor_governments_jags.csv``: it writes the data to a CSV, runs
``validation/jags_correlated.R`` with Rscript (rjags) and stores the JAGS posterior summary
(mean, sd, quantiles, MC error, n_eff, R-hat) with a provenance header.
"""

from __future__ import annotations

import datetime
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "reference" / "data"
COALGOV = ROOT / ".." / "shared" / "data" / "coalgov.csv"
R_SCRIPT = ROOT / "validation" / "jags_correlated.R"
FILE = "cor_governments_jags.csv"
FORMULA = "logdur ~ 1 + majority + mwc + hm(id = id(cid), RE = re(1 + majority, cor = TRUE))"
JAGS_RUN = {"chains": 4, "burnin": 5000, "iter": 50000, "thin": 5}


def governments(path: Path = COALGOV) -> pd.DataFrame:
    """coalgov at the government level with ``logdur`` (one row per government)."""
    df = pd.read_csv(path)
    g = df.groupby("gid").first().reset_index()
    g["logdur"] = np.log(g["dur_wkb"])
    return g[["gid", "cid", "logdur", "majority", "mwc"]]


def run_reference() -> pd.DataFrame:
    """Run JAGS through Rscript, store and return the posterior summary."""
    gov = governments()
    run = JAGS_RUN
    with tempfile.TemporaryDirectory() as tmp:
        data_csv, out_csv = Path(tmp) / "data.csv", Path(tmp) / "out.csv"
        gov.to_csv(data_csv, index=False)
        cmd = ["Rscript", str(R_SCRIPT), str(data_csv), str(out_csv)]
        cmd += [str(run[k]) for k in ("chains", "burnin", "iter", "thin")]
        subprocess.run(cmd, check=True)
        summary = pd.read_csv(out_csv, comment="#")
        version = out_csv.read_text().splitlines()[0].split("JAGS ")[-1]
    with open(DATA / FILE, "w") as fh:
        fh.write(
            "# JAGS reference for the correlated country intercept and slope: python -m "
            "validation.correlated_reference (coalgov governments, validation/"
            f"jags_correlated.R); JAGS {version}, {run['chains']} chains x {run['iter']} "
            f"iterations after {run['burnin']} burn-in, thin {run['thin']}; "
            f"{datetime.date.today().isoformat()}\n"
        )
        summary.to_csv(fh, index=False)
    return summary


def load_reference() -> pd.DataFrame:
    """The stored JAGS summary, indexed by mmreg's parameter names."""
    return pd.read_csv(DATA / FILE, comment="#").set_index("param")


def compare(draws: int = 5000, chains: int = 4, seed: int = 3) -> pd.DataFrame:
    """mmreg's MCMC (``draws`` per chain) against the stored JAGS summary."""
    import warnings

    import mmreg

    ref = load_reference()
    model = mmreg.MMModel(FORMULA, governments())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = model.fit(method="mcmc", draws=draws, chains=chains, seed=seed)
    names = list(ref.index)
    ci = post.conf_int().loc[names]
    return pd.DataFrame(
        {
            "mean": post.params[names],
            "jags mean": ref["mean"],
            "dmean/sd": (post.params[names] - ref["mean"]) / ref["sd"],
            "sd ratio": post.bse[names] / ref["sd"],
            "2.5%": ci["lower"],
            "jags 2.5%": ref["q025"],
            "97.5%": ci["upper"],
            "jags 97.5%": ref["q975"],
            "ESS": post.mcmc_diag(names)["ess_bulk"],
        }
    )


if __name__ == "__main__":
    import sys

    if "--compare" in sys.argv:
        print(compare().round(3).to_string())
    else:
        print(run_reference().round(4).to_string(index=False))
