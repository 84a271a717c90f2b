"""Tables of random effects and weights, labelled with the user's ids."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["random_effects_table", "weights_table"]


def random_effects_table(model, mean: np.ndarray, sd: np.ndarray) -> dict[str, pd.DataFrame]:
    """Split latent-vector summaries into one DataFrame per random-effect block.

    Parameters
    ----------
    model : MMModel
    mean, sd : ndarray
        Summaries of the whole latent vector z (coefficients first).
    """
    lat, d = model.latent, model.design
    out = {}
    for blk, sl in zip(d.re_blocks, lat.re_slices, strict=True):
        labels = list(blk.re_labels)
        if labels and isinstance(labels[0], tuple):  # random walk: (member, group)
            index = pd.MultiIndex.from_tuples(labels, names=["id", "group"])
        else:
            index = pd.Index(labels, name=blk.id_column)
        out[blk.label] = pd.DataFrame({"mean": mean[sl], "sd": sd[sl]}, index=index)
    return out


def weights_table(model, blk, w: np.ndarray, sd: np.ndarray) -> pd.DataFrame:
    """Weights of one mm block with group id, member id and group size."""
    gids = model.design.group_ids[blk.group]
    mids = blk.member_ids[blk.member]
    return pd.DataFrame(
        {
            blk.spec.group_id: gids,
            blk.spec.member_id: mids,
            "n": blk.n.astype(int),
            "weight": w,
            "sd": sd,
        }
    )
