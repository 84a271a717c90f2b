"""LaTeX that compiles as written: escaping and tabulars for summaries and tables.

Every name, caption and cell goes through :func:`latex_escape` (``\\ & % $ # _ { } ~ ^ < > |``),
missing values print as ``--``, and the output needs no package beyond LaTeX's own
(``summary_table(...).to_latex()`` uses ``booktabs`` rules, as pandas does).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["latex_escape", "tabular"]

_NAN = re.compile(r"(?<![A-Za-z])(nan|NaN|None)(?![A-Za-z])")

_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}


def latex_escape(text: object) -> str:
    """``text`` with LaTeX's special characters escaped (safe in text mode).

    Examples
    --------
    >>> from mmreg.results.latex import latex_escape
    >>> print(latex_escape("y ~ x_1^2 + 50% & #1 {a}"))
    y \\textasciitilde{} x\\_1\\textasciicircum{}2 + 50\\% \\& \\#1 \\{a\\}
    """
    return "".join(_ESCAPES.get(c, c) for c in str(text))


def _cell(x: object, float_format: str) -> str:
    if x is None:
        return "--"
    if isinstance(x, (float, np.floating)):
        return "--" if not np.isfinite(x) else float_format % x
    if isinstance(x, str):  # a formatted cell may hold a nan ("316.8 (MC SE nan)")
        return latex_escape(_NAN.sub("--", x))
    return latex_escape(x)


def tabular(
    df: pd.DataFrame, index: bool = True, header: bool = True, float_format: str = "%.4f"
) -> str:
    """A ``tabular`` (``\\hline`` rules) of ``df``, every cell escaped, NaN as ``--``."""
    rows = []
    ncol = df.shape[1] + int(index)
    if header:
        head = ([""] if index else []) + [latex_escape(c) for c in df.columns]
        rows.append(" & ".join(head) + r" \\")
        rows.append(r"\hline")
    for lab, vals in zip(df.index, df.itertuples(index=False), strict=True):
        cells = ([latex_escape(lab)] if index else []) + [_cell(v, float_format) for v in vals]
        rows.append(" & ".join(cells) + r" \\")
    align = ("l" if index else "") + "r" * (ncol - int(index))
    return "\n".join(
        [r"\begin{tabular}{" + align + "}", r"\hline", *rows, r"\hline", r"\end{tabular}"]
    )
