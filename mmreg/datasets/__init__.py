"""Example data sets: simulated coalition governments with known truth."""

from __future__ import annotations

from mmreg.datasets.simulate import simulate_coalitions

__all__ = ["simulate_coalitions"]
