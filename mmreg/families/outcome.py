"""Outcome validation shared by the families (clear :class:`~mmreg.MMDataError` messages)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mmreg.errors import MMDataError

__all__ = ["check_binary", "column_label", "outcome_array", "survival_arrays"]


_ROLE = {
    "y": "outcome",
    "time": "survival time (first argument of Surv())",
    "event": "event indicator (second argument of Surv())",
    "strata": "choice-set id (strata())",
}


def column_label(key: str, labels: Mapping[str, str] | None) -> str:
    """Return ``"'col' (role)"`` for error messages."""
    name = labels.get(key, key) if labels else key
    role = _ROLE.get(key)
    return f"'{name}' ({role})" if role else f"'{name}'"


def _rows(mask: np.ndarray, limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in idx[:limit])
    return shown + (f", ... ({idx.size} rows)" if idx.size > limit else "")


def outcome_array(
    outcome: Mapping[str, np.ndarray],
    key: str,
    family: str,
    labels: Mapping[str, str] | None,
    n: int | None = None,
) -> np.ndarray:
    """Fetch ``outcome[key]`` as a finite 1-D float array or raise :class:`MMDataError`."""
    col = column_label(key, labels)
    if key not in outcome:
        raise MMDataError(
            f"family '{family}' needs the {col} column, which was not supplied "
            f"(got keys {sorted(outcome)})."
        )
    raw = outcome[key]
    try:
        arr = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        raise MMDataError(
            f"{col} must be numeric for family '{family}'; convert it to numbers "
            "(e.g. 0/1) before fitting."
        ) from None
    if arr.ndim != 1:
        raise MMDataError(f"{col} must be a single column (1-D), got shape {arr.shape}.")
    if n is not None and arr.shape[0] != n:
        raise MMDataError(f"{col} has {arr.shape[0]} rows but the other outcome columns {n}.")
    if arr.shape[0] == 0:
        raise MMDataError(f"{col} is empty: the model needs at least one observation.")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise MMDataError(
            f"{col} has missing or infinite values at rows {_rows(bad)}; drop or impute "
            "those rows before fitting."
        )
    return arr


def check_binary(arr: np.ndarray, key: str, family: str, labels: Mapping[str, str] | None):
    """Raise :class:`MMDataError` unless every value is 0 or 1."""
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        vals = ", ".join(f"{v:g}" for v in np.unique(arr[bad])[:5])
        what = "1 = event, 0 = censored" if key == "event" else "1 = yes/chosen, 0 = no"
        raise MMDataError(
            f"{column_label(key, labels)} must be coded 0/1 for family '{family}'; found "
            f"{vals} at rows {_rows(bad)}. Recode it as {what}."
        )


def survival_arrays(
    outcome: Mapping[str, np.ndarray], family: str, labels: Mapping[str, str] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(time, event)`` arrays: times positive and finite, events 0/1."""
    time = outcome_array(outcome, "time", family, labels)
    event = outcome_array(outcome, "event", family, labels, n=time.shape[0])
    bad = time <= 0
    if bad.any():
        raise MMDataError(
            f"{column_label('time', labels)} must be positive for family '{family}'; "
            f"rows {_rows(bad)} are <= 0. Survival times are durations: drop those rows or "
            "shift the time origin."
        )
    check_binary(event, "event", family, labels)
    return time, event
