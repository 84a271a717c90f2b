"""Outcome families: the common interface and shared validation.

A family turns the linear predictor ``eta`` (one entry per group / observation) and the
family's own hyperparameters ``phi`` into a log-likelihood, its gradient in ``eta`` and its
negative Hessian in ``eta``.  The negative Hessian is returned as a :class:`Curvature`, the
structured form ``diag(d) - U diag(c) U'`` that every family here has (diagonal for the
factorising families, diagonal minus a sparse low-rank part for Cox and the conditional
logit).

:class:`Family` objects are stateless descriptions (``get_family("cox", intervals=10)``);
``Family.bind(outcome)`` validates the outcome arrays once and returns a
:class:`BoundFamily` that precomputes whatever the hot loop needs.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from mmreg.errors import MMSpecError
from mmreg.families.curvature import Curvature
from mmreg.families.outcome import (
    check_binary,
    column_label,
    outcome_array,
    survival_arrays,
)
from mmreg.priors import Prior

__all__ = [
    "BoundFamily",
    "Curvature",
    "Family",
    "check_binary",
    "column_label",
    "outcome_array",
    "survival_arrays",
]


class BoundFamily(ABC):
    """A family bound to validated outcome data; everything the inference engine calls.

    Attributes
    ----------
    n : int
        Number of observations (length of ``eta``).
    family : Family
        The family this object was bound from.
    """

    n: int
    family: Family

    @abstractmethod
    def loglik(self, eta: np.ndarray, phi: Sequence[float]) -> float:
        """Full log-likelihood (normalising constants included).

        Parameters
        ----------
        eta : numpy.ndarray
            Linear predictor, shape ``(n,)``.
        phi : sequence of float
            Family hyperparameters in the order of ``family.hyper_names``.

        Returns
        -------
        float
        """

    @abstractmethod
    def loglik_terms(self, eta: np.ndarray, phi: Sequence[float]) -> np.ndarray:
        """Per-observation contributions that sum to :meth:`loglik` (for WAIC/LOO).

        Returns
        -------
        numpy.ndarray
            Shape ``(n,)``.
        """

    @abstractmethod
    def derivs(self, eta: np.ndarray, phi: Sequence[float]) -> tuple[np.ndarray, Curvature]:
        """Gradient ``d loglik / d eta`` and the negative Hessian as a :class:`Curvature`.

        Returns
        -------
        grad : numpy.ndarray
            Shape ``(n,)``.
        curvature : Curvature
        """

    @abstractmethod
    def dphi(self, eta: np.ndarray, phi: Sequence[float]) -> np.ndarray | None:
        """Gradient of :meth:`loglik` in ``phi`` (``None`` when the family has no ``phi``).

        Returns
        -------
        numpy.ndarray or None
            Shape ``(len(phi),)``.
        """

    @abstractmethod
    def simulate(
        self, eta: np.ndarray, phi: Sequence[float], rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Draw new outcomes, in the dict layout that :meth:`Family.bind` accepts.

        Returns
        -------
        dict of str to numpy.ndarray
        """

    @abstractmethod
    def mean(self, eta: np.ndarray, phi: Sequence[float]) -> np.ndarray:
        """Expected outcome on the response scale.

        Elementwise families accept ``eta`` of any length (predictions for new data).

        Returns
        -------
        numpy.ndarray
            Same shape as ``eta``.
        """

    @abstractmethod
    def residual_variance(self, phi: Sequence[float]) -> float | None:
        """Level-1 (residual) variance on the latent scale, for ICCs; ``None`` if undefined.

        Returns
        -------
        float or None
        """

    def initial_phi(self) -> tuple[float, ...]:
        """Rough starting values for ``phi`` computed from the outcome (for optimisers).

        Returns
        -------
        tuple of float
        """
        return ()

    def start_phi(self) -> tuple[float, ...]:
        """Starting values of ``phi`` for the hyperparameter optimiser.

        Defaults to :meth:`initial_phi`.

        Returns
        -------
        tuple of float
        """
        return self.initial_phi()

    def outcome_sd(self) -> float | None:
        """SD of the outcome when its units set the scale of the model, else ``None``.

        See :attr:`Family.outcome_sets_scale`.

        Returns
        -------
        float or None
        """
        return None

    @property
    def quadratic(self) -> bool:
        """The log-likelihood is quadratic in ``eta`` (:attr:`Family.exact_gaussian`)."""
        return self.family.exact_gaussian

    def normal_outcome(self) -> np.ndarray | None:
        """The outcome y when the log-likelihood is that of y ~ N(eta, σ²) with one σ for
        every row (σ² = :meth:`residual_variance`), else ``None``.

        Then log p(y | ψ) of a fixed design needs the data only through Aᵀy and yᵀy
        (:mod:`mmreg.inference.gaussian_sums`).
        """
        return None

    def initial_eta(self) -> float | None:
        """A starting value of the linear predictor on the outcome's scale, or ``None``.

        Used as the start of the intercept in the conditional-mode search, so that the
        first Newton step starts where the data are (log survival times of 1e15 give a
        Weibull curvature of e^35 at eta = 0).

        Returns
        -------
        float or None
        """
        return None

    #: :meth:`loglik_terms` also takes a (K, n) array, one linear predictor per row, and
    #: returns the (K, n) terms (families whose terms are elementwise in ``eta``)
    rowwise_terms: bool = False

    def loglik_columns(self, eta: np.ndarray, phi: Sequence[float]) -> np.ndarray:
        """:meth:`loglik` of every column of ``eta`` (importance particles).

        Families with :attr:`rowwise_terms` compute all columns in one call (each value
        equal to :meth:`loglik` of that column: the same terms, summed the same way);
        the others call :meth:`loglik` once per column.

        Parameters
        ----------
        eta : numpy.ndarray
            Linear predictors, shape ``(n, K)``.
        phi : sequence of float
            Family hyperparameters.

        Returns
        -------
        numpy.ndarray
            Shape ``(K,)``.
        """
        eta = np.asarray(eta, dtype=float)
        if eta.ndim != 2 or eta.shape[0] != self.n:
            raise MMSpecError(
                f"{self.family.name}: eta must have shape ({self.n}, K) for loglik_columns, "
                f"got {eta.shape}."
            )
        if not self.rowwise_terms:
            return np.array([self.loglik(eta[:, j], phi) for j in range(eta.shape[1])])
        # rows contiguous: each row is summed like a 1-D array (the same rounding)
        return self.loglik_terms(np.ascontiguousarray(eta.T), phi).sum(axis=1)

    # -- helpers shared by the implementations ------------------------------------------------
    def _eta(self, eta: np.ndarray, any_length: bool = False, rows: bool = False) -> np.ndarray:
        eta = np.asarray(eta, dtype=float)
        if any_length and eta.ndim == 1:  # elementwise maps (mean of new observations)
            return eta
        if rows and eta.ndim == 2 and eta.shape[1] == self.n:  # one predictor per row
            return eta
        if eta.shape != (self.n,):
            raise MMSpecError(
                f"{self.family.name}: eta must have shape ({self.n},), got {eta.shape}."
            )
        return eta

    def _phi(self, phi: Sequence[float]) -> np.ndarray:
        names = self.family.hyper_names
        arr = np.asarray(phi, dtype=float).reshape(-1)
        if arr.shape[0] != len(names):
            raise MMSpecError(
                f"{self.family.name}: phi must hold {len(names)} value(s) {names}, "
                f"got {arr.shape[0]}."
            )
        if names and not all(math.isfinite(v) and v > 0 for v in arr.tolist()):
            raise MMSpecError(
                f"{self.family.name}: hyperparameters {names} must be positive and finite, "
                f"got {tuple(arr)}."
            )
        return arr


