"""Cox proportional hazards with the baseline hazard integrated out (Gamma-Poisson).

bml writes the Cox model as a counting process: for baseline piece ``k`` (a unique time, or
an interval) subject ``i`` contributes ``dN_ik ~ Poisson(E_ik exp(eta_i) lambda_k)``, with
independent priors ``lambda_k ~ Gamma(a, rate b)`` (bml: ``a = 0.001``, ``b = 0.1``).  The
``lambda_k`` integrate out in closed form, giving the exact marginal log-likelihood

    l(eta) = sum_i sum_k dN_ik log E_ik + sum_i event_i eta_i
             + sum_k [lgamma(a + d_k) - lgamma(a) + a log b - (a + d_k) log(b + S_k)],

``d_k = sum_i dN_ik`` and ``S_k = sum_i E_ik exp(eta_i)``.  The first sum is an ``eta``-free
constant (zero for unit exposures).  As ``a, b -> 0`` the ``eta``-dependent part is the
Breslow partial likelihood (``intervals=None``) or the piecewise-exponential likelihood
profiled over the interval rates (``intervals=k``).

Baseline pieces (bml 0.9.0, ``createJagsVars.R``):

* ``intervals=None``: one piece per unique observed time ``t_k`` (``grid="all"``, bml's
  ``t.unique <- sort(unique(t))``, censoring times included; ``grid="events"`` uses the unique
  event times only).  ``E_ik = 1`` if ``time_i >= t_k`` (at risk), ``dN_ik = 1`` if ``i`` has
  its event at ``t_k``.  Ties are exact-equality ties, handled Breslow-style.
* ``intervals=k``: breaks at the quantiles ``0, 1/k, ..., 1`` of the event times (R's default
  type-7 quantile, ``numpy.quantile`` "linear"), the first break replaced by 0 and the last by
  ``max(time) + 1``; intervals are ``(start, end]``; ``E_ik`` is the time at risk in interval
  ``k`` and ``dN_ik = 1`` for the interval holding ``i``'s event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import brentq
from scipy.special import gammaln

from mmreg.errors import MMDataError, MMSpecError
from mmreg.families.base import BoundFamily, Curvature, Family, survival_arrays
from mmreg.families.weibull import censor_like_data

__all__ = ["CoxFamily", "BoundCox", "BoundCoxRiskSet", "BoundCoxPiecewise"]

#: Largest risk-set matrix (non-zeros) built for the curvature of the unique-time model.
MAX_RISKSET_NNZ = 30_000_000


class CoxFamily(Family):
    """Cox proportional-hazards family (bml ``family = "Cox"``); no intercept, no ``phi``.

    Parameters
    ----------
    intervals : int or None
        ``None``: one baseline increment per unique time; ``k``: piecewise-constant baseline
        hazard on ``k`` intervals (bml's ``cox_intervals``).
    a, b : float
        Shape and rate of the independent Gamma priors on the baseline increments.
    grid : {"all", "events"}
        For ``intervals=None``: pieces at every unique observed time (bml) or only at the
        unique event times.
    """

    name = "cox"
    bml_name = "Cox"
    hyper_names = ()
    has_intercept = False
    default_particles = 16
    takes_intervals = True
    has_baseline = True
    survival = True

    def survival_function(self, eta, phi, times, cumhaz=None):
        """``S(t | η) = exp(-H₀(t) e^η)`` with the cumulative baseline hazard ``cumhaz``."""
        if cumhaz is None:
            raise ValueError("Cox survival needs the cumulative baseline hazard")
        return np.exp(-np.asarray(cumhaz)[None, :] * np.exp(np.asarray(eta)[:, None]))

    def hazard_ratio(self, beta, phi):
        """``exp(β)``."""
        return np.exp(np.asarray(beta))

    summary_notes = ("No intercept: it is absorbed by the baseline hazard / choice sets.",)
    outcome_kind = "surv"
    outcome_keys = ("time", "event")

    def __init__(
        self, intervals: int | None = None, a: float = 0.001, b: float = 0.1, grid: str = "all"
    ) -> None:
        if intervals is not None:
            ok = isinstance(intervals, (int, np.integer)) and not isinstance(intervals, bool)
            if not ok and isinstance(intervals, float) and float(intervals).is_integer():
                intervals, ok = int(intervals), True
            if not ok or intervals < 1:
                raise MMSpecError(
                    f"cox_intervals must be None or a positive integer, got {intervals!r}."
                )
            intervals = int(intervals)
        for nm, v in (("a", a), ("b", b)):
            if not (np.isfinite(v) and v > 0):
                raise MMSpecError(f"Cox baseline Gamma prior: {nm} must be positive, got {v!r}.")
        if grid not in ("all", "events"):
            raise MMSpecError(f"Cox grid must be 'all' or 'events', got {grid!r}.")
        self.intervals = intervals
        self.a = float(a)
        self.b = float(b)
        self.grid = grid

    def _options(self) -> dict[str, object]:
        return {"intervals": self.intervals, "a": self.a, "b": self.b, "grid": self.grid}

    def bind(
        self, outcome: Mapping[str, np.ndarray], labels: Mapping[str, str] | None = None
    ) -> BoundCox:
        """Validate ``time`` / ``event`` (at least one event) and precompute the risk sets.

        Parameters
        ----------
        outcome : mapping
            ``{"time": array, "event": array}``.
        labels : mapping, optional
            User-facing column names for error messages.

        Returns
        -------
        BoundCoxRiskSet or BoundCoxPiecewise
        """
        time, event = survival_arrays(outcome, self.name, labels)
        if not event.any():
            col = (labels or {}).get("event", "event")
            raise MMDataError(
                f"Cox model: the event column '{col}' has no events (all 0), so the baseline "
                "hazard and the coefficients are not identified. Check the event coding."
            )
        if self.intervals is None:
            return BoundCoxRiskSet(self, time, event)
        n_times = int(np.unique(time[event == 1]).size)
        if self.intervals > n_times:
            col = (labels or {}).get("time", "time")
            raise MMSpecError(
                f"cox_intervals={self.intervals} is more than the {n_times} distinct event "
                f"times in '{col}': use at most cox_intervals={n_times} (each interval's "
                "hazard needs events to be informed), or cox_intervals=None for one piece "
                "per unique time."
            )
        return BoundCoxPiecewise(self, time, event)


class BoundCox(BoundFamily):
    """Shared Gamma-Poisson algebra of both Cox variants (see the module docstring).

    Subclasses set ``K``, ``d_k`` (events per piece), ``_event_logexp`` (``log E`` of each
    event's own piece, 0 for censored rows) and implement ``_log_sums``, ``_log_expose`` and
    ``_exposure_matrix``.
    """

    K: int
    d_k: np.ndarray
    _event_logexp: np.ndarray

    def __init__(self, family: CoxFamily, time: np.ndarray, event: np.ndarray) -> None:
        self.family = family
        self.time = time
        self.event = event
        self.n = int(time.shape[0])
        self.a, self.b = family.a, family.b
        self._logb = float(np.log(self.b))
        self._E: sp.csc_matrix | None = None
        #: (a copy of the last ``eta``, its :meth:`_core`): Newton asks for the
        #: log-likelihood and then the derivatives at the same predictor
        self._last_core: tuple | None = None

    def _finish(self) -> None:
        self._ad = self.a + self.d_k
        self._gl = gammaln(self._ad) - gammaln(self.a) + self.a * self._logb
        self._const = float(self._event_logexp.sum())

    # -- structure supplied by subclasses ------------------------------------------------------
    def _log_sums(self, eta: np.ndarray) -> np.ndarray:
        """``log S_k = log sum_i E_ik exp(eta_i)``, per piece stable (``-inf``: empty piece)."""
        raise NotImplementedError

    def _log_expose(self, logw: np.ndarray) -> np.ndarray:
        """``log sum_k E_ik exp(logw_k)`` per subject, stable (``-inf``: at risk nowhere)."""
        raise NotImplementedError

    def _exposure_matrix(self) -> sp.csc_matrix:
        raise NotImplementedError

    # -- core ----------------------------------------------------------------------------------
    def _core(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``eta``, ``log S_k`` and ``L_k = log(b + S_k)``, all in log space.

        Every risk-set sum is formed on its own scale (a log-sum-exp per piece), so pieces
        whose linear predictors lie far below the overall maximum keep their exact value
        instead of underflowing to ``S_k = 0`` (which would turn ``log(b + S_k)`` into
        ``log b`` and the marginal likelihood into a spurious, huge positive number).
        """
        last = self._last_core  # one read: safe with threads
        if last is not None and last[0].shape == np.shape(eta) and np.array_equal(last[0], eta):
            return last[1]
        key = np.array(eta, dtype=float)  # a copy: the caller may reuse its array
        eta = self._eta(key)
        logS = self._log_sums(eta)
        out = eta, logS, np.logaddexp(self._logb, logS)
        self._last_core = (key, out)
        return out

    def loglik(self, eta: np.ndarray, phi: Sequence[float] = ()) -> float:
        """Exact marginal log-likelihood of the counting-process data (baseline integrated)."""
        self._phi(phi)
        eta, _, L = self._core(eta)
        return float(self._total(eta, L))

    def _total(self, eta: np.ndarray, L: np.ndarray):
        """The log-likelihood from ``eta`` and ``L_k = log(b + S_k)``: a scalar for (n,) and
        (pieces,), one value per column for (n, K) and (pieces, K)."""
        return self.event @ eta + self._const + (self._gl - self._ad * L.T).sum(-1)

    def loglik_terms(self, eta: np.ndarray, phi: Sequence[float] = ()) -> np.ndarray:
        """Per-subject pieces summing to :meth:`loglik`.

        Subject ``i`` gets ``event_i (eta_i + log E_i)`` plus a share of every baseline
        piece's term proportional to its share ``E_ik exp(eta_i) / S_k`` of the exposure.  The
        marginal likelihood does not factorise over subjects, so this is a bookkeeping split
        (exact in total up to rounding of order ``1e-16 * max|eta|`` per subject), not a
        leave-one-out likelihood.
        """
        self._phi(phi)
        eta, logS, L = self._core(eta)
        piece = self._gl - self._ad * L
        ok = np.isfinite(logS)
        share = np.zeros(self.n)
        for sign in (1.0, -1.0):
            part = np.where(ok, np.maximum(sign * piece, 0.0), 0.0)
            with np.errstate(divide="ignore"):
                logw = np.where(part > 0, np.log(part) - np.where(ok, logS, 0.0), -np.inf)
            share += sign * np.exp(eta + self._log_expose(logw))
        return self.event * eta + self._event_logexp + share

    def derivs(self, eta: np.ndarray, phi: Sequence[float] = ()) -> tuple[np.ndarray, Curvature]:
        """Gradient ``event - mu`` and negative Hessian ``diag(mu) - U diag(c) U'``.

        ``U`` is the sparse ``(n, K)`` CSC matrix ``E_ik exp(eta_i - L_k)`` with
        ``L_k = log(b + S_k)`` (entries at most ``E_ik``, so nothing overflows),
        ``c_k = a + d_k`` and ``mu = U c``, i.e. ``mu_i = sum_k E_ik (a + d_k) exp(eta_i - L_k)``.
        """
        self._phi(phi)
        eta, _, L = self._core(eta)
        E = self._exposure()
        U = sp.csc_matrix(
            (E.data * np.exp(eta[E.indices] - L[self._E_col]), E.indices, E.indptr),
            shape=E.shape,
        )
        mu = U @ self._ad
        return self.event - mu, Curvature(d=mu, U=U, c=self._ad.copy())

    def _exposure(self) -> sp.csc_matrix:
        if self._E is None:
            self._E = self._exposure_matrix()
            self._E_col = np.repeat(np.arange(self._E.shape[1]), np.diff(self._E.indptr))
        return self._E

    def dphi(self, eta: np.ndarray, phi: Sequence[float] = ()) -> None:
        """No hyperparameters: ``None``."""
        return None

    def mean(self, eta: np.ndarray, phi: Sequence[float] = ()) -> np.ndarray:
        """Relative hazard ``exp(eta)``."""
        return np.exp(self._eta(eta, any_length=True))

    def residual_variance(self, phi: Sequence[float] = ()) -> None:
        """``None``: the Cox model has no residual variance on a latent scale."""
        return None

    def simulate(
        self, eta: np.ndarray, phi: Sequence[float], rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Exponential event times with a constant baseline hazard, censored as in the data.

        The baseline hazard ``h0`` solves ``mean_i exp(-h0 exp(eta_i) m) = 1/2`` with ``m``
        the median observed time, so the median of the new (uncensored) times over the
        sample matches the data's.  Rows censored in the data are censored at their observed
        time; rows with events are not censored (see
        :func:`mmreg.families.weibull.censor_like_data`).
        """
        self._phi(phi)
        eta = self._eta(eta)
        med = float(np.median(self.time))

        def excess(u: float) -> float:
            with np.errstate(over="ignore"):
                return float(np.mean(np.exp(-np.exp(u + eta) * med))) - 0.5

        u0 = float(np.log(np.log(2.0) / med) - np.median(eta))
        lo, hi = u0 - 5.0, u0 + 5.0
        while excess(lo) < 0:
            lo -= 10.0
        while excess(hi) > 0:
            hi += 10.0
        u = brentq(excess, lo, hi, xtol=1e-12)
        t_new = rng.standard_exponential(self.n) * np.exp(-(u + eta))
        return censor_like_data(t_new, self.time, self.event)

    def baseline_posterior(self, eta: np.ndarray) -> pd.DataFrame:
        """Gamma posterior of each baseline piece given ``eta``.

        Parameters
        ----------
        eta : numpy.ndarray

        Returns
        -------
        pandas.DataFrame
            One row per piece: the grid (``time`` for unique times: the increment of the
            cumulative baseline hazard at that time; ``start``/``end`` for intervals: the
            constant hazard rate on ``(start, end]``), ``events`` (``d_k``), ``exposure``
            (``S_k``), ``shape = a + d_k``, ``rate = b + S_k`` and ``mean = shape / rate``.
        """
        _, logS, L = self._core(eta)
        rate = np.exp(L)
        out = self._grid_frame()
        out["events"] = self.d_k.astype(int)
        out["exposure"] = np.exp(logS)
        out["shape"] = self._ad
        out["rate"] = rate
        out["mean"] = self._ad / rate
        return out

    def _grid_frame(self) -> pd.DataFrame:
        raise NotImplementedError


def _grouped_logsumexp(group: np.ndarray, vals: np.ndarray, n_groups: int) -> np.ndarray:
    """``log sum_{i: group_i = g} exp(vals_i)`` for every ``g``, each on its own scale
    (``-inf`` for an empty group)."""
    top = np.full(n_groups, -np.inf)
    np.maximum.at(top, group, vals)
    shift = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        total = np.bincount(group, weights=np.exp(vals - shift[group]), minlength=n_groups)
        return np.log(total) + shift


class _RowLogSumExp:
    """``x -> log sum_j A_ij exp(x_j)`` row by row for a fixed CSR matrix with A > 0.

    A CSR matrix holds its rows' entries contiguously, so every row's maximum and sum is a
    ``reduceat`` over its segment (``np.maximum.at`` costs ~4× more); a 2-D ``x`` (one
    column per importance particle) is done in the same pass.
    """

    def __init__(self, A: sp.csr_matrix):
        counts = np.diff(A.indptr)
        self.col, self.logdata, self.n = A.indices, np.log(A.data), A.shape[0]
        self._rows = np.flatnonzero(counts > 0)  # rows with entries (others: -inf)
        self._starts = A.indptr[:-1][self._rows]
        self._counts = counts[self._rows]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``(n,)`` for ``x`` of shape ``(m,)``; ``(n, k)`` for ``(m, k)``."""
        vals = x[self.col] + (self.logdata if x.ndim == 1 else self.logdata[:, None])
        out = np.full((self.n, *x.shape[1:]), -np.inf)
        if not len(vals):
            return out
        # without a shift where no sum leaves [1e-300, 1e300] (the linear predictors of any
        # sensible fit): a third fewer passes; the shifted sums otherwise
        with np.errstate(over="ignore", under="ignore"):
            total = np.add.reduceat(np.exp(vals), self._starts, axis=0)
        if np.all((total > 1e-300) & (total < 1e300)):
            out[self._rows] = np.log(total)
            return out
        top = np.maximum.reduceat(vals, self._starts, axis=0)
        shift = np.where(np.isfinite(top), top, 0.0)
        with np.errstate(divide="ignore"):
            e = np.exp(vals - np.repeat(shift, self._counts, axis=0))
            out[self._rows] = np.log(np.add.reduceat(e, self._starts, axis=0)) + shift
        return out


class BoundCoxRiskSet(BoundCox):
    """Cox with one baseline increment per unique time (cumulative-sum risk sets).

    Attributes
    ----------
    grid : numpy.ndarray
        The unique times ``t_k`` (increasing).
    """

    def __init__(self, family: CoxFamily, time: np.ndarray, event: np.ndarray) -> None:
        super().__init__(family, time, event)
        self.grid = np.unique(time if family.grid == "all" else time[event == 1])
        self.K = int(self.grid.shape[0])
        r = np.searchsorted(self.grid, time, side="right") - 1  # last piece at risk, -1: none
        self._r = r
        self._at = r >= 0  # rows at risk at some piece
        self._idx = r + 1
        self.d_k = np.bincount(r[event == 1], minlength=self.K).astype(float)
        self._event_logexp = np.zeros(self.n)
        self._finish()

    def _log_sums(self, eta: np.ndarray) -> np.ndarray:
        # log-sum-exp of eta over the subjects whose last piece is k, then a reverse
        # cumulative logaddexp: S_k sums the subjects with last piece >= k.
        own = _grouped_logsumexp(self._r[self._at], eta[self._at], self.K)
        return np.logaddexp.accumulate(own[::-1])[::-1]

    def _log_expose(self, logw: np.ndarray) -> np.ndarray:
        cum = np.concatenate([[-np.inf], np.logaddexp.accumulate(logw)])
        return cum[self._idx]

    def _exposure_matrix(self) -> sp.csc_matrix:
        count = np.bincount(self._idx, minlength=self.K + 1)[1:][::-1].cumsum()[::-1]
        nnz = int(count.sum())
        if nnz > MAX_RISKSET_NNZ:
            raise MMSpecError(
                f"Cox with one baseline piece per unique time on {self.n} observations needs a "
                f"risk-set matrix with {nnz:,} non-zeros; use cox_intervals=k (e.g. 10-50) "
                "for data this large."
            )
        indptr = np.concatenate([[0], np.cumsum(count)])
        order = np.argsort(-self._r, kind="stable")
        indices = order[np.arange(nnz) - np.repeat(indptr[:-1], count)]
        return sp.csc_matrix((np.ones(nnz), indices, indptr), shape=(self.n, self.K))

    def _grid_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"time": self.grid})


class BoundCoxPiecewise(BoundCox):
    """Cox with a piecewise-constant baseline hazard on bml's quantile intervals.

    Attributes
    ----------
    breaks : numpy.ndarray
        ``K + 1`` interval boundaries (``breaks[0] = 0``, ``breaks[-1] = max(time) + 1``).
    """

    #: event times whose median is below this are measured internally in units of that
    #: median (see :attr:`time_unit`)
    SMALL_TIMES = 1.0

    def __init__(self, family: CoxFamily, time: np.ndarray, event: np.ndarray) -> None:
        super().__init__(family, time, event)
        K = int(family.intervals)  # type: ignore[arg-type]  # not None for this variant
        self.K = K
        # The Gamma(a, rate b) prior of the hazards is per unit of time: with times of 1e-15
        # every exposure sum S_k is ~1e-13, far below b = 0.1, log(b + S_k) no longer
        # depends on eta and the data are silently ignored.  Small times are therefore
        # measured in units of their median event time (bml's vague prior on that scale).
        med = float(np.median(time[event == 1]))
        self.time_unit = med if 0 < med < self.SMALL_TIMES else 1.0
        breaks = np.quantile(time[event == 1], np.linspace(0.0, 1.0, K + 1))
        breaks[0] = 0.0
        breaks[-1] = time.max() + 1.0
        self.breaks = breaks
        time = time / self.time_unit
        breaks = breaks / self.time_unit
        j = np.clip(np.searchsorted(breaks, time, side="left") - 1, 0, K - 1)  # (start, end]
        count = j + 1
        indptr = np.concatenate([[0], np.cumsum(count)])
        col = np.arange(indptr[-1]) - np.repeat(indptr[:-1], count)
        vals = np.diff(breaks)[col]
        own = time - breaks[j]
        vals[indptr[1:] - 1] = own
        E = sp.csr_matrix((vals, col, indptr), shape=(self.n, K))
        E.eliminate_zeros()
        self._Ecsr = E
        self._lse_pieces, self._lse_rows = _RowLogSumExp(E.T.tocsr()), _RowLogSumExp(E)
        self.d_k = np.bincount(j[event == 1], minlength=K).astype(float)
        # internal units: with the prior rate b per unit it is also the likelihood under
        # the rate b / time_unit in the data's units (the log(time_unit) terms cancel)
        self._event_logexp = np.where(event == 1, np.log(own), 0.0)
        self._finish()

    def baseline_posterior(self, eta: np.ndarray) -> pd.DataFrame:
        """As :meth:`BoundCox.baseline_posterior`, hazards per unit of the data's time."""
        out = super().baseline_posterior(eta)
        c = self.time_unit
        out["exposure"] *= c
        out["rate"] *= c
        out["mean"] /= c
        return out

    def _log_sums(self, eta: np.ndarray) -> np.ndarray:
        return self._lse_pieces(eta)

    def loglik_columns(self, eta: np.ndarray, phi: Sequence[float] = ()) -> np.ndarray:
        """:meth:`loglik` of every column of ``eta`` (n × K) in one pass over the pieces."""
        self._phi(phi)
        eta = np.asarray(eta, dtype=float)
        if eta.ndim != 2 or eta.shape[0] != self.n:
            return super().loglik_columns(eta, phi)  # its error message
        return self._total(eta, np.logaddexp(self._logb, self._lse_pieces(eta)))

    def _log_expose(self, logw: np.ndarray) -> np.ndarray:
        return self._lse_rows(logw)

    def _exposure_matrix(self) -> sp.csc_matrix:
        E = self._Ecsr.tocsc()
        E.sort_indices()
        return E

    def _grid_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"start": self.breaks[:-1], "end": self.breaks[1:]})
