"""LaTeX output compiles with pdflatex as written (skipped where pdflatex is absent)."""

import re
import shutil
import subprocess

import numpy as np
import pytest

import mmreg
from mmreg.results.latex import latex_escape

PREAMBLE = (
    r"\documentclass{article}"
    r"\IfFileExists{booktabs.sty}{\usepackage{booktabs}}{\newcommand\toprule{\hline}"
    r"\newcommand\midrule{\hline}\newcommand\bottomrule{\hline}}"
    "\n"
    r"\begin{document}"
    "\n"
)


@pytest.fixture(scope="module")
def fits():
    df = mmreg.datasets.simulate_coalitions(n_groups=120, n_members=50, n_countries=8, seed=2)
    rng = np.random.default_rng(0)
    df["x_sq"] = df["gid"].map(dict(zip(df["gid"].unique(), rng.normal(size=120), strict=True)))
    df["region"] = np.where(df["gid"] % 2, "south", "north")
    f = df.attrs["formula"].replace("majority", "majority + I(x_sq^2) + C(region)")
    res = mmreg.MMModel(f, df).fit()
    with pytest.warns(mmreg.MMWarning):
        post = mmreg.MMModel(f, df).fit(method="mcmc", draws=30, tune=10, chains=1, seed=1)
    return f, res, post


def test_escape():
    assert latex_escape("a_b~c^d%e&f#g$h{i}") == (
        r"a\_b\textasciitilde{}c\textasciicircum{}d\%e\&f\#g\$h\{i\}"
    )


def test_latex_has_no_raw_specials_or_nan(fits):
    f, res, post = fits
    for r in (res, post):
        tex = r.to_latex()
        assert not re.search(r"(?<![a-z])nan(?![a-z])", tex.lower())  # no nan cells
        caption = next(ln for ln in tex.splitlines() if ln.startswith(r"\caption"))
        assert "~" not in caption and "^" not in caption and "_" not in caption.replace(r"\_", "")
        assert r"C(region)[T.south]" in tex and "mm1.finance" in tex
        assert "0.975]" in tex  # the header is not truncated
    tab = mmreg.summary_table([res, post], names=["Laplace", "MCMC_1"], intervals=True)
    tt = tab.to_latex(caption="Models: " + f)
    assert "MCMC\\_1" in tt and "~" not in tt


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_pdflatex_compiles(fits, tmp_path):
    f, res, post = fits
    body = "\n".join(
        [
            res.to_latex(label="tab:fit_1"),
            post.to_latex(alpha=0.1, r=3),
            res.summary().as_latex(),
            mmreg.summary_table(
                [res, post], names=["Laplace", "MCMC"], stars=True, intervals=True
            ).to_latex(caption="Formula: " + f),
        ]
    )
    (tmp_path / "t.tex").write_text(PREAMBLE + body + "\n\\end{document}\n")
    out = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout[-2000:]
    assert (tmp_path / "t.pdf").stat().st_size > 1000


def test_html(fits):
    _, res, post = fits
    for r in (res, post):
        assert "<table" in r._repr_html_()
        assert "<table" in r.summary()._repr_html_()
        assert "y ~ 1 + majority" in r._repr_html_()  # the title
        assert "I(x_sq^2)" in r.summary().as_html()
    assert "<table" in mmreg.summary_table([res, post])._repr_html_()
