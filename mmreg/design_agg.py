"""Aggregations ``fn(type, ...)`` whose feature depends on estimated parameters.

With estimated weights (``w(~ exp(gamma * pseat))``) or estimated shapes (``kappa =
est()``, free symbols of ``fn(~ ...)``) the group feature F_g of an ``mm()`` block is a
function of the block's parameter vector θ = (weight parameters, shape parameters).
:class:`AggregatedFeature` evaluates F(θ) and its exact derivative

    dF_g/dθ_j = Σ_r dF_g/dw_r · dw_r/dθ_j   (weight parameters),
    dF_g/dθ_j = ∂F_g/∂shape_j               (shapes),

from :meth:`~mmreg.formula.aggregate.Aggregation.evaluate_all` and the weights' own
derivatives; :class:`BlockWeights` appends the shape parameters to the block's weight
parameters (the weights do not depend on them), so that every consumer of ``b.weights``
and the hyperparameter layout see one parameter vector per block.  The shape parameters
are named ``mm<b>.fn.<name>`` and get the default priors of SPEC §8
(:meth:`AggregatedFeature.default_priors`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from mmreg.errors import MMSpecError
from mmreg.formula.aggregate import Aggregation
from mmreg.formula.spec import AggSpec, Est
from mmreg.formula.weights import BoundWeights
from mmreg.priors import Gamma, Normal, Prior, Uniform

__all__ = ["AggregatedFeature", "BlockWeights"]


class BlockWeights:
    """Bound weights of a block whose parameter vector also holds aggregation shapes.

    Same interface as :class:`~mmreg.formula.weights.BoundWeights`; ``theta`` is the
    block's whole vector (weight parameters first), the derivative rows of the shapes are
    zero.

    Parameters
    ----------
    inner : BoundWeights
    extra : tuple of str
        The shape parameters (``("kappa",)``).
    """

    def __init__(self, inner: BoundWeights, extra: tuple[str, ...]):
        self.inner = inner
        self.extra = tuple(extra)
        self.params = tuple(inner.params) + self.extra
        self.function = inner.function
        self.is_constant = inner.is_constant and not self.extra

    @property
    def columns(self) -> tuple[str, ...]:
        """Data columns of the weight function."""
        return self.inner.columns

    def column(self, name: str) -> np.ndarray:
        """Values of a column of the weight function (see :meth:`BoundWeights.column`)."""
        return self.inner.column(name)

    def _split(self, theta) -> np.ndarray:
        th = np.asarray(theta, float).reshape(-1)
        return th[: len(self.inner.params)]

    def check(self, theta) -> None:
        """:meth:`BoundWeights.check` at the weight part of ``theta``."""
        self.inner.check(self._split(theta))

    def __call__(self, theta, *, derivative: bool = True):
        """Weights and ``dw[j, r] = d w[r] / d params[j]`` (zero rows for the shapes)."""
        w, dw = self.inner(self._split(theta), derivative=derivative)
        if not derivative:
            return w, None
        full = np.zeros((len(self.params), len(w)))
        if dw is not None:
            full[: dw.shape[0]] = dw
        return w, full


@dataclass(frozen=True, eq=False)
class AggregatedFeature:
    """The group feature of a block as a function of the block's parameters.

    Attributes
    ----------
    agg : Aggregation
        The compiled aggregation (its ``params`` are the block's shape parameters).
    values : dict of str to ndarray
        The member-level columns it reads, per membership row (canonical order).
    group : ndarray of int
        Group code per membership row (non-decreasing).
    n_groups : int
    n_weight : int
        Number of weight parameters (first in the block's θ).
    spec : AggSpec
        The parsed ``fn()`` (bounds of ``est()``).
    """

    agg: Aggregation
    values: dict
    group: np.ndarray
    n_groups: int
    n_weight: int
    spec: AggSpec

    @property
    def params(self) -> tuple[str, ...]:
        """The shape parameters (without the ``mm<b>.fn.`` prefix)."""
        return self.agg.params

    def __call__(
        self, w: np.ndarray, dw: np.ndarray | None, theta, derivative: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """F(θ) per group, and dF/dθ (len(θ) × n_groups) if ``derivative``.

        Parameters
        ----------
        w : ndarray, shape (n_rows,)
            The block's weights at θ.
        dw : ndarray, shape (len(θ), n_rows) or None
            Their derivatives (rows of the shapes zero; None: no weight parameters).
        theta : array_like
            The block's parameter vector (weight parameters, then shapes).
        derivative : bool
        """
        th = np.asarray(theta, float).reshape(-1)
        F, dFdw, dFdp = self.agg.evaluate_all(
            w, self.values, self.group, self.n_groups, th[self.n_weight :], derivative
        )
        if not derivative:
            return F, None
        out = np.zeros((len(th), self.n_groups))
        if dw is not None:
            for j in range(self.n_weight):
                out[j] = np.bincount(self.group, dFdw * dw[j], minlength=self.n_groups)
        out[self.n_weight :] = dFdp
        return F, out

    def default_priors(self, label: str) -> dict[str, Prior]:
        """SPEC §8 default priors of the shape parameters, by full name.

        ``c``: uniform on the range of x; ``kappa``: Gamma(2, rate 0.2) for threshold,
        N(0, 5²) for smax; ``p``: N(1, 10) (variance 10); both ``est()`` bounds given:
        uniform(lower, upper); free symbols of ``fn(~ ...)``: N(0, 10²).  One bound alone
        is checked against the prior by :meth:`check_bounds`.
        """
        bounds: Mapping = {k: v for k, v in self.spec.shapes if isinstance(v, Est)}
        out: dict[str, Prior] = {}
        for name in self.params:
            est = bounds.get(name)
            prior: Prior
            if est is not None and est.lower is not None and est.upper is not None:
                prior = Uniform(float(est.lower), float(est.upper))
            elif self.agg.kind == "threshold" and name == "c":
                x = self.values[self.agg.variables[0]]
                prior = Uniform(float(np.min(x)), float(np.max(x)))
            elif self.agg.kind == "threshold" and name == "kappa":
                prior = Gamma(2.0, 0.2)
            elif self.agg.kind == "smax" and name == "kappa":
                prior = Normal(0.0, 5.0)
            elif self.agg.kind == "gmean" and name == "p":
                prior = Normal(1.0, float(np.sqrt(10.0)))
            else:
                prior = Normal(0.0, 10.0)
            out[f"{label}.fn.{name}"] = prior
        return out

    def check_bounds(self, label: str, priors: Mapping[str, Prior]) -> None:
        """A single ``est()`` bound must contain the support of the shape's prior (it is
        enforced through the prior: ``kappa = est(lower = 0)`` of threshold, Gamma).

        Raises
        ------
        MMSpecError
            If the prior reaches beyond the bound.
        """
        for name, est in self.spec.shapes:
            if not isinstance(est, Est) or (est.lower is None) == (est.upper is None):
                continue
            prior = priors[f"{label}.fn.{name}"]
            lo, hi = prior.bounds()
            if (est.lower is not None and lo < est.lower) or (
                est.upper is not None and hi > est.upper
            ):
                raise MMSpecError(
                    f"est() of {name!r} in fn() of {label} gives one bound but the prior "
                    f"{prior} reaches beyond it; give both bounds (a uniform prior), or a "
                    f"prior on that range with priors={{'{label}.fn.{name}': ...}}."
                )

    def start(self, label: str) -> dict[str, float]:
        """Starting values of unbounded shapes where 0 is singular: ``kappa`` of smax and
        ``p`` of gmean start at 1, free symbols of ``fn(~ ...)`` at 0.5 (at 0 a product
        such as ``ilogit(a * x)`` makes the feature constant)."""
        if self.agg.kind == "expr":
            return {f"{label}.fn.{n}": 0.5 for n in self.params}
        return {
            f"{label}.fn.{n}": 1.0
            for n in self.params
            if (self.agg.kind, n) in (("smax", "kappa"), ("gmean", "p"))
        }
