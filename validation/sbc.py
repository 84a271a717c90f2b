"""Simulation-based calibration (SBC; Talts et al. 2018) of mmreg's MCMC.

Run from the repository root::

    python -m validation.sbc [--reps 200] [--workers 2] [--out sbc_ranks.csv]
        [--families gaussian,binomial,weibull,cox,poisson,negbinomial]

For every family a covariate design is simulated once (``simulate_coalitions``: groups in
countries, members in many groups); then, per replication, every parameter is drawn from the
*same proper priors that the fit uses* (:data:`PRIORS`, drawn with scipy, independently of
mmreg's own samplers), the random effects and the outcome are drawn with the model's own
``MMModel.simulate`` (random effects from N(0, σ²)), the model is fitted by MCMC and the
rank of every true value among ``L`` thinned posterior draws is recorded.  If the sampler
is exact, every rank is uniform on {0, ..., L}; the script prints binned rank histograms, a
chi-square test of uniformity per parameter and the binomial band a bin count should stay
within.

Outcome models, so that the simulation is exactly the fitted model:

* gaussian: weights ``1 / (1 + (n - 1) * exp(-(b0 + b1 * pseat)))`` with ``c = TRUE``
  (estimated weight parameters), member and country random effects;
* binomial, weibull: equal weights ``1/n``, member and country random effects; Weibull
  times are right-censored at fixed, independent censoring times (the same in every
  replication), which the likelihood handles exactly;
* poisson, negbinomial: the binomial design (equal weights, member and country random
  effects), counts drawn by ``MMModel.simulate``; the NB2 ``shape`` has the LogNormal prior
  of :data:`PRIORS` (``shape`` kind);
* cox: no censoring, baseline increments with a nearly flat Gamma(1e-4, 1e-4) prior.  The
  marginal posterior of the coefficients is then prior × Breslow partial likelihood, which
  without censoring or ties is the exact likelihood of the rank order of the times — the
  data the Cox model uses — so SBC is exact (up to the 1e-4 prior terms).
"""

from __future__ import annotations

import argparse
import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

import mmreg
from mmreg.families import CoxFamily
from mmreg.priors import HalfNormal, LogNormal, Normal

__all__ = [
    "FAMILIES",
    "COUNT_FAMILIES",
    "PRIORS",
    "SBCSetup",
    "setup_for",
    "build_template",
    "draw_truth",
    "simulate_outcome",
    "thin_positions",
    "thinned_draws",
    "rank_statistic",
    "rank_histogram",
    "uniformity_test",
    "bin_count_bounds",
    "run_replication",
    "run_sbc",
    "sbc_table",
]

FAMILIES = ("gaussian", "binomial", "weibull", "cox", "poisson", "negbinomial")
#: count families: the design of the binomial one, counts drawn by ``MMModel.simulate``
COUNT_FAMILIES = ("poisson", "negbinomial")

#: Prior by parameter kind: (mmreg prior given to the fit, scipy distribution drawn from).
PRIORS = {
    "coef": (Normal(0.0, 1.0), stats.norm(0.0, 1.0)),
    "weight": (Normal(0.0, 1.0), stats.norm(0.0, 1.0)),
    "sd": (HalfNormal(0.5), stats.halfnorm(scale=0.5)),
    "shape": (LogNormal(0.2, 0.2), stats.lognorm(s=0.2, scale=math.exp(0.2))),
}
COX_GAMMA = 1e-4  # shape and rate of the (nearly flat) Cox baseline-increment prior


@dataclass(frozen=True)
class SBCSetup:
    """One SBC configuration: the simulated design and the MCMC settings.

    Parameters
    ----------
    family : str
        ``"gaussian"``, ``"binomial"``, ``"weibull"``, ``"cox"``, ``"poisson"`` or
        ``"negbinomial"``.
    weights : {"equal", "estimated"}
        Weight function of the mm() block (see ``simulate_coalitions``).
    n_groups, n_members, n_countries : int
        Size of the simulated design.
    design_seed : int
        Seed of the covariate design (fixed over replications).
    draws, tune, chains : int
        MCMC settings (``draws`` per chain, walkers flattened).
    n_rank : int
        ``L``: thinned posterior draws the truth is ranked among (ranks 0..L).
    particles : int or None
        Importance particles of the pseudo-marginal sampler (``None``: mmreg's default).
    latent : {"marginal", "gibbs"}
        ``fit()``'s ``latent``: integrated out (pseudo-marginal) or sampled.
    """

    family: str
    weights: str = "equal"
    n_groups: int = 150
    n_members: int = 60
    n_countries: int = 10
    design_seed: int = 2018
    draws: int = 1000
    tune: int = 60  # fit_mcmc's default from session 4 to 9 (40 since session 10)
    chains: int = 2
    n_rank: int = 49
    particles: int | None = None
    latent: str = "auto"


