"""Consistency of the user guide (``docs/``) with the package.

The executed examples run when the documentation is built (``mkdocs build --strict``, see
``.ci/run``); these fast checks cover what that build does not: every page is in the
navigation, every API-reference target exists, every code block is valid Python, every bml
formula and weight function quoted in the text is accepted by the parser, and the
operator-precedence claims of the formula reference hold.
"""

from __future__ import annotations

import importlib
import math
import re
from pathlib import Path

import numpy as np
import pytest

from mmreg.formula.parse import parse_formula
from mmreg.formula.weights import compile_weight_function

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_hooks" not in p.parts)
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.S | re.M)


def _blocks(language: str) -> list[tuple[str, str]]:
    out = []
    for page in PAGES:
        for lang, _, body in FENCE.findall(page.read_text()):
            if lang == language:
                out.append((page.relative_to(DOCS).as_posix(), body))
    return out


def _nav_files(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [f for item in node for f in _nav_files(item)]
    if isinstance(node, dict):
        return [f for value in node.values() for f in _nav_files(value)]
    return []


def test_every_page_is_in_the_nav_and_every_nav_entry_exists():
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    nav = _nav_files(config["nav"])
    assert sorted(nav) == sorted(p.relative_to(DOCS).as_posix() for p in PAGES)


def test_api_reference_targets_import():
    targets = [
        (page.name, m.group(1))
        for page in (DOCS / "api").glob("*.md")
        for m in re.finditer(r"^::: ([\w.]+)", page.read_text(), re.M)
    ]
    assert len(targets) > 20
    for page, target in targets:
        parts = target.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for attr in parts[cut:]:
                obj = getattr(obj, attr)  # AttributeError names the broken target
            break
        else:
            pytest.fail(f"{page}: ::: {target} does not import")


@pytest.mark.parametrize("page, code", _blocks("python"), ids=lambda v: str(v)[:40])
def test_python_blocks_compile(page, code):
    compile(code, page, "exec")


def _quoted_formulas() -> list[str]:
    out = []
    for _, body in _blocks("text"):
        text = " ".join(body.split())
        if (
            "~" in text
            and "..." not in text
            and not text.startswith(("fn(", "outcome", "mm(", "hm("))
        ):
            out.append(text)
    return out


@pytest.mark.parametrize("formula", _quoted_formulas())
def test_quoted_bml_formulas_parse(formula):
    spec = parse_formula(formula)
    assert spec.mm or spec.hm  # every quoted example is a multilevel formula


def _quoted_weight_functions() -> list[str]:
    found = set()
    for page in PAGES:
        for m in re.finditer(r"fn\(w ~ (.+?), c = (?:TRUE|FALSE)\)", page.read_text()):
            if "..." not in m.group(1) and "expr" not in m.group(1):
                found.add(m.group(1))
    return sorted(found)


@pytest.mark.parametrize("expr", _quoted_weight_functions())
def test_quoted_weight_functions_compile(expr):
    columns = ["x", "pseat", "rile", "dist", "tie", "finance", "cohesion"]
    wf = compile_weight_function(expr, columns=columns)
    assert set(wf.params) <= {f"b{k}" for k in range(10)}


def test_quoted_weight_functions_are_found():
    # the recipes of the cookbook table, so the scan above cannot silently find nothing
    exprs = _quoted_weight_functions()
    assert "b1 / n + (1 - b1) * (x == max(x))" in exprs
    assert "exp(-b1 * abs(rile - median(rile)))" in exprs


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("(-2)^2", (-2.0) ** 2),
        ("-2^2", -(2.0**2)),
        ("2^3^2", 2.0 ** (3.0**2)),
        ("log(8, 2)", math.log2(8.0)),
        ("round(2.5)", 2.0),
    ],
)
def test_precedence_claims_of_the_formula_reference(expr, expected):
    text = (DOCS / "formula.md").read_text()
    assert f'"{expr}"' in text or f"`{expr}`" in text  # the claim is in the page
    bound = compile_weight_function(expr).bind({}, np.array([1]), np.array([0]), False)
    assert bound(np.zeros(0), derivative=False)[0][0] == expected
