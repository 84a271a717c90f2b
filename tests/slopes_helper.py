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


def slope_model(formula: str, data, slopes=("majority",), intercept: bool = True,
                cor: bool = False, block: int = 1, **kwargs) -> mmreg.MMModel:
    """``MMModel(formula, data)`` with ``RE = re(1 + <slopes>)`` on ``hm()`` block ``block``."""

    def parse(f):
        spec = parse_formula(f)
        hm = list(spec.hm)
        hm[block - 1] = dataclasses.replace(hm[block - 1], re_slopes=tuple(slopes),
                                            re_intercept=intercept, re_cor=cor)
        return dataclasses.replace(spec, hm=tuple(hm))

    with mock.patch.object(mmreg.model, "parse_formula", parse):
        return mmreg.MMModel(formula, data, **kwargs)
