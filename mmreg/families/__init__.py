"""mmreg.families."""