def setup_for(family: str, **overrides) -> SBCSetup:
    """Default setup of a family (estimated weights for the Gaussian one)."""
    weights = "estimated" if family == "gaussian" else "equal"
    return replace(SBCSetup(family=family, weights=weights), **overrides)


def _kind(model, name: str) -> str:
    if name in model.design.coef_names:
        return "coef"
    if ".w." in name:
        return "weight"
    return "shape" if name == "shape" else "sd"


def build_template(setup: SBCSetup):
    """The fixed design and a model on it: ``(df, formula, family, priors, model)``.

    ``df`` holds placeholder outcomes: Weibull ``dur`` = fixed censoring times with
    ``event = 0`` (so ``simulate`` censors every new time T at them: min(T, C)), Cox
    ``event = 1`` everywhere (no censoring).
    """
    df = mmreg.datasets.simulate_coalitions(
        n_groups=setup.n_groups,
        n_members=setup.n_members,
        n_countries=setup.n_countries,
        family="binomial" if setup.family in COUNT_FAMILIES else setup.family,
        weights=setup.weights,
        seed=setup.design_seed,
    )
    formula = df.attrs["formula"]
    df = df.copy()
    df.attrs = {}
    rng = np.random.default_rng([setup.design_seed, 1])
    gid = df["gid"].to_numpy()
    if setup.family == "weibull":
        # log C ~ N(1, 1): about a quarter of the times are censored under the prior
        cens = np.exp(1.0 + rng.standard_normal(gid.max() + 1))
        df["dur"], df["event"] = cens[gid], 0
    elif setup.family == "cox":
        df["dur"], df["event"] = 1.0 + gid, 1
    elif setup.family in COUNT_FAMILIES:
        df["y"] = 1.0  # placeholder counts, replaced in every replication
    family = CoxFamily(a=COX_GAMMA, b=COX_GAMMA) if setup.family == "cox" else setup.family
    probe = mmreg.MMModel(formula, df, family=family)
    names = list(probe.design.coef_names) + list(probe.space.names)
    priors = {n: PRIORS[_kind(probe, n)][0] for n in names}
    model = mmreg.MMModel(formula, df, family=family, priors=priors)
    return df, formula, family, priors, model


def draw_truth(model, rng: np.random.Generator) -> dict[str, float]:
    """Every free parameter drawn from :data:`PRIORS` (scipy, not mmreg's samplers)."""
    names = list(model.design.coef_names) + list(model.space.names)
    return {n: float(PRIORS[_kind(model, n)][1].rvs(random_state=rng)) for n in names}


def simulate_outcome(model, df: pd.DataFrame, params: dict, seed) -> pd.DataFrame:
    """``df`` with its outcome columns replaced by ``model.simulate(params, seed)``."""
    sim = model.simulate(params, seed=seed)
    pos = pd.Index(model.design.group_ids).get_indexer(df["gid"])
    out = df.copy()
    if "y" in sim:
        out["y"] = sim["y"][pos]
    else:
        out["dur"], out["event"] = sim["time"][pos], sim["event"][pos].astype(int)
    return out


