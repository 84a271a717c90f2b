"""The bml/JAGS reference models of ``../shared/reference/README.md``, in one place.

Used by ``validation/jags_reference.py``, ``benchmarks/`` and ``tests/reference/``.  Each
entry gives the bml call exactly as the reference README states it, so that mmreg is run on
the same model as JAGS was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
COALGOV = SHARED / "data" / "coalgov.csv"
JAGS = SHARED / "reference" / "jags"


@dataclass(frozen=True)
class ReferenceModel:
    """One reference run: formula, family, options, JAGS speed figures."""

    name: str
    formula: str
    family: str
    options: dict = field(default_factory=dict)
    jags_ess_per_s: float | None = None  # bml defaults, from shared/reference/README.md
    stan_ess_per_s: str | None = None


_MM_COH = "mm(id = id(pid, gid), vars = vars(cohesion), fn = fn(w ~ 1/n, c = TRUE), RE = TRUE)"
_MM_FIN = "mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ 1/n, c = TRUE), RE = TRUE)"
_W = "fn = fn(w ~ 1 / (1 + (n - 1) * exp(-(b0 + b1 * pseat))), c = TRUE)"
_HM = 'hm(id = id(cid), type = "RE")'

MODELS: dict[str, ReferenceModel] = {
    "gaus_hm": ReferenceModel(
        "gaus_hm",
        f"logdur ~ 1 + majority + {_MM_COH} + {_HM}",
        "Gaussian",
        jags_ess_per_s=11.3,
        stan_ess_per_s="8-12",
    ),
    "gaus_w": ReferenceModel(
        "gaus_w",
        f"logdur ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), {_W}, RE = TRUE)"
        f" + {_HM}",
        "Gaussian",
        {"priors": ["b.w.1 ~ dnorm(0,1)"]},
        jags_ess_per_s=1.5,
    ),
    "weib_eq": ReferenceModel(
        "weib_eq",
        f"Surv(dur_wkb, event_wkb) ~ 1 + majority + {_MM_FIN}",
        "Weibull",
        jags_ess_per_s=1.9,
    ),
    "binom_hm": ReferenceModel(
        "binom_hm", f"event_wkb ~ 1 + majority + {_MM_COH} + {_HM}", "Binomial", jags_ess_per_s=2.9
    ),
    "cox10": ReferenceModel(
        "cox10",
        "Surv(dur_wkb, event_wkb) ~ 0 + majority + mm(id = id(pid, gid), vars = vars(cohesion),"
        " fn = fn(w ~ 1/n), RE = TRUE)",
        "Cox",
        {"cox_intervals": 10},
        jags_ess_per_s=0.58,
    ),
}

# models timed in the JAGS speed table without a stored posterior
SPEED_ONLY: dict[str, ReferenceModel] = {
    "weib_hm": ReferenceModel(
        "weib_hm",
        f"Surv(dur_wkb, event_wkb) ~ 1 + majority + {_MM_COH} + {_HM}",
        "Weibull",
        jags_ess_per_s=0.55,
    ),
    "weib_w": ReferenceModel(
        "weib_w",
        "Surv(dur_wkb, event_wkb) ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), "
        f"{_W}, RE = TRUE)",
        "Weibull",
        {"priors": ["b.w.1 ~ dnorm(0,1)"]},
        jags_ess_per_s=0.19,
    ),
    # gaus_hm with a random walk of the party effects over their participations (bml's
    # ar = TRUE); JAGS had not converged at bml's defaults (lowest ESS 9 in 144 s)
    "gaus_ar": ReferenceModel(
        "gaus_ar", f"logdur ~ 1 + majority + {_MM_COH[:-1]}, ar = TRUE) + {_HM}", "Gaussian"
    ),
}


def load_coalgov() -> pd.DataFrame:
    """coalgov with the derived ``logdur`` (and ``year``) that the reference runs use."""
    df = pd.read_csv(COALGOV)
    df["logdur"] = np.log(df["dur_wkb"])
    df["year"] = pd.to_datetime(df["election"]).dt.year
    return df


def build_model(name: str, df: pd.DataFrame | None = None):
    """``MMModel`` of coalgov model ``name`` (of :data:`MODELS` or :data:`SPEED_ONLY`) on
    ``df`` (default: :func:`load_coalgov`), with the model's family and options."""
    import mmreg

    spec = {**MODELS, **SPEED_ONLY}[name]
    data = load_coalgov() if df is None else df
    return mmreg.MMModel(spec.formula, data, family=spec.family, **spec.options)


def load_reference(name: str) -> pd.DataFrame:
    """The JAGS posterior summary of one model, indexed by mmreg parameter name."""
    return pd.read_csv(JAGS / f"{name}.csv").set_index("name")
