"""Models with random slopes before the bml 1.0 parser reads ``re()`` (issue #15).

The parser will set :attr:`~mmreg.formula.spec.HMBlock.re_slopes` (``re(1 + x)``),
``re_intercept`` (False for ``re(0 + x)``) and ``re_cor``; until it does, the tests set them
on the parsed spec of a bml 0.9 formula.
"""

from __future__ import annotations

import dataclasses
from unittest import mock

import mmreg
import mmreg.model
from mmreg.formula.parse import parse_formula


def slope_model(
    formula: str,
    data,
    slopes=("majority",),
    intercept: bool = True,
    cor: bool = False,
    block: int = 1,
    kind: str = "hm",
    **kwargs,
) -> mmreg.MMModel:
    """``MMModel(formula, data)`` with ``RE = re(1 + <slopes>)`` on block ``block`` of
    ``kind`` (``"hm"`` or ``"mm"``)."""

    def parse(f):
        spec = parse_formula(f)
        blocks = list(getattr(spec, kind))
        blocks[block - 1] = dataclasses.replace(
            blocks[block - 1], re_slopes=tuple(slopes), re_intercept=intercept, re_cor=cor
        )
        return dataclasses.replace(spec, **{kind: tuple(blocks)})

    with mock.patch.object(mmreg.model, "parse_formula", parse):
        return mmreg.MMModel(formula, data, **kwargs)


def simulate_slopes(
    n_groups: int = 628, seed: int = 1, sd_slope: float = 0.3, family: str = "gaussian", **kwargs
):
    """Coalition data (``simulate_coalitions``) whose outcome has a country random slope of
    ``majority`` with SD ``sd_slope`` (Gaussian: added to y, exactly the model)."""
    import numpy as np

    df = mmreg.datasets.simulate_coalitions(
        n_groups=n_groups,
        n_members=max(n_groups // 2, 60),
        n_countries=kwargs.pop("n_countries", max(29, n_groups // 1000)),
        family=family,
        seed=seed,
        **kwargs,
    )
    rng = np.random.default_rng(seed + 1000)
    units, code = np.unique(df["cid"].to_numpy(), return_inverse=True)
    v = sd_slope * rng.standard_normal(len(units))
    df["y"] = df["y"] + v[code] * df["majority"].to_numpy()
    df.attrs["truth"] = dict(df.attrs.get("truth", {}), **{"sigma.hm1.majority": sd_slope})
    return df
