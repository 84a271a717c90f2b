"""The groups of an ``arviz.InferenceData`` export, for Laplace and MCMC fits alike.

:func:`inference_data` lays out draws as ``(chain, draw, ...)`` and builds the groups
``posterior`` (parameters, random effects labelled by member/unit id, weights of
estimated weight functions labelled by data row), ``log_likelihood``,
``posterior_predictive``, ``observed_data`` and ``sample_stats``.  MCMC fits pass their
draws in the export order of
:meth:`~mmreg.results.mcmc_results.MCMCResults.to_inference_data` (chains = the run's
chains); Laplace fits one chain of draws from the approximate posterior
(:func:`mmreg.results.draws.joint_draws`).
"""

from __future__ import annotations

import numpy as np

from mmreg.errors import MMSpecError
from mmreg.results.draws import linear_predictor

__all__ = ["inference_data", "extra_params", "require_arviz"]


def require_arviz():
    """Import arviz or raise :class:`~mmreg.MMSpecError` saying how to install it."""
    try:
        import arviz as az
    except ImportError:
        raise MMSpecError("this needs the optional arviz: pip install 'mmreg[arviz]'") from None
    return az


def extra_params(family, names: list[str], values: np.ndarray) -> dict[str, np.ndarray]:
    """Derived parameters reported next to the estimated ones (the family's
    ``derived_params``, e.g. Weibull's ``sigma = 1/shape``).

    ``family`` is a :class:`mmreg.families.Family`; ``values`` has the parameters ``names``
    on its last axis.
    """
    if not family.derived_names or not all(n in names for n in family.hyper_names):
        return {}
    phi = values[..., [names.index(n) for n in family.hyper_names]]
    derived = family.derived_params(phi)
    return {n: derived[..., j] for j, n in enumerate(family.derived_names)}


def _labels(labels) -> list[str]:
    return [",".join(map(str, x)) if isinstance(x, tuple) else str(x) for x in labels]


def inference_data(
    res,
    Z: np.ndarray,
    U: np.ndarray,
    *,
    posterior: dict | None = None,
    log_likelihood: np.ndarray | None = None,
    sample_stats: dict | None = None,
    attrs: dict | None = None,
    predictive: bool = True,
    seed=0,
):
    """Build the InferenceData of a fit from latent draws ``Z`` (chain, draw, dim) and
    unconstrained hyperparameter draws ``U`` (chain, draw, dim_u).

    ``posterior`` and ``log_likelihood`` default to the values computed from the draws;
    random effects and weights are always added to the posterior.
    """
    az = require_arviz()
    model = res.model
    lat, space, design = model.latent, model.space, model.design
    fam = model.bound_family
    C, D = Z.shape[:2]
    flat_z = Z.reshape(C * D, -1)
    flat_u = U.reshape(C * D, -1)
    hypers = [space.hyper(u) for u in flat_u]
    coords: dict = {}
    dims: dict = {}
    if posterior is None:
        names = list(design.coef_names) + list(space.names[: space.n_listed])
        nat = np.array([space.natural_all(u) for u in flat_u]).reshape(C, D, -1)
        beta = Z[..., : lat.P].copy()
        beta[..., lat.sampled] = nat[..., space.coef_slice]  # sampled with ψ: their draws
        vals = np.concatenate([beta, nat[..., : space.n_listed]], axis=-1)
        posterior = {n: vals[..., j] for j, n in enumerate(names)}
        posterior.update(extra_params(model.bound_family.family, names, vals))
    posterior = dict(posterior)
    for blk, sl in zip(design.re_blocks, lat.re_slices, strict=True):
        dim = f"{blk.label}_id"
        posterior[f"re.{blk.label}"] = Z[..., sl]
        coords[dim] = _labels(blk.re_labels)
        dims[f"re.{blk.label}"] = [dim]
    for k, b in enumerate(design.mm):
        if b.weights.is_constant:  # fixed weights are data, not part of the posterior
            continue
        w = np.array([b.weights(h.theta[k], derivative=False)[0] for h in hypers])
        dim = f"{b.label}_membership"
        posterior[f"w.{b.label}"] = w.reshape(C, D, -1)
        coords[dim] = [
            f"{g},{m}"
            for g, m in zip(design.group_ids[b.group], b.member_ids[b.member], strict=True)
        ]
        dims[f"w.{b.label}"] = [dim]
    etas = np.array([linear_predictor(model, h, z) for h, z in zip(hypers, flat_z, strict=True)])
    if log_likelihood is None:
        log_likelihood = np.array(
            [fam.loglik_terms(e, h.phi) for e, h in zip(etas, hypers, strict=True)]
        ).reshape(C, D, -1)
    coords["group"] = [str(g) for g in design.group_ids]
    groups: dict = {"log_likelihood": {"y": log_likelihood}}
    obs = {
        k: np.asarray(v)
        for k, v in design.outcome.items()
        if np.ndim(v) == 1 and len(v) == len(design.group_ids)
    }
    groups["observed_data"] = obs
    if predictive:
        rng = np.random.default_rng(seed)
        sims = [fam.simulate(e, h.phi, rng) for e, h in zip(etas, hypers, strict=True)]
        groups["posterior_predictive"] = {
            k: np.array([s[k] for s in sims]).reshape(C, D, -1) for k in obs
        }
    for k in ["y", *obs]:
        dims.setdefault(k, ["group"])
    stats_ = dict(sample_stats or {})
    stats_.setdefault("lp_loglik", log_likelihood.sum(axis=-1))
    return az.from_dict(
        posterior=posterior,
        sample_stats=stats_,
        coords=coords,
        dims=dims,
        attrs=attrs or {},
        **groups,
    )
