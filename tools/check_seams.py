"""Count the seams that issue #14 closes: family-name checks and cross-object private reads.

    python tools/check_seams.py [package_dir]

(a) Family-name string comparisons outside ``mmreg/families/``: a ``Compare`` node (``==``,
    ``!=``, ``in``, ``not in``) with a family-name string constant on either side, or inside
    a tuple/list/set literal on the right of ``in``.  Docstrings and argument defaults are
    not comparisons and are not counted; ``datasets/`` (the simulator, a recipe per family
    by name) is not model code and is skipped.
(b) Reads of another object's private attributes: an ``Attribute`` node whose attribute
    starts with a single underscore (not a dunder) and whose value is not ``self`` or
    ``cls``.  Module-private names of imported modules (``np._core``) are allowed, as are
    ``from x import _y`` imports (those are not attribute reads).

Prints both lists (``path:line: text``) and exits 1 if either is non-empty.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

FAMILY_NAMES = frozenset({"gaussian", "binomial", "weibull", "cox", "clogit"})
ALLOWED_OWNERS = frozenset({"self", "cls"})


def _family_constants(node: ast.AST) -> list[str]:
    """Family-name string constants directly in ``node`` (or in a literal collection)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value] if node.value.lower() in FAMILY_NAMES else []
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [v for e in node.elts for v in _family_constants(e)]
    return []


def family_checks(tree: ast.AST) -> list[tuple[int, str]]:
    """Compare nodes with a family-name constant operand."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            names = [n for op in [node.left, *node.comparators] for n in _family_constants(op)]
            if names:
                out.append((node.lineno, ", ".join(names)))
    return out


def _imported_modules(tree: ast.AST) -> set[str]:
    mods = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                mods.add(a.asname or a.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            for a in node.names:  # from package import module
                mods.add(a.asname or a.name)
    return mods


def private_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """Attribute reads ``x._y`` where ``x`` is not self/cls/an imported module."""
    modules = _imported_modules(tree)
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        attr = node.attr
        if not attr.startswith("_") or attr.startswith("__"):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and (owner.id in ALLOWED_OWNERS or owner.id in modules):
            continue
        out.append((node.lineno, f"{ast.unparse(owner)}.{attr}"))
    return out


def scan(root: Path) -> tuple[list[str], list[str]]:
    """Return the family-check and private-read findings under ``root``."""
    fam, priv = [], []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        rel = path.relative_to(root.parent).as_posix()
        parts = path.relative_to(root).parts
        if "families" not in parts and "datasets" not in parts:
            fam += [f"{rel}:{ln}: {txt}" for ln, txt in family_checks(tree)]
        priv += [f"{rel}:{ln}: {txt}" for ln, txt in private_reads(tree)]
    return fam, priv


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = Path(argv[0]).resolve() if argv else Path(__file__).resolve().parents[1] / "mmreg"
    fam, priv = scan(root)
    print(f"family-name comparisons outside families/: {len(fam)}")
    for line in fam:
        print("  " + line)
    print(f"reads of another object's private attributes: {len(priv)}")
    for line in priv:
        print("  " + line)
    return 1 if fam or priv else 0


if __name__ == "__main__":
    sys.exit(main())
