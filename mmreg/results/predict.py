"""Predictions for fitted groups or new data (``MMResults.predict``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmreg.design import apply
from mmreg.errors import MMDataError, MMSpecError
from mmreg.inference.latent import LatentModel

__all__ = ["predict", "prediction_draws", "new_data_latent", "linear_predictor_at"]


def _map_re(fit_latent: LatentModel, new_latent: LatentModel, z: np.ndarray) -> np.ndarray:
    """Random effects of the fitted model placed at the new design's RE states."""
    out = np.zeros(new_latent.q)
    off = 0
    for fblk, nblk, fsl, size in zip(
        fit_latent.design.re_blocks,
        new_latent.design.re_blocks,
        fit_latent.re_slices,
        new_latent.re_sizes,
        strict=True,
    ):
        pos = {lab: i for i, lab in enumerate(fblk.re_labels)}
        idx = np.array([pos.get(lab, -1) for lab in nblk.re_labels], dtype=int)
        known = idx >= 0
        vals = np.zeros(size)
        vals[known] = z[fsl][idx[known]]
        out[off : off + size] = vals
        off += size
    return out


def _linear(model, latent, hyper, z, new_latent=None):
    lat = new_latent or latent
    D, R, off = lat.assemble(hyper.theta)
    re = z[latent.P :] if new_latent is None else _map_re(latent, new_latent, z)
    # a row-wise product: each group's value is computed the same way whatever the other
    # rows (BLAS's D @ z may round differently for different numbers of rows), so
    # predictions on rows of the fitted data equal the fitted values exactly
    eta = off + (D * z[: latent.P]).sum(axis=1)
    if lat.q:
        eta = eta + R @ re
    return eta


def new_data_latent(model, data: pd.DataFrame) -> LatentModel:
    """The latent model of new data, built with what was learned from the fitted data
    (see :meth:`~mmreg.results.results.MMResults.predict`)."""
    latent = model.latent
    design = apply(model.design.design_spec, data)
    if design.coef_names != model.design.coef_names:
        raise MMDataError(
            "the new data give different coefficient columns "
            f"({list(design.coef_names)} vs {list(model.design.coef_names)}); categorical "
            "variables must have the same levels as in the fitted data"
        )
    return LatentModel(design, None, latent.coef_mean, 1 / np.sqrt(latent.coef_prec))


def linear_predictor_at(
    model, hyper, z: np.ndarray, new_latent: LatentModel | None = None
) -> np.ndarray:
    """η at ``(hyper, z)`` of the fitted groups, or of the groups of ``new_latent``
    (:func:`new_data_latent`; known members and units keep their effects, others get 0)."""
    return _linear(model, model.latent, hyper, z, new_latent)


def _setup(res, data, kind):
    """The per-draw prediction function ``one(hyper, z)`` and the group index."""
    if kind not in ("response", "linear"):
        raise MMSpecError(f"kind must be 'response' or 'linear', not {kind!r}")
    model = res.model
    latent = model.latent
    new_latent = None
    index = model.design.group_ids
    if data is not None:
        new_latent = new_data_latent(model, data)
        index = new_latent.design.group_ids
    fam = model.bound_family

    def one(hyper, z):
        eta = _linear(model, latent, hyper, z, new_latent)
        if kind == "linear":
            return eta
        if model.bound_family.family.needs_choice_sets and data is not None:
            s = new_latent.design.outcome.get("strata")  # type: ignore[union-attr]  # data given
            if s is None:
                raise MMDataError("clogit predictions need the strata() column in the data")
            e = np.exp(eta - eta.max())
            return e / np.bincount(s, weights=e)[s]
        return fam.mean(eta, hyper.phi)

    return one, pd.Index(index, name="group")


def predict(res, data: pd.DataFrame | None = None, kind: str = "response") -> pd.Series:
    """See :meth:`mmreg.results.results.MMResults.predict`."""
    one, index = _setup(res, data, kind)
    out = res.point_estimate(one)
    return pd.Series(out, index=index, name=kind)


def prediction_draws(
    res, data: pd.DataFrame | None = None, kind: str = "response", most: int = 1000, seed: int = 0
) -> tuple[np.ndarray, pd.Index]:
    """Predictions at draws of the posterior: an array ``(draws, groups)`` and the index.

    MCMC: up to ``most`` evenly spaced kept draws.  Laplace: ``most`` draws of the
    coefficients and random effects from their Gaussian approximation given the
    hyperparameters at the mode (hyperparameter uncertainty is not propagated).
    """
    one, index = _setup(res, data, kind)
    out = [one(h, z) for h, z in res.latent_draws(most=most, seed=seed)]
    return np.asarray(out), index
