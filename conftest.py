"""pytest configuration for the doctests in ``mmreg/`` (``--doctest-modules``).

Examples that export to ArviZ (the optional extra ``mmreg[arviz]``) are skipped, with the
reason, where ArviZ is not installed: the README's test command installs only ``.[dev]``.
"""

from __future__ import annotations

import importlib.util

import pytest


def pytest_collection_modifyitems(config, items):
    if importlib.util.find_spec("arviz") is not None:
        return
    skip = pytest.mark.skip(reason="needs the optional arviz: pip install 'mmreg[arviz]'")
    for item in items:
        dtest = getattr(item, "dtest", None)  # a doctest item
        if dtest is not None and any("to_inference_data" in ex.source for ex in dtest.examples):
            item.add_marker(skip)
