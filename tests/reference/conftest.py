"""Shared fixtures of the reference tests: the real ``coalgov`` data from ``../shared``.

The data are never copied into the repository; tests that use them skip with a clear reason
when ``../shared`` (beside the repository root) is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
COALGOV_CSV = SHARED / "data" / "coalgov.csv"


@pytest.fixture(scope="session")
def _coalgov_frame() -> pd.DataFrame:
    if not COALGOV_CSV.exists():
        pytest.skip(f"coalgov data not found at {COALGOV_CSV} (../shared is absent)")
    df = pd.read_csv(COALGOV_CSV)
    df["logdur"] = np.log(df["dur_wkb"])
    return df


@pytest.fixture
def coalgov(_coalgov_frame: pd.DataFrame) -> pd.DataFrame:
    """A fresh copy of coalgov (one row per party in each government) with ``logdur``."""
    return _coalgov_frame.copy()
