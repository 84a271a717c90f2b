"""Simulated coalgov-structured data for the JAGS references of the aggregations (#16).

The real membership structure of ``../shared/data/coalgov.csv`` (628 governments, their
parties, ``majority``, ``finance``, ``pseat``) with outcomes simulated from three models
whose group feature is an aggregation, computed here with numpy (independently of mmreg)::

    agg_var   y = b0 + b1 majority + beta * Σ w̃ (x - Σ w̃ x)²,  w̃ ∝ exp(g * pseat)
    agg_smax  y = b0 + b1 majority + beta * log(Σ w̃ exp(kappa x)) / kappa,  w̃ = 1/n
    agg_thr   y = b0 + b1 majority + beta * Σ w̃ ilogit(10 (x - c)),  w̃ = 1/n
    agg_int   y = b0 + b1 majority + beta * F + delta * majority * F,  F = Σ w̃ x,
              w̃ ∝ exp(g * pseat)  (a named block in a cross-level interaction)

(x = finance, Gaussian errors with SD sigma, no random effects).  Writes
``tests/reference/data/aggregate_sim.csv`` (one row per membership; the outcomes
``y_var``, ``y_smax``, ``y_thr``, ``y_int`` constant within a government; the first three
as before ``agg_int`` was added), which
``validation/jags_aggregate.R`` fits in JAGS and ``tests/reference/test_jags_aggregate.py``
fits with mmreg.  Run from the repository root: ``python -m validation.aggregate_reference``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from validation.reference_models import load_coalgov

OUT = Path(__file__).resolve().parents[1] / "tests" / "reference" / "data"
CSV = OUT / "aggregate_sim.csv"

#: name -> (mmreg formula, outcome column, true values)
MODELS: dict[str, tuple[str, str, dict[str, float]]] = {
    "agg_var": (
        "y_var ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), "
        'w = w(~ exp(g * pseat)), fn = fn("var"))',
        "y_var",
        {"Intercept": 0.0, "majority": 0.5, "mm1.var(finance)": 1.0, "mm1.w.g": 2.0, "sigma": 0.5},
    ),
    "agg_smax": (
        "y_smax ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), w = w(~ 1/n), "
        'fn = fn("smax", kappa = est()))',
        "y_smax",
        {
            "Intercept": 0.0,
            "majority": 0.5,
            "mm1.smax(finance)": 1.0,
            "mm1.fn.kappa": 2.0,
            "sigma": 0.5,
        },
    ),
    "agg_thr": (
        "y_thr ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), w = w(~ 1/n), "
        'fn = fn("threshold", c = est()))',
        "y_thr",
        {
            "Intercept": 0.0,
            "majority": 0.5,
            "mm1.threshold(finance)": 1.0,
            "mm1.fn.c": 0.5,
            "sigma": 0.5,
        },
    ),
    "agg_int": (
        "y_int ~ 1 + majority + majority:coal + mm(id = id(pid, gid), vars = vars(finance), "
        'w = w(~ exp(g * pseat)), name = "coal")',
        "y_int",
        {
            "Intercept": 0.0,
            "majority": 0.5,
            "mm1.finance": 1.0,
            "majority:coal": -0.8,
            "mm1.w.g": 2.0,
            "sigma": 0.5,
        },
    ),
}


def _features(df: pd.DataFrame) -> dict[str, pd.Series]:
    """The three group features, per government (numpy/pandas only)."""
    x, g = df["finance"].to_numpy(), df["gid"].to_numpy()
    t_var, t_smax, t_thr = (MODELS[k][2] for k in ("agg_var", "agg_smax", "agg_thr"))
    raw = np.exp(t_var["mm1.w.g"] * df["pseat"].to_numpy())
    frame = pd.DataFrame({"g": g, "x": x, "raw": raw})
    frame["wn"] = frame["raw"] / frame.groupby("g")["raw"].transform("sum")
    frame["mean"] = (frame["wn"] * frame["x"]).groupby(frame["g"]).transform("sum")
    var = (frame["wn"] * (frame["x"] - frame["mean"]) ** 2).groupby(frame["g"]).sum()
    k = t_smax["mm1.fn.kappa"]
    smax = np.log(np.exp(k * frame["x"]).groupby(frame["g"]).mean()) / k
    thr = (1 / (1 + np.exp(-10 * (frame["x"] - t_thr["mm1.fn.c"])))).groupby(frame["g"]).mean()
    raw = np.exp(MODELS["agg_int"][2]["mm1.w.g"] * df["pseat"].to_numpy())
    frame["wn"] = raw / pd.Series(raw).groupby(frame["g"]).transform("sum").to_numpy()
    mean = (frame["wn"] * frame["x"]).groupby(frame["g"]).sum()
    return {"agg_var": var, "agg_smax": smax, "agg_thr": thr, "agg_int": mean}


def simulate(seed: int = 2016) -> pd.DataFrame:
    """The membership rows of coalgov with the three simulated outcomes."""
    df = load_coalgov()[["gid", "pid", "majority", "finance", "pseat"]].copy()
    df = df.sort_values(["gid", "pid"]).reset_index(drop=True)
    df["majority"] = df["majority"].astype(float)
    rng = np.random.default_rng(seed)
    gov = df.groupby("gid")["majority"].first()
    for name, F in _features(df).items():
        _, col, t = MODELS[name]
        beta = t[[k for k in t if k.startswith("mm1.") and ".w." not in k and ".fn." not in k][0]]
        y = (
            t["Intercept"]
            + t["majority"] * gov
            + beta * F.reindex(gov.index)
            + t["sigma"] * rng.standard_normal(len(gov))
        )
        if "majority:coal" in t:  # the interaction (agg_int); the other outcomes unchanged
            y = y + t["majority:coal"] * gov * F.reindex(gov.index)
        df[col] = df["gid"].map(y)
    return df


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    df = simulate()
    df.to_csv(CSV, index=False, float_format="%.10g")
    print(f"wrote {CSV} ({len(df)} rows, {df['gid'].nunique()} governments)")


if __name__ == "__main__":
    main()
