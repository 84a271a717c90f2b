"""Elementwise functions the families evaluate on every row at every evaluation."""

from __future__ import annotations

import numpy as np

__all__ = ["log1pexp"]


def log1pexp(x: np.ndarray) -> np.ndarray:
    """log(1 + eˣ), elementwise and stable: max(x, 0) + log1p(e^−|x|).

    The value of ``np.logaddexp(0, x)`` to rounding (within 2 ulp), about four
    times faster on arrays (NumPy's ``logaddexp`` runs a scalar loop; coalgov's
    binomial model, 8 particles × 628 rows: 67 → 16 µs).  ±∞ give ∞ and 0, NaN stays NaN.
    """
    x = np.asarray(x, dtype=float)
    out = np.abs(x)
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    out += np.maximum(x, 0.0)
    return out
