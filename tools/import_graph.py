"""Print the package-level import graph of mmreg (for docs/architecture.md).

    python tools/import_graph.py [--mermaid] [--modules] [--update=FILE] [package_dir]

Parses every module of the package with :mod:`ast` (nothing is imported or executed) and
collects its imports of other mmreg modules, at any depth of the module (imports inside
functions, which break cycles or defer heavy dependencies, are counted and marked
"deferred" when *every* import along that edge is inside a function).  Nodes are the
sub-packages (``formula``, ``families``, ``inference``, ``priors``, ``results``,
``datasets``) and the top-level modules (``model``, ``design``, ...); ``--modules`` gives
one node per module instead.  Plain text by default (``a -> b, c``), or a Mermaid
``graph`` with ``--mermaid``.  ``--update=docs/architecture.md`` rewrites the text between
the markers ``<!-- import-graph:start -->`` and ``<!-- import-graph:end -->`` of that file
with the plain-text graph in a code block (tests/test_seams.py checks that it is current).
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

PACKAGE = "mmreg"


def module_name(path: Path, root: Path) -> str:
    """Dotted module name of ``path`` inside the package directory ``root``."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    """Absolute module of a ``from ... import`` (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    base = current.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(tree: ast.AST, current: str, is_package: bool, known: set[str]):
    """Yield ``(imported mmreg module, deferred)`` for every import in ``tree``.

    ``from mmreg.x import y`` counts as an import of ``mmreg.x.y`` when that is a module.
    ``deferred`` is True for imports inside a function body.
    """
    deferred_nodes: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            deferred_nodes.update(id(n) for n in ast.walk(fn) if n is not fn)
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = _resolve(node, current, is_package)
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod for a in node.names]
        for t in targets:
            if t == PACKAGE or t.startswith(PACKAGE + "."):
                yield t, id(node) in deferred_nodes


def node_of(module: str, modules_level: bool) -> str:
    """Graph node of a module: its sub-package or top-level module (or itself)."""
    parts = module.split(".")[1:]
    if not parts:
        return PACKAGE
    if modules_level:
        return ".".join(parts)
    return parts[0]


def graph(root: Path, modules_level: bool = False) -> dict[str, dict[str, bool]]:
    """``{node: {imported node: deferred}}`` over the package in ``root``.

    An edge is deferred only if all imports that make it are inside functions.
    """
    paths = sorted(root.rglob("*.py"))
    known = {module_name(p, root) for p in paths}
    edges: dict[str, dict[str, bool]] = defaultdict(dict)
    for path in paths:
        current = module_name(path, root)
        tree = ast.parse(path.read_text(), filename=str(path))
        src = node_of(current, modules_level)
        edges.setdefault(src, {})
        for target, deferred in imports_of(tree, current, path.name == "__init__.py", known):
            dst = node_of(target, modules_level)
            if dst in (src, PACKAGE) or dst.startswith("_"):
                continue  # inside one node, the package root, private helpers (_threads)
            edges[src][dst] = edges[src].get(dst, True) and deferred
    return {
        k: dict(sorted(v.items()))
        for k, v in sorted(edges.items())
        if k != PACKAGE and not k.startswith("_")
    }


def as_text(g: dict[str, dict[str, bool]]) -> str:
    """One line per node: ``node -> a, b, (c)``; deferred edges in parentheses."""
    width = max(map(len, g), default=0)
    lines = []
    for src, dsts in g.items():
        targets = ", ".join(f"({d})" if deferred else d for d, deferred in dsts.items())
        lines.append(f"{src:<{width}} -> {targets or '-'}")
    return "\n".join(lines)


def as_mermaid(g: dict[str, dict[str, bool]]) -> str:
    """A Mermaid ``graph LR``; deferred edges dotted."""
    lines = ["graph LR"]
    for src, dsts in g.items():
        for dst, deferred in dsts.items():
            lines.append(f"    {src} {'-.->' if deferred else '-->'} {dst}")
    return "\n".join(lines)


START, END = "<!-- import-graph:start -->", "<!-- import-graph:end -->"


def doc_block(g: dict[str, dict[str, bool]]) -> str:
    """The text that goes between the markers of the architecture page."""
    return f"{START}\n```text\n{as_text(g)}\n```\n{END}"


def update_doc(path: Path, g: dict[str, dict[str, bool]]) -> bool:
    """Rewrite the marked block of ``path``; True if the file changed."""
    text = path.read_text()
    i, j = text.index(START), text.index(END) + len(END)
    new = text[:i] + doc_block(g) + text[j:]
    if new != text:
        path.write_text(new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    flags = {a.split("=", 1)[0]: a.partition("=")[2] for a in argv if a.startswith("--")}
    rest = [a for a in argv if not a.startswith("--")]
    unknown = set(flags) - {"--mermaid", "--modules", "--update"}
    if unknown:
        print(f"unknown option(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    root = Path(rest[0]).resolve() if rest else Path(__file__).resolve().parents[1] / PACKAGE
    g = graph(root, modules_level="--modules" in flags)
    if flags.get("--update"):
        changed = update_doc(Path(flags["--update"]), g)
        print(f"{flags['--update']}: {'updated' if changed else 'already current'}")
        return 0
    print(as_mermaid(g) if "--mermaid" in flags else as_text(g))
    return 0


if __name__ == "__main__":
    sys.exit(main())
