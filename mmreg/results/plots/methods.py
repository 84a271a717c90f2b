"""The plotting methods of every fit (``plot_caterpillar``, ``plot_weights``,
``plot_var_decomp``), mixed into :class:`~mmreg.results.results.MMResults`.

They build their tables with :mod:`mmreg.results.plots.effects` and
:mod:`mmreg.results.plots.comparison`; the MCMC-only ``plot_posterior`` and ``plot_trace``
are in :mod:`mmreg.results.mcmc_outputs`.
"""

from __future__ import annotations

from mmreg._threads import pin_public_methods

__all__ = ["PlotMethods"]


@pin_public_methods
class PlotMethods:
    """Plots of a fitted model (see :class:`~mmreg.results.results.MMResults`)."""

    def plot_caterpillar(self, block: str | None = None, alpha: float = 0.05):
        """Caterpillar plot of one block's random effects (matplotlib ``Figure``).

        Parameters
        ----------
        block : str, optional
            Random-effect block label (``"mm1"``, ``"hm1"`` …); default the first.
        alpha : float
            Intervals are mean ± z(1 - alpha/2) · SD.

        Returns
        -------
        matplotlib.figure.Figure
            Not registered with pyplot: save it with ``fig.savefig(...)``.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> fig = res.plot_caterpillar("hm1")
        >>> type(fig).__name__, fig.axes[0].get_title()
        ('Figure', 'hm1 random effects')
        """
        from mmreg.results.plots import caterpillar

        return caterpillar(self, block, alpha)

    def plot_weights(self, block: str = "mm1", covariate: str | None = None, alpha: float = 0.05):
        """Estimated weights of an mm() block against a member covariate.

        Parameters
        ----------
        block : str
            The mm() block (``"mm1"``, ``"mm2"`` …).
        covariate : str, optional
            Member covariate on the x axis: a column of the weight function or of the
            block's ``vars()``; default the first variable of the weight function (the
            group size ``n`` when it has none).
        alpha : float
            Intervals are weight ± z(1 - alpha/2) · SD.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        A model whose weights depend on the parties' seat shares ``pseat``:

        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         weights="estimated", seed=1)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> fig = res.plot_weights("mm1")
        >>> type(fig).__name__, fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
        ('Figure', 'pseat', 'weight')
        """
        from mmreg.results.plots import weights_plot

        return weights_plot(self, block, covariate, alpha)

    def plot_var_decomp(self, alpha: float = 0.05):
        """Variance-decomposition bars (ICCs with intervals).

        Parameters
        ----------
        alpha : float
            The bars show ``1 - alpha`` intervals (see :meth:`var_decomp`).

        Returns
        -------
        matplotlib.figure.Figure
            One bar per level, in the order of :meth:`var_decomp`.

        Examples
        --------
        >>> import mmreg
        >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
        ...                                         seed=2)
        >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
        >>> fig = res.plot_var_decomp()
        >>> type(fig).__name__
        'Figure'
        >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
        ['mm1', 'hm1', 'residual']
        """
        from mmreg.results.plots import var_decomp_plot

        return var_decomp_plot(self, alpha)
