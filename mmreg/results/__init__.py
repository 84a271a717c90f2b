"""mmreg.results."""
