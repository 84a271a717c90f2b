"""The seams of issue #14 stay closed: tools/check_seams.py finds none in the package.

The script must also *find* each kind of violation, or the zero counts would prove nothing.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def seams():
    spec = importlib.util.spec_from_file_location("check_seams", ROOT / "tools" / "check_seams.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_package_has_no_family_checks_or_private_reads(seams):
    fam, priv = seams.scan(ROOT / "mmreg")
    assert fam == []
    assert priv == []
    assert seams.main([str(ROOT / "mmreg")]) == 0


def test_finds_a_family_name_comparison(seams):
    src = 'if fam.name == "weibull":\n    pass\nok = kind in ("cox", "clogit")\n'
    found = seams.family_checks(ast.parse(src))
    assert [ln for ln, _ in found] == [1, 3]
    assert "weibull" in found[0][1] and "cox, clogit" in found[1][1]


def test_finds_a_private_read_of_another_object(seams):
    src = (
        "import numpy as np\n"
        "class A:\n"
        "    def f(self, other):\n"
        "        x = self._own + np._core.x\n"  # allowed: own attribute, module-private name
        "        return other._secret\n"
    )
    assert seams.private_reads(ast.parse(src)) == [(5, "other._secret")]


def test_main_fails_on_a_package_with_violations(seams, tmp_path, capsys):
    pkg = tmp_path / "pkg"
    (pkg / "families").mkdir(parents=True)
    (pkg / "families" / "ok.py").write_text('IS_COX = name == "cox"\n')  # allowed in families/
    (pkg / "model.py").write_text('def f(m):\n    return m.family == "gaussian" or m._x\n')
    fam, priv = seams.scan(pkg)
    assert fam == ["pkg/model.py:2: gaussian"]
    assert priv == ["pkg/model.py:2: m._x"]
    assert seams.main([str(pkg)]) == 1
    assert "family-name comparisons outside families/: 1" in capsys.readouterr().out
