"""``mmreg.bml``: a one-shot call with bml's argument names (underscores for dots)."""

from __future__ import annotations

import difflib

import numpy as np

from mmreg.errors import MMSpecError
from mmreg.families import Family
from mmreg.inference.options import check_int, check_seed
from mmreg.model import MMModel

__all__ = ["bml"]


def bml(
    formula: str,
    data,
    family: str | Family = "Gaussian",
    priors=None,
    n_iter: int = 1000,
    n_burnin: int = 500,
    n_thin: int | None = None,
    n_chains: int = 3,
    seed=None,
    cox_intervals: int | None = None,
    monitor: bool = True,
    run: bool = True,
    parallel: bool = False,
    progress: bool | None = None,
    inits=None,
    **unsupported,
):
    """Fit a model the way ``bml::bml()`` does: MCMC with bml's argument names.

    bml's ``n.iter`` iterations include the ``n.burnin`` discarded ones; here they map to
    ``tune = n_burnin`` ensemble steps and ``draws = n_iter - n_burnin`` kept draws per chain.

    Parameters
    ----------
    formula, data, family, priors, cox_intervals
        As in :class:`~mmreg.MMModel`; ``family`` takes bml's capitalised names (or a
        family object such as ``mmreg.families.weibull()``).
    n_iter, n_burnin, n_thin, n_chains, seed
        bml's MCMC settings (``n_thin`` defaults to 1); integers (``seed`` as for
        ``fit()``), checked before any work: a bad value raises
        :class:`~mmreg.MMSpecError` naming the argument.
    monitor, run, parallel
        Accepted for compatibility; ``run=False`` returns the unfitted model.
    progress : bool, optional
        One progress bar per chain, counting draws; ``None`` (default): on in interactive
        sessions (``sys.stderr`` a terminal), like bml's JAGS progress.
    inits : dict or list of dict, optional
        bml's (JAGS's) initial values, mapped to ``fit(start=...)``: a dict of
        hyperparameter values keyed by bml or mmreg names (``{"sigma.mm.1": 0.5,
        "b.w.1[1]": 0}``); of a list of per-chain dicts (JAGS's form) the first is used,
        since every chain starts from the Laplace fit.  Coefficients and random effects are
        integrated out and take no initial value.

    Returns
    -------
    MCMCResults or MMModel

    Examples
    --------
    bml's ``bml(formula, data, n.iter = 70, n.burnin = 20, n.chains = 2)``, kept tiny here
    (bml's default is ``n.iter = 1000``, ``n.burnin = 500``, 3 chains):

    >>> import mmreg
    >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
    ...                                         seed=2)
    >>> res = mmreg.bml(df.attrs["formula"], df, family="Gaussian", n_iter=70, n_burnin=20,
    ...                 n_chains=2, seed=1)
    >>> type(res).__name__, res.raw.n_chains, res.raw.n_draws, res.raw.tune
    ('MCMCResults', 2, 50, 20)

    The same run as ``MMModel(...).fit(method="mcmc", draws=50, tune=20, chains=2,
    seed=1)``; bml's names for the parameters are kept alongside mmreg's:

    >>> res.bml_names[["majority", "sigma.mm1"]].tolist()
    ['b[2]', 'sigma.mm.1']

    ``run=False`` only checks the specification and returns the model:

    >>> model = mmreg.bml(df.attrs["formula"], df, run=False)
    >>> type(model).__name__, model.family
    ('MMModel', 'gaussian')
    """
    if unsupported:
        raise _unsupported(sorted(unsupported))
    n_burnin = check_int("n_burnin", n_burnin, 0, owner="bml()")  # type: ignore[assignment]  # an int
    n_iter = check_int("n_iter", n_iter, 1, owner="bml()")  # type: ignore[assignment]  # an int
    if n_iter <= n_burnin:
        raise MMSpecError(
            f"bml() argument n_iter ({n_iter}) must be larger than n_burnin "
            f"({n_burnin}): n_iter counts the burn-in iterations too"
        )
    n_thin = check_int("n_thin", n_thin, 1, none_ok=True, owner="bml()") or 1
    n_chains = check_int("n_chains", n_chains, 1, owner="bml()")  # type: ignore[assignment]  # an int
    seed = check_seed(seed, "seed", owner="bml()")
    for name, val in (
        ("monitor", monitor),
        ("run", run),
        ("parallel", parallel),
        ("progress", progress),
    ):
        if not isinstance(val, (bool, np.bool_)) and not (name == "progress" and val is None):
            raise MMSpecError(f"bml() argument {name} must be True or False, got {val!r}")
    inits = _check_inits(inits)
    model = MMModel(formula, data, family=family, priors=priors, cox_intervals=cox_intervals)
    start = None if inits is None else {_bml_to_mm(model).get(k, k): v for k, v in inits.items()}
    if not run:
        return model
    return model.fit(
        method="mcmc",
        draws=n_iter - n_burnin,
        tune=n_burnin,
        chains=n_chains,
        thin=n_thin,
        seed=seed,
        progress=progress,
        start=start,
    )


def _check_inits(inits) -> dict | None:
    """bml's ``inits`` (a dict, or JAGS's list of per-chain dicts: the first is used)."""
    if inits is None:
        return None
    if isinstance(inits, (list, tuple)):
        if not inits or not all(isinstance(x, dict) for x in inits):
            raise MMSpecError(
                "bml() argument inits must be a dict or a list of dicts "
                f"(one per chain), got {inits!r}"
            )
        inits = inits[0]
    if not isinstance(inits, dict):
        raise MMSpecError(f"bml() argument inits must be a dict or a list of dicts, got {inits!r}")
    return inits


def _bml_to_mm(model: MMModel) -> dict[str, str]:
    """bml's parameter names to mmreg's."""
    return {b: n for n, b in model.bml_names.items()}


_BML_ARGS = (
    "formula",
    "data",
    "family",
    "priors",
    "n_iter",
    "n_burnin",
    "n_thin",
    "n_chains",
    "seed",
    "cox_intervals",
    "monitor",
    "run",
    "parallel",
    "progress",
    "inits",
)
_MMREG_NAMES = {
    "draws": "n_iter (draws + burn-in)",
    "tune": "n_burnin",
    "chains": "n_chains",
    "thin": "n_thin",
    "n_adapt": "n_burnin",
    "start": "inits",
    "method": None,
}


def _unsupported(keys: list[str]) -> MMSpecError:
    parts = []
    for k in keys:
        # R's dotted names arrive as n.iter only via **{...}; map them to underscores
        under = k.replace(".", "_")
        if under in _BML_ARGS:
            parts.append(f"{k!r} (write {under})")
        elif _MMREG_NAMES.get(k):
            parts.append(f"{k!r} (bml() calls it {_MMREG_NAMES[k]})")
        else:
            close = difflib.get_close_matches(under, _BML_ARGS, n=1, cutoff=0.6)
            parts.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return MMSpecError(
        f"bml() does not take {', '.join(parts)}; valid arguments: {', '.join(_BML_ARGS)} "
        "(for other MCMC options use mmreg.MMModel(...).fit(method='mcmc', ...))"
    )
