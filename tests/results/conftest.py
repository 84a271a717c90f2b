"""Test configuration for mmreg.results: a non-interactive matplotlib backend."""

import matplotlib

matplotlib.use("Agg")
