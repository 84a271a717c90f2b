"""mmreg.formula."""
