"""Long validation runs (reference posteriors, calibration, coverage); see README.md here."""
