"""Summary tables built on statsmodels' ``summary2.Summary``.

``make_summary`` gives text, LaTeX and HTML from one object; ``summary_table`` puts several
fits side by side (statsmodels' ``summary_col`` style).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.iolib.summary2 import Summary

__all__ = ["make_summary", "summary_table", "param_table", "MMSummary", "SummaryTable"]


class MMSummary(Summary):
    """statsmodels' ``Summary`` whose ``as_latex()`` compiles as written.

    Names, the caption (the formula) and header cells are escaped for LaTeX and missing
    values print as ``--``; ``as_html()`` (and ``_repr_html_``, Jupyter) adds the title
    to statsmodels' HTML tables.
    """

    def as_html(self) -> str:
        """statsmodels' HTML tables under the title (the formula, HTML-escaped).

        Returns
        -------
        str
        """
        import html

        title = f"<p><b>{html.escape(self.title)}</b></p>\n" if self.title else ""
        return title + super().as_html()

    def _repr_html_(self) -> str:
        return self.as_html()

    def as_latex(self, label: str = "") -> str:
        """The summary as a LaTeX ``table`` environment (caption: the formula, escaped).

        Parameters
        ----------
        label : str
            ``\\label`` of the table (none when empty).

        Returns
        -------
        str
        """
        from mmreg.results.latex import latex_escape, tabular

        parts = [r"\begin{table}", r"\caption{" + latex_escape(self.title or "") + "}"]
        if label:
            parts.append(r"\label{" + label + "}")  # labels take _ as is
        for tab, st in zip(self.tables, self.settings, strict=True):
            parts += [
                r"\begin{center}",
                tabular(
                    tab, index=st["index"], header=st["header"], float_format=st["float_format"]
                ),
                r"\end{center}",
            ]
        parts.append(r"\end{table}")
        notes = " \\newline\n".join(latex_escape(t) for t in self.extra_txt)
        return "\n".join(parts) + ("\n\\bigskip\n" + notes if notes else "")


class SummaryTable(pd.DataFrame):
    """The DataFrame of :func:`summary_table` whose ``to_latex()`` escapes names and
    captions (``escape=True``) and prints missing values as ``--`` by default."""

    @property
    def _constructor(self):
        return SummaryTable

    def to_latex(self, *args, **kwargs) -> str:  # type: ignore[override]
        """pandas' ``to_latex`` with ``escape=True`` and ``na_rep="--"`` as defaults (a
        ``booktabs`` table; ``caption=`` is escaped too)."""
        from mmreg.results.latex import latex_escape

        kwargs.setdefault("escape", True)
        kwargs.setdefault("na_rep", "--")
        if isinstance(kwargs.get("caption"), str) and kwargs["escape"]:
            kwargs["caption"] = latex_escape(kwargs["caption"])
        return super().to_latex(*args, **kwargs)


def _hidden(res) -> set[str]:
    return res.hidden_params


def param_table(res, alpha: float = 0.05) -> pd.DataFrame:
    """The parameter table of a fit (what :meth:`MMResults.summary` prints).

    Same as :meth:`MMResults.param_table <mmreg.results.results.MMResults.param_table>`.

    Parameters
    ----------
    res : MMResults
    alpha : float
        Intervals have coverage ``1 - alpha``; the column names give the quantiles.

    Returns
    -------
    pandas.DataFrame
        One row per parameter (fixed effects hidden with ``showFE = FALSE`` left out);
        Laplace fits: ``bml``, ``Coef.``, ``Std.Err.``, ``z``, ``P>|z|`` and the interval;
        MCMC fits: ``bml``, ``Mean``, ``SD``, the interval, ``R-hat`` and ``ESS``.

    Examples
    --------
    >>> import mmreg
    >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
    ...                                         seed=1)
    >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
    >>> from mmreg.results.summary import param_table
    >>> tab = param_table(res, alpha=0.1)
    >>> list(tab.columns)
    ['bml', 'Coef.', 'Std.Err.', 'z', 'P>|z|', '[0.05', '0.95]']
    >>> tab.loc["mm1.finance", ["Coef.", "[0.05", "0.95]"]].astype(float).round(2).tolist()
    [-0.43, -0.72, -0.15]
    """
    return res.param_table(alpha)


def _header(res) -> dict[str, str]:
    m, d = res.model, res.model.design
    info = {
        "Family:": m.family,
        "Method:": res.method_label,
        "No. groups:": str(m.nobs),
    }
    for b in d.mm:
        ar = f" (AR over {b.spec.ar_time})" if b.spec.ar_time else " (AR)"
        re = " + RE" + (ar if b.spec.ar else "") if b.spec.re else ""
        info[f"{b.label} members:"] = f"{len(b.member_ids)} ({b.spec.member_id}){re}"
        info[f"{b.label} weights:"] = f"w ~ {b.spec.fn.expr}, c = {b.spec.fn.normalize}"
    for h in d.hm:
        info[f"{h.label} units:"] = f"{len(h.unit_ids)} ({h.spec.id}, {h.spec.type})"
    info.update(res.fit_statistics())
    return info


def make_summary(res, alpha: float = 0.05, r: int = 4) -> MMSummary:
    """Build the statsmodels ``Summary`` of a fit (see :meth:`MMResults.summary`).

    Examples
    --------
    >>> import mmreg
    >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
    ...                                         seed=1)
    >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
    >>> from mmreg.results.summary import make_summary
    >>> smry = make_summary(res)
    >>> len(smry.tables)  # the header and the parameter table
    2
    >>> "Converged:" in smry.as_text()
    True
    """
    smry = MMSummary()
    smry.add_title(f"Multiple-membership multilevel model: {res.model.formula}")
    info = _header(res)
    keys, vals = list(info), list(info.values())
    half = (len(keys) + 1) // 2
    left = pd.DataFrame({0: keys[:half], 1: vals[:half]})
    right = pd.DataFrame(
        {
            0: keys[half:] + [""] * (2 * half - len(keys)),
            1: vals[half:] + [""] * (2 * half - len(keys)),
        }
    )
    # statsmodels formats every table with the first table's float_format (the header
    # holds strings only): give it the parameter table's digits
    smry.add_df(
        pd.concat([left, right], axis=1), index=False, header=False, float_format=f"%.{int(r)}f"
    )
    tab = param_table(res, alpha)
    smry.add_df(tab, float_format=f"%.{int(r)}f")
    hidden = _hidden(res)
    if hidden:
        smry.add_text(f"{len(hidden)} fixed-effect levels not shown (showFE = FALSE).")
    for note in res.model.bound_family.family.summary_notes:
        smry.add_text(note)
    return smry


def summary_table(
    results,
    names: list[str] | None = None,
    alpha: float = 0.05,
    stars: bool = False,
    intervals: bool = False,
) -> SummaryTable:
    """Several fits side by side: estimate with (SE) below, one column per model.

    Parameters
    ----------
    results : list of MMResults
    names : list of str, optional
        Column titles (default ``Model 1``, ``Model 2`` …).
    alpha : float
        Level of the significance stars and of the intervals.
    stars : bool
        Add ``*`` (p < alpha), ``**`` (p < alpha/5), ``***`` (p < alpha/50) to the
        estimates of fits with z tests (Laplace); with the default ``alpha = 0.05`` the
        usual 0.05, 0.01 and 0.001.
    intervals : bool
        Add a third row per parameter with the ``1 - alpha`` interval ``[lower, upper]`` of
        each fit's ``conf_int(alpha)``.

    Returns
    -------
    SummaryTable
        A DataFrame: two rows per parameter (estimate, SE; three with ``intervals``), then
        ``N groups``, ``Method`` and the fit statistics: ``Log-lik.``, ``AIC``, ``BIC`` of
        Laplace fits, ``LOO``, ``WAIC``, ``DIC`` of MCMC fits (deviance scale; see
        :func:`mmreg.results.compare.fit_rows`); ``.to_latex()`` gives a LaTeX table that
        compiles as written (names escaped, ``booktabs`` rules), ``_repr_html_`` renders it
        in Jupyter.

    Examples
    --------
    Party effects alone, and with a country level added:

    >>> import mmreg
    >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
    ...                                         seed=1)
    >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
    >>> no_hm = df.attrs["formula"].split(" + hm(")[0]
    >>> res0 = mmreg.MMModel(no_hm, df).fit()
    >>> mmreg.summary_table([res0, res], names=["parties", "+ countries"], stars=True)
                  parties + countries
    Intercept    5.803***    5.786***
                  (0.195)     (0.206)
    majority        0.270       0.279
                  (0.171)     (0.172)
    mm1.finance   -0.422*     -0.432*
                  (0.166)     (0.173)
    sigma.mm1       0.870       0.782
                  (0.182)     (0.231)
    sigma           0.753       0.757
                  (0.051)     (0.052)
    sigma.hm1                   0.248
                              (0.208)
    N groups          150         150
    Method        laplace     laplace
    Log-lik.       -186.9      -186.8
    AIC             383.8       385.6
    BIC             398.8       403.6

    Part of the between-party variance moves to the country level (``sigma.mm1`` drops);
    parameters a model lacks are left blank.  With ``intervals=True`` a third row gives
    the ``1 - alpha`` interval:

    >>> tab = mmreg.summary_table([res], intervals=True, alpha=0.1)
    >>> tab.iloc[:3, 0].tolist()
    ['5.786', '(0.206)', '[5.447, 6.125]']
    """
    names = names or [f"Model {i}" for i in range(1, len(results) + 1)]
    order: list[str] = []
    for r in results:
        order += [p for p in r.params.index if p not in order and p not in _hidden(r)]
    per = 3 if intervals else 2
    cols = {}
    for nm, r in zip(names, results, strict=True):
        ci = r.conf_int(alpha) if intervals else None
        cells = []
        for p in order:
            if p in r.params.index:
                est = f"{r.params[p]:.3f}"
                if stars and r.has_tests and np.isfinite(r.pvalues[p]):
                    pv = r.pvalues[p]
                    est += (
                        "***"
                        if pv < alpha / 50
                        else "**"
                        if pv < alpha / 5
                        else "*"
                        if pv < alpha
                        else ""
                    )
                cells += [est, f"({r.bse[p]:.3f})"]
                if ci is not None:
                    cells.append(f"[{ci.loc[p, 'lower']:.3f}, {ci.loc[p, 'upper']:.3f}]")
            else:
                cells += [""] * per
        cols[nm] = cells
    from mmreg.results.compare import fit_rows

    stats_rows = fit_rows(list(results))
    for k, nm in enumerate(names):
        cols[nm] += [v[k] for v in stats_rows.values()]
    index = [x for p in order for x in (p,) + ("",) * (per - 1)] + list(stats_rows)
    return SummaryTable(cols, index=index)
