"""MkDocs hook: render Sphinx cross-reference roles left in numpydoc docstrings.

The package's docstrings use Sphinx roles (``:class:`~mmreg.MMModel```), which
mkdocstrings renders literally as ``:class:<code>~mmreg.MMModel</code>``.  This hook drops
the role prefix and, as Sphinx does for a leading ``~``, shows only the last component.
"""

from __future__ import annotations

import re

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|data|exc|obj):<code>(~?)([^<]*)</code>")


def _replace(match: re.Match) -> str:
    tilde, target = match.groups()
    shown = target.rsplit(".", 1)[-1] if tilde else target
    return f"<code>{shown}</code>"


def on_page_content(html: str, **kwargs) -> str:
    """Rewrite ``:role:<code>target</code>`` into ``<code>target</code>``."""
    return _ROLE.sub(_replace, html)
