"""mmreg.datasets."""