class Family(ABC):
    """An outcome distribution, independent of data.

    Attributes
    ----------
    name : str
        Canonical lower-case name (``"gaussian"``, ``"binomial"``, ``"weibull"``, ``"cox"``,
        ``"clogit"``).
    bml_name : str
        The name bml uses (``"Gaussian"``, ...).
    hyper_names : tuple of str
        Names of the family hyperparameters ``phi``.
    has_intercept : bool
        Whether the linear predictor carries an identified intercept (False for Cox, where
        the baseline hazard absorbs it, and for clogit, where it cancels within a set).
    outcome_kind : str
        ``"plain"`` (a ``y`` column) or ``"surv"`` (``Surv(time, event)``).
    outcome_keys : tuple of str
        The keys :meth:`bind` needs.
    hyper_prior_kinds : tuple of str
        The prior kind of each of :attr:`hyper_names` (``mmreg.priors.kinds``: ``"sd"``,
        ``"shape"``): the checks of a user's prior (support, messages).
    default_priors : mapping of str to Prior
        The default prior of each of :attr:`hyper_names` (e.g. ``{"shape":
        Gamma(0.01, 0.01)}``): a family declares its own, so that a new family needs no
        change outside ``mmreg/families/`` (:func:`mmreg.get_prior` lists them).
    exact_gaussian : bool
        The likelihood is Gaussian in ``eta`` (quadratic log-likelihood): the latent effects
        integrate out exactly, so the Laplace fit is exact and MCMC needs no importance
        particles (the collapsed estimator); otherwise MCMC is pseudo-marginal.
    default_particles : int
        Importance particles per likelihood evaluation of the pseudo-marginal MCMC
        (ignored when :attr:`exact_gaussian`).
    derived_names : tuple of str
        Parameters reported next to ``phi`` and computed from it by :meth:`derived_params`
        (Weibull: ``("sigma",)``, bml's ``sigma = 1 / shape``).
    outcome_sets_scale : bool
        The outcome's units set the scale of ``eta``, the SDs and ``phi`` (Gaussian); other
        families' latent scales (logit, log time, log hazard) are O(1).
    constant_outcome : str or None
        What a constant outcome means: ``"error"`` (nothing to explain), ``"separation"``
        (warn: the intercept is set by its prior) or ``None`` (no check).
    takes_intervals : bool
        The family takes the ``intervals`` option (bml's ``cox_intervals``).
    has_baseline : bool
        A baseline hazard can be estimated after the fit (Cox).
    needs_choice_sets : bool
        The outcome is defined within choice sets (``strata()`` in the formula; predictions
        for new data need the strata column too).
    summary_notes : tuple of str
        Lines added to the text summary of a fit.
    """

    name: str
    bml_name: str
    hyper_names: tuple[str, ...] = ()
    has_intercept: bool = True
    outcome_kind: str = "plain"
    outcome_keys: tuple[str, ...] = ("y",)
    hyper_prior_kinds: tuple[str, ...] = ()
    default_priors: Mapping[str, Prior] = MappingProxyType({})
    exact_gaussian: bool = False
    default_particles: int = 8
    derived_names: tuple[str, ...] = ()
    outcome_sets_scale: bool = False
    constant_outcome: str | None = None
    takes_intervals: bool = False
    has_baseline: bool = False
    needs_choice_sets: bool = False
    summary_notes: tuple[str, ...] = ()
    survival: bool = False

    def survival_function(
        self,
        eta: np.ndarray,
        phi: Sequence[float],
        times: np.ndarray,
        cumhaz: np.ndarray | None = None,
    ) -> np.ndarray:
        """S(t) of every group (rows) at ``times`` (columns) for linear predictors ``eta``.

        Survival families only (:attr:`survival`).  ``cumhaz``: the cumulative baseline
        hazard at ``times`` for families with a baseline (:attr:`has_baseline`).
        """
        raise NotImplementedError(f"family {self.name!r} has no survival function")

    def median_survival(self, eta: np.ndarray, phi: Sequence[float]) -> np.ndarray | None:
        """Closed-form median survival time per group, or None (then found on a grid)."""
        return None

    def hazard_ratio(self, beta: np.ndarray, phi: Sequence[float]) -> np.ndarray:
        """Hazard ratio of a unit change of each coefficient ``beta`` (survival families)."""
        raise NotImplementedError(f"family {self.name!r} has no hazard ratios")

    def derived_params(self, phi: np.ndarray) -> np.ndarray:
        """Derived parameters (:attr:`derived_names`) from ``phi``.

        Parameters
        ----------
        phi : numpy.ndarray
            Shape ``(..., len(hyper_names))``: one or many draws.

        Returns
        -------
        numpy.ndarray
            Shape ``(..., len(derived_names))``.
        """
        phi = np.asarray(phi, dtype=float)
        return np.zeros(phi.shape[:-1] + (0,))

    def derived_jacobian(self, phi: np.ndarray) -> np.ndarray:
        """Jacobian of :meth:`derived_params` at one ``phi`` (for the delta method).

        Returns
        -------
        numpy.ndarray
            Shape ``(len(derived_names), len(hyper_names))``.
        """
        return np.zeros((len(self.derived_names), len(self.hyper_names)))

    def derived_interval(self, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, ...]:
        """Interval of each derived parameter from an interval of ``phi`` (monotone maps).

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            Lower and upper limits, one per derived parameter.
        """
        a, b = self.derived_params(lower), self.derived_params(upper)
        return np.minimum(a, b), np.maximum(a, b)

    def bml_residual_variance(self, bound: BoundFamily, phi: Sequence[float]) -> float | None:
        """The residual variance under bml's variance-decomposition convention.

        Defaults to the latent-scale :meth:`BoundFamily.residual_variance`.
        """
        return bound.residual_variance(phi)

    def options(self) -> dict[str, object]:
        """The options that configure this family (``repr``, equality, checkpoints)."""
        return self._options()

    @abstractmethod
    def bind(
        self, outcome: Mapping[str, np.ndarray], labels: Mapping[str, str] | None = None
    ) -> BoundFamily:
        """Validate the outcome arrays and return a :class:`BoundFamily`.

        Parameters
        ----------
        outcome : mapping of str to array_like
            The arrays named in :attr:`outcome_keys`, all of the same length.
        labels : mapping of str to str, optional
            User-facing column names for the keys, used in error messages (e.g.
            ``{"time": "dur_wkb", "event": "event_wkb"}``).

        Returns
        -------
        BoundFamily

        Raises
        ------
        MMDataError
            When a column is missing, has missing values or values outside its support.
        """

    def _options(self) -> dict[str, object]:
        return {}

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self._options().items())
        return f"{type(self).__name__}({opts})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._options() == other.options()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(self._options().items())))
