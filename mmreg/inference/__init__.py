"""mmreg.inference."""
