"""tools/import_graph.py: the graph is right on a small package, and the architecture page
shows the current graph of mmreg."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ig():
    path = ROOT / "tools" / "import_graph.py"
    spec = importlib.util.spec_from_file_location("import_graph", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_graph_of_a_small_package(ig, tmp_path):
    pkg = tmp_path / "mmreg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from mmreg import top\n")
    (pkg / "errors.py").write_text("")
    (pkg / "top.py").write_text(
        "import numpy\nfrom mmreg.sub import a\nfrom mmreg.errors import E\n"
        "def f():\n    from mmreg import later\n"
    )
    (pkg / "later.py").write_text("from .sub.a import x\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "a.py").write_text("from . import b\nfrom ..errors import E\n")
    (pkg / "sub" / "b.py").write_text("")
    g = ig.graph(pkg)
    assert g == {
        "errors": {},
        "later": {"sub": False},
        "sub": {"errors": False},
        "top": {"errors": False, "later": True, "sub": False},
    }
    assert ig.as_text(g).splitlines()[3] == "top    -> errors, (later), sub"
    mods = ig.graph(pkg, modules_level=True)
    assert mods["sub.a"] == {"errors": False, "sub.b": False}
    assert "top -.-> later" in ig.as_mermaid(g)


def test_architecture_page_shows_the_current_graph(ig):
    page = (ROOT / "docs" / "architecture.md").read_text()
    assert ig.doc_block(ig.graph(ROOT / "mmreg")) in page, (
        "the import graph changed: run python tools/import_graph.py --update=docs/architecture.md"
    )