def thin_positions(chains: int, steps: int, walkers: int, n: int) -> tuple[np.ndarray, ...]:
    """``n`` (chain, step, walker) positions spread over the ensemble output.

    Steps are evenly spaced within each chain and the walker rotates by a stride coprime
    to the number of walkers, so consecutive picks are different walkers and a walker comes
    back only after ``walkers`` picks — the picks are close to independent draws.
    """
    k = np.arange(n)
    chain = k % chains
    per = -(-n // chains)
    j = k // chains
    step = np.floor(j * steps / per).astype(int)
    stride = (
        next(s for s in range(walkers // 2 + 1, walkers + 1) if math.gcd(s, walkers) == 1)
        if walkers > 2
        else 1
    )
    walker = (j * stride) % walkers
    return chain, step, walker


def thinned_draws(draws: pd.DataFrame, names: list[str], n: int) -> dict[str, np.ndarray]:
    """``n`` draws of each parameter at :func:`thin_positions` of an MCMC ``draws`` frame.

    ``draws`` is ``MCMCResults.draws`` (columns ``chain``, ``draw`` = step × walkers +
    walker, ``walker`` and one per parameter).
    """
    walkers = int(draws["walker"].max()) + 1
    chains = int(draws["chain"].max()) + 1
    steps = int(draws["draw"].max()) // walkers + 1
    c, s, w = thin_positions(chains, steps, walkers, n)
    frame = draws.set_index(["chain", "draw"])[names]
    rows = frame.loc[list(zip(c, s * walkers + w, strict=True))]
    return {k: rows[k].to_numpy() for k in names}


def rank_statistic(draws: np.ndarray, truth: float) -> int:
    """Number of posterior draws below the true value (0..len(draws))."""
    return int(np.sum(np.asarray(draws) < truth))


def rank_histogram(ranks: np.ndarray, n_rank: int, bins: int) -> np.ndarray:
    """Counts of ranks 0..n_rank in ``bins`` equal bins (``n_rank + 1`` divisible by bins)."""
    if (n_rank + 1) % bins:
        raise ValueError(f"n_rank + 1 = {n_rank + 1} is not divisible by bins = {bins}")
    width = (n_rank + 1) // bins
    return np.bincount(np.asarray(ranks, int) // width, minlength=bins)


def uniformity_test(counts: np.ndarray) -> tuple[float, float]:
    """Chi-square statistic and p-value of equal bin probabilities."""
    res = stats.chisquare(counts)
    return float(res.statistic), float(res.pvalue)


def bin_count_bounds(reps: int, bins: int, alpha: float) -> tuple[int, int]:
    """Central ``1 - alpha`` range of one bin count, Binomial(reps, 1/bins)."""
    b = stats.binom(reps, 1.0 / bins)
    return int(b.ppf(alpha / 2)), int(b.isf(alpha / 2))


def run_replication(setup: SBCSetup, rep: int, seed: int = 1) -> dict:
    """One SBC replication: draw truth, simulate, fit by MCMC, rank the truth.

    Returns
    -------
    dict
        ``family``, ``rep``, ``rank:<name>`` for every parameter, ``truth:<name>``,
        ``max_rhat``, ``min_ess``, ``seconds`` and ``error`` (empty when the fit ran).
    """
    df, formula, family, priors, template = _template(setup)
    ss = np.random.SeedSequence([seed, FAMILIES.index(setup.family), rep])
    rng_truth, rng_sim, rng_fit = (np.random.default_rng(s) for s in ss.spawn(3))
    truth = draw_truth(template, rng_truth)
    out = {"family": setup.family, "rep": rep, "fitted": False, "error": ""}
    out.update({f"truth:{n}": v for n, v in truth.items()})
    t0 = time.perf_counter()
    try:
        data = simulate_outcome(template, df, truth, rng_sim)
        model = mmreg.MMModel(formula, data, family=family, priors=priors)
        res = model.fit(
            method="mcmc",
            draws=setup.draws,
            tune=setup.tune,
            chains=setup.chains,
            seed=int(rng_fit.integers(2**31)),
            particles=setup.particles,
            latent=setup.latent,
        )
    except Exception as err:  # a failed fit is recorded, not hidden
        out["error"] = f"{type(err).__name__}: {err}"[:200]
        out["seconds"] = time.perf_counter() - t0
        return out
    out["fitted"] = True
    for n, d in thinned_draws(res.draws, list(truth), setup.n_rank).items():
        out[f"rank:{n}"] = rank_statistic(d, truth[n])
    try:
        diag = res.mcmc_diag(list(truth))
        out["max_rhat"] = float(diag["rhat"].max()) if "rhat" in diag else np.nan
        out["min_ess"] = float(diag["ess_bulk"].min())
    except Exception as err:  # diagnostics failing is itself worth reporting
        out["max_rhat"] = out["min_ess"] = np.nan
        out["error"] = f"mcmc_diag {type(err).__name__}: {err}"[:200]
    out["seconds"] = time.perf_counter() - t0
    return out


_CACHE: dict = {}


def _template(setup: SBCSetup):
    if setup not in _CACHE:
        _CACHE[setup] = build_template(setup)
    return _CACHE[setup]


def _init_worker() -> None:
    import warnings

    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # small matrices: one BLAS thread per process is fastest
    warnings.simplefilter("ignore", RuntimeWarning)


def _job(args) -> dict:
    return run_replication(*args)


def run_sbc(
    setup: SBCSetup,
    reps: int,
    seed: int = 1,
    workers: int = 1,
    progress: bool = False,
    first_rep: int = 0,
    on_row=None,
) -> pd.DataFrame:
    """Run replications ``first_rep, ..., first_rep + reps - 1`` (in ``workers``
    processes); one row per replication.

    A replication depends only on ``(seed, family, rep)``, so runs over disjoint ranges of
    ``rep`` with the same seed and setup are parts of one SBC run and may be concatenated.
    ``on_row(rows)`` is called with the rows so far after every replication (e.g. to save a
    long run as it goes).
    """
    jobs = [(setup, r, seed) for r in range(first_rep, first_rep + reps)]
    rows: list[dict] = []

    def add(row: dict) -> None:
        rows.append(row)
        if progress:
            _tick(row, first_rep + reps)
        if on_row is not None:
            on_row(rows)

    if workers > 1:
        with ProcessPoolExecutor(workers, initializer=_init_worker) as ex:
            for row in ex.map(_job, jobs):
                add(row)
    else:
        _init_worker()
        for job in jobs:
            add(_job(job))
    return pd.DataFrame(rows)


def _tick(row: dict, reps: int) -> None:
    print(
        f"  {row['family']} rep {row['rep'] + 1}/{reps}: {row['seconds']:.1f} s {row['error']}",
        flush=True,
    )


def sbc_table(res: pd.DataFrame, n_rank: int, bins: int, alpha: float = 0.01) -> pd.DataFrame:
    """Per parameter: chi-square test, bin-count band and the histogram as text.

    ``band`` is the central ``1 - alpha/(bins * n_params)`` range of each bin count
    (Bonferroni over the bins and parameters of one family); ``ok`` requires the
    chi-square p-value above ``alpha / n_params`` and every bin inside the band.
    """
    ok_rows = res[res["fitted"]]
    names = [c[5:] for c in res.columns if c.startswith("rank:")]
    k = max(len(names), 1)
    lo, hi = bin_count_bounds(len(ok_rows), bins, alpha / (bins * k))
    rows = []
    for n in names:
        r = ok_rows[f"rank:{n}"].dropna().to_numpy()
        counts = rank_histogram(r, n_rank, bins)
        chi2, p = uniformity_test(counts)
        rows.append(
            {
                "parameter": n,
                "reps": len(r),
                "chi2": chi2,
                "p": p,
                "histogram": " ".join(f"{c:3d}" for c in counts),
                "band": f"[{lo}, {hi}]",
                "ok": bool(p > alpha / k and counts.min() >= lo and counts.max() <= hi),
            }
        )
    return pd.DataFrame(rows).set_index("parameter")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bins", type=int, default=10)
    ap.add_argument("--weights", default=None, help="override: 'equal' or 'estimated'")
    ap.add_argument("--draws", type=int, default=None)
    ap.add_argument("--tune", type=int, default=None)
    ap.add_argument("--latent", default=None, help="override: 'auto', 'marginal' or 'gibbs'")
    ap.add_argument("--out", default=None, help="CSV of all replications (saved after each)")
    ap.add_argument("--first-rep", type=int, default=0, help="replications first-rep, ...")
    ap.add_argument(
        "--tables-from",
        default=None,
        help="comma-separated CSVs of earlier runs (--out): print their tables, run nothing",
    )
    args = ap.parse_args()
    pd.set_option("display.width", 200)
    if args.tables_from:
        _print_tables(args.tables_from.split(","), args.bins)
        return
    frames = []
    allok = True
    for fam in args.families.split(","):
        over = {
            k: v
            for k, v in (
                ("weights", args.weights),
                ("draws", args.draws),
                ("tune", args.tune),
                ("latent", args.latent),
            )
            if v is not None
        }
        setup = setup_for(fam, **over)
        t0 = time.perf_counter()

        def save(rows: list[dict], done=tuple(frames)) -> None:
            # rewritten after every replication, so a long run keeps what it has
            if args.out:
                pd.concat([*done, pd.DataFrame(rows)], ignore_index=True).to_csv(
                    args.out, index=False
                )

        res = run_sbc(
            setup,
            args.reps,
            seed=args.seed,
            workers=args.workers,
            progress=True,
            first_rep=args.first_rep,
            on_row=save,
        )
        frames.append(res)
        tab = sbc_table(res, setup.n_rank, args.bins)
        allok &= bool(tab["ok"].all())
        failed = int((~res["fitted"]).sum())
        print(
            f"\n== {fam} ({setup.weights} weights, {setup.n_groups} groups, "
            f"{len(res)} reps, {failed} failed fits, {time.perf_counter() - t0:.0f} s; "
            f"median max R-hat {res['max_rhat'].median():.3f}, "
            f"median min ESS {res['min_ess'].median():.0f}) =="
        )
        print(tab.round(4).to_string())
    print("\nALL CALIBRATED" if allok else "\nSOME MISCALIBRATED")


def _print_tables(paths: list[str], bins: int) -> None:
    """Tables of saved runs (one or several parts of the same run, by family)."""
    res = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    res = res.drop_duplicates(["family", "rep"])
    allok = True
    for fam, part in res.groupby("family", sort=False):
        part = part.dropna(axis=1, how="all")  # another family's parameters
        tab = sbc_table(part, setup_for(str(fam)).n_rank, bins)
        allok &= bool(tab["ok"].all())
        print(
            f"\n== {fam}: {len(part)} reps ({int((~part['fitted']).sum())} failed fits), "
            f"median max R-hat {part['max_rhat'].median():.3f}, median min ESS "
            f"{part['min_ess'].median():.0f} =="
        )
        print(tab.round(4).to_string())
    print("\nALL CALIBRATED" if allok else "\nSOME MISCALIBRATED")


if __name__ == "__main__":
    main()
