"""All plots of mmreg, in one namespace.

Every function returns a :class:`matplotlib.figure.Figure` and never calls
``plt.show()``; figures are created with :class:`matplotlib.figure.Figure` directly, so no
pyplot state is touched and nothing leaks between calls.

Two layers, one namespace:

* drawing functions that take arrays or tables — :func:`plot_posterior`,
  :func:`plot_trace` (draws, :mod:`.posterior`), :func:`plot_caterpillar`,
  :func:`plot_weights` (:mod:`.effects`), :func:`plot_var_decomp`,
  :func:`plot_coefficients` (:mod:`.comparison`), :func:`plot_pp_density`,
  :func:`plot_pp_stat`, :func:`plot_band`, :func:`plot_curves` (:mod:`.workflow`);
* functions that build those tables from fits — :func:`caterpillar`,
  :func:`weights_plot`, :func:`var_decomp_plot`, :func:`coefficients_plot`
  (``mmreg.plot_coefficients``), behind the ``plot_*`` methods of the results.
"""

from mmreg.results.plots.comparison import (
    coefficients_plot,
    plot_coefficients,
    plot_var_decomp,
    var_decomp_plot,
)
from mmreg.results.plots.effects import caterpillar, plot_caterpillar, plot_weights, weights_plot
from mmreg.results.plots.posterior import plot_posterior, plot_trace
from mmreg.results.plots.workflow import plot_band, plot_curves, plot_pp_density, plot_pp_stat

__all__ = [
    "plot_posterior",
    "plot_trace",
    "plot_caterpillar",
    "plot_weights",
    "plot_var_decomp",
    "plot_coefficients",
    "caterpillar",
    "weights_plot",
    "var_decomp_plot",
    "coefficients_plot",
    "plot_pp_density",
    "plot_pp_stat",
    "plot_band",
    "plot_curves",
]
