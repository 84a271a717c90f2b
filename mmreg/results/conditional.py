"""Conditional effects: predictions over a grid of one variable (``res.conditional_effects``).

Three kinds of variable:

* **main level** (a column of the main formula): the prediction for a group whose design
  row is the mean row of the fitted groups (numeric covariates at their means, dummies at
  the level shares; pass ``at`` to fix others), with the variable set to each grid value;
  random effects at 0 (population level).  With ``data`` the rows are rebuilt from the data
  with the variable set to the grid value (transformations, categorical levels and
  interactions are then handled by the formula).
* **member level** (a ``vars()`` column of an mm block): every member of every group is
  given the value, so the aggregated column becomes ``value × Σ weights`` of each group
  (``value`` when ``c = TRUE``), through the block's weights at each draw.
* **weight variable** (a column used by ``fn()``): the weight of one member with that value
  in a group of ``n`` members (default: the median group size) whose other members have the
  average value; ``c = FALSE``: the raw weight function.

Bands are equal-tailed quantiles of the prediction over posterior draws
(:func:`mmreg.results.draws.joint_draws`); the estimate is the point estimate of the fit
(Laplace: at the estimates; MCMC: the posterior mean over the draws used).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmreg.errors import MMSpecError
from mmreg.results.draws import joint_draws

__all__ = ["ConditionalEffects", "conditional_effects"]


class ConditionalEffects(pd.DataFrame):
    """A DataFrame of conditional effects with a :meth:`plot` method.

    Columns: the variable (grid values), ``estimate``, ``lower`` and ``upper``;
    ``attrs`` hold ``variable``, ``kind`` (``"main"``, ``"member"``, ``"weight"``),
    ``scale`` and ``alpha``.
    """

    @property
    def _constructor(self):
        return ConditionalEffects

    def plot(self, *args, **kwargs):  # type: ignore[override]
        """The estimate against the variable with its band (a matplotlib Figure)."""
        from mmreg.results.plots.workflow import plot_band

        var = self.attrs.get("variable", self.columns[0])
        ylabel = {"weight": "weight"}.get(
            self.attrs.get("kind", ""), f"prediction ({self.attrs.get('scale', '')})"
        )
        fig = plot_band(pd.DataFrame(self), var, ylabel)
        lo = 1 - self.attrs.get("alpha", 0.05)
        fig.axes[0].set_title(f"Conditional effect of {var} ({lo:.0%} band)")
        return fig


def _grid(values: np.ndarray, n_points: int) -> np.ndarray:
    values = np.asarray(values, float)
    uniq = np.unique(values)
    if len(uniq) <= max(2, min(10, n_points)) and np.allclose(uniq, np.round(uniq)):
        return uniq
    return np.linspace(values.min(), values.max(), n_points)


def _weight_curve(res, blk, var, grid, n, at):
    """fn(hyper) -> weight of a member with value v among n - 1 average members."""
    wf = blk.weights.function
    normalize = blk.spec.fn.normalize
    size = int(n) if normalize else 1
    cols = {}
    for c in wf.columns:
        mean = float(np.mean(blk.covariate(c)))
        v = at.get(c, mean)
        cols[c] = np.full((len(grid), size), float(v))
    cols[var][:, 0] = grid
    arrays = {c: a.ravel() for c, a in cols.items()}
    group = np.repeat(np.arange(len(grid)), size)
    bound = wf.bind(arrays, np.full(len(group), float(n)), group, normalize=normalize)
    k = [b.label for b in res.model.design.mm].index(blk.label)

    def curve(hyper, z):
        return bound(hyper.theta[k], derivative=False)[0].reshape(len(grid), size)[:, 0]

    return curve


def _linear_curve(res, var, grid, data, at, kind):
    """fn(hyper, z) -> prediction over the grid for a main-level or member-level variable."""
    model = res.model
    design, lat = model.design, model.latent
    names = list(design.coef_names)
    fam = model.bound_family
    if data is not None:
        from mmreg.design import apply
        from mmreg.inference.latent import LatentModel

        lats = []
        for v in grid:
            d2 = data.copy()
            d2[var] = v
            for c, val in at.items():
                d2[c] = val
            lats.append(
                LatentModel(
                    apply(design.design_spec, d2), None, lat.coef_mean, 1 / np.sqrt(lat.coef_prec)
                )
            )

        def rows(hyper):
            parts = [nl.assemble(hyper.theta) for nl in lats]
            return (
                np.array([p[0].mean(axis=0) for p in parts]),
                np.array([p[2].mean() for p in parts]),
            )
    else:
        member = [b for b in design.mm if f"{b.label}.{var}" in names]
        col = names.index(f"{member[0].label}.{var}" if member else var)
        fixed = {names.index(c): v for c, v in at.items() if c in names}
        k = [b.label for b in design.mm].index(member[0].label) if member else None

        def rows(hyper):
            D, _, off = lat.assemble(hyper.theta)
            row = D.mean(axis=0)
            for j, v in fixed.items():
                row[j] = v
            scale = 1.0
            if member:
                b = member[0]
                w = b.weights(hyper.theta[k], derivative=False)[0]
                scale = float(w.sum() / design.nobs)
            R = np.tile(row, (len(grid), 1))
            R[:, col] = np.asarray(grid, float) * scale
            return R, np.full(len(grid), off.mean())

    def curve(hyper, z):
        X, off = rows(hyper)
        eta = off + X @ z[: lat.P]
        return eta if kind == "linear" else fam.mean(eta, hyper.phi)

    return curve


def _grid_values(res, var, data, values, n_points, weight_blk):
    if values is not None:
        return np.asarray(values)
    if data is not None:
        if var not in data.columns:
            raise MMSpecError(f"{var!r} is not a column of the data")
        col = data[var]
        return (
            np.sort(col.unique())
            if not pd.api.types.is_numeric_dtype(col)
            else _grid(col.to_numpy(float), n_points)
        )
    design = res.model.design
    if weight_blk is not None:
        return _grid(weight_blk.covariate(var), n_points)
    for b in design.mm:
        if f"{b.label}.{var}" in design.coef_names:
            return _grid(b.covariate(var), n_points)
    if var in design.xnames:
        return _grid(design.X[:, list(design.xnames).index(var)], n_points)
    raise MMSpecError(
        f"{var!r} is not a numeric main-level column ({list(design.xnames)}), a vars() column "
        "or a weight-function variable of the model; pass data= for categorical or "
        "transformed variables"
    )


def conditional_effects(
    res,
    var: str,
    data: pd.DataFrame | None = None,
    values=None,
    at: dict | None = None,
    kind: str = "response",
    n: int | None = None,
    n_points: int = 50,
    alpha: float = 0.05,
    draws: int = 200,
    seed=0,
) -> ConditionalEffects:
    """See :meth:`mmreg.results.results.MMResults.conditional_effects`."""
    if kind not in ("response", "linear"):
        raise MMSpecError(f"kind must be 'response' or 'linear', not {kind!r}")
    at = dict(at or {})
    design = res.model.design
    weight_blk = next((b for b in design.mm if var in b.weights.function.columns), None)
    grid = _grid_values(res, var, data, values, n_points, weight_blk)
    if weight_blk is not None:
        size = n if n is not None else int(np.median(weight_blk.n))
        curve = _weight_curve(res, weight_blk, var, np.asarray(grid, float), size, at)
        which, scale = "weight", "weight"
    else:
        curve = _linear_curve(res, var, grid, data, at, kind)
        member = any(f"{b.label}.{var}" in design.coef_names for b in design.mm)
        which, scale = ("member" if member else "main"), kind
    per_draw = np.array([curve(h, z) for h, z, _ in joint_draws(res, n=draws, seed=seed)])
    est = np.asarray(res.point_estimate(curve, per_draw=pd.DataFrame(per_draw)), float)
    out = ConditionalEffects(
        {
            var: grid,
            "estimate": est,
            "lower": np.quantile(per_draw, alpha / 2, axis=0),
            "upper": np.quantile(per_draw, 1 - alpha / 2, axis=0),
        }
    )
    out.attrs.update(variable=var, kind=which, scale=scale, alpha=alpha)
    if which == "weight":
        out.attrs["group_size"] = size
    return out
