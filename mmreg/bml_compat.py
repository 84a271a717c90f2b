"""``mmreg.bml``: a one-shot call with bml's argument names (underscores for dots)."""

from __future__ import annotations

from mmreg.errors import MMSpecError
from mmreg.model import MMModel

__all__ = ["bml"]


def bml(formula: str, data, family: str = "Gaussian", priors=None, n_iter: int = 1000,
        n_burnin: int = 500, n_thin: int | None = None, n_chains: int = 3, seed=None,
        cox_intervals: int | None = None, monitor: bool = True, run: bool = True,
        parallel: bool = False, progress: bool = False, **unsupported):
    """Fit a model the way ``bml::bml()`` does: MCMC with bml's argument names.

    bml's ``n.iter`` iterations include the ``n.burnin`` discarded ones; here they map to
    ``tune = n_burnin`` ensemble steps and ``draws = n_iter - n_burnin`` kept draws per chain.

    Parameters
    ----------
    formula, data, family, priors, cox_intervals
        As in :class:`~mmreg.MMModel`; ``family`` takes bml's capitalised names.
    n_iter, n_burnin, n_thin, n_chains, seed
        bml's MCMC settings (``n_thin`` defaults to 1).
    monitor, run, parallel
        Accepted for compatibility; ``run=False`` returns the unfitted model.
    progress : bool
        Show a progress bar.

    Returns
    -------
    MCMCResults or MMModel
    """
    if unsupported:
        raise MMSpecError(f"bml() does not take {sorted(unsupported)}; see help(mmreg.bml)")
    if n_iter <= n_burnin:
        raise MMSpecError(f"n_iter ({n_iter}) must be larger than n_burnin ({n_burnin})")
    model = MMModel(formula, data, family=family, priors=priors, cox_intervals=cox_intervals)
    if not run:
        return model
    return model.fit(method="mcmc", draws=n_iter - n_burnin, tune=n_burnin,
                     chains=n_chains, thin=n_thin or 1, seed=seed, progress=progress)
