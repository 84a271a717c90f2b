"""Hyperparameters ψ: names, priors, and the unconstrained parametrisation.

Weight parameters, random-effect SDs, family parameters (Gaussian ``sigma``, Weibull
``shape``) and the coefficients with a non-normal prior are the low-dimensional part of the
model that is optimised (Laplace) or sampled (emcee).  Each free one is mapped to the real
line by its prior's support: identity for real, log for positive, scaled logit for a bounded
interval.  Parameters whose prior is
:class:`~mmreg.priors.Fixed` are held at their value.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit

from mmreg.inference.latent import Hyper
from mmreg.priors import Fixed, Prior

__all__ = ["HyperSpace"]


class HyperSpace:
    """Map between an unconstrained vector ``u`` and natural-scale hyperparameters.

    Parameters
    ----------
    weight_names : list of tuple of str
        Weight-parameter names per mm block (``("mm1.w.b0", "mm1.w.b1")``).
    sd_names : tuple of str
        Random-effect SD names, in latent order.
    phi_names : tuple of str
        Family parameters (``("sigma",)``, ``("shape",)`` or ``()``).
    priors : dict
        Prior (or :class:`~mmreg.priors.Fixed`) for every name.
    cor_names : tuple of str, optional
        Correlations of ``re(1 + x, cor = TRUE)`` pairs (``("cor.hm1.majority",)``); they
        sit between the SDs and the family parameters.
    coef_names : tuple of str, optional
        Coefficients with a non-normal prior, sampled (or optimised) with the
        hyperparameters; they come last in ``names`` and are reported as coefficients, not
        as hyperparameters (:attr:`n_listed`).
    """

    def __init__(
        self,
        weight_names,
        sd_names,
        phi_names,
        priors: dict[str, Prior],
        cor_names=(),
        coef_names=(),
    ):
        self.block_names = [tuple(b) for b in weight_names]
        self.names = (
            tuple(n for b in self.block_names for n in b)
            + tuple(sd_names)
            + tuple(cor_names)
            + tuple(phi_names)
            + tuple(coef_names)
        )
        self.n_sd = len(sd_names)
        self.n_cor = len(cor_names)
        n_w = sum(len(b) for b in self.block_names)
        n_phi = n_w + self.n_sd + self.n_cor + len(phi_names)
        #: positions of the weight parameters, the SDs, the correlations, the family
        #: parameters ``phi`` and the sampled coefficients in ``names`` (the layout of the
        #: hyperparameter vector)
        self.weight_slice = slice(0, n_w)
        self.sd_slice = slice(n_w, n_w + self.n_sd)
        self.cor_slice = slice(self.sd_slice.stop, self.sd_slice.stop + self.n_cor)
        self.phi_slice = slice(self.cor_slice.stop, n_phi)
        self.coef_slice = slice(n_phi, len(self.names))
        self.priors = {n: priors[n] for n in self.names}
        self.fixed = {n: p.value for n, p in self.priors.items() if isinstance(p, Fixed)}
        self.free = tuple(n for n in self.names if n not in self.fixed)
        #: position in ``names`` of each free coordinate
        self.free_index = np.array([self.names.index(n) for n in self.free], dtype=int)
        lo, hi = [], []
        for n in self.free:
            a, b = self.priors[n].bounds()
            lo.append(a)
            hi.append(b)
        self.lower, self.upper = np.array(lo, float), np.array(hi, float)
        #: transform of each free coordinate: 0 identity (real), 1 log above a lower bound,
        #: 2 scaled logit (bounded), 3 log below an upper bound
        self.transform = np.where(
            np.isfinite(self.lower) & np.isfinite(self.upper),
            2,
            np.where(np.isfinite(self.lower), 1, np.where(np.isfinite(self.upper), 3, 0)),
        )
        base = np.zeros(len(self.names))
        for n, v in self.fixed.items():
            base[self.names.index(n)] = v
        self._base = base
        #: natural scale of each free coordinate (set from the data by
        #: :func:`mmreg.inference.laplace.data_scales`; 1 = the defaults' O(1) units)
        self.scale = np.ones(len(self.free))
        #: starting values of particular unbounded parameters (default 0), e.g. the ``kappa``
        #: of fn("smax", kappa = est()) where 0 is singular
        self.starts: dict[str, float] = {}

    @property
    def n_listed(self) -> int:
        """Number of leading ``names`` reported as hyperparameters (all but the sampled
        coefficients, which results list among the coefficients)."""
        return self.coef_slice.start

    @property
    def n_coef(self) -> int:
        """Number of coefficients sampled with the hyperparameters."""
        return self.coef_slice.stop - self.coef_slice.start

    def kind_of(self, k: int) -> str:
        """``"weight"``, ``"sd"``, ``"cor"``, ``"phi"`` or ``"coef"``: the group of
        ``names[k]``."""
        for kind, sl in (
            ("weight", self.weight_slice),
            ("sd", self.sd_slice),
            ("cor", self.cor_slice),
            ("phi", self.phi_slice),
        ):
            if sl.start <= k < sl.stop:
                return kind
        return "coef"

    @property
    def edge_mask(self) -> np.ndarray:
        """Per free coordinate, whether u → −∞ is a bound of its prior: u is the log of the
        distance to a lower (SDs, ``shape``) or upper bound (the edge component of the
        sampler's proposal, :mod:`mmreg.inference.edges`)."""
        return np.isin(self.transform, (1, 3))

    @property
    def n_weights(self) -> int:
        """Number of weight parameters (they come first in ``names``)."""
        return self.weight_slice.stop

    @property
    def dim(self) -> int:
        """Number of free (sampled/optimised) hyperparameters."""
        return len(self.free)

    #: search limits on the unconstrained scale, relative to a coordinate's natural scale:
    #: ±30 scales for real parameters, log(scale) + [−15, 8] for log-transformed ones
    #: (e^-15 of the data's scale is zero for every purpose, e^8 of it is huge)
    BOX_REAL, BOX_LOG = 30.0, (-15.0, 8.0)

    def search_box(self) -> tuple[np.ndarray, np.ndarray]:
        """Limits of the optimiser's search on the unconstrained scale, centred on
        :attr:`scale`.

        Returns
        -------
        (ndarray, ndarray)
            Lower and upper limits per free coordinate.  A log-transformed coordinate
            (kinds 1 and 3) gets ``log(scale) + [-15, 8]``; a real one ``±30 scale``; a
            logit-transformed one (bounded prior) ``[-15, 8]``, its lower end extended to
            ``log(scale) - 15`` for a scale below 1.
        """
        k = self.transform
        s = np.where(np.isfinite(self.scale) & (self.scale > 0), self.scale, 1.0)
        log_s = np.log(s)
        lo = np.where(k == 0, -self.BOX_REAL * s, self.BOX_LOG[0] + log_s)
        hi = np.where(k == 0, self.BOX_REAL * s, self.BOX_LOG[1] + log_s)
        b = k == 2
        if b.any():
            lo[b] = np.minimum(self.BOX_LOG[0], log_s[b] + self.BOX_LOG[0])
            hi[b] = self.BOX_LOG[1]
            # a coefficient with a bounded prior may have its mode on either bound: reach
            # both to within e^-15 of the interval
            coef = b & (self.free_index >= self.n_listed)
            hi[coef] = -self.BOX_LOG[0]
        cor = self.is_cor(self.free_index)
        if cor.any():  # u = 2 atanh(rho): symmetric, |rho| up to 1 - 6e-7
            lo[cor], hi[cor] = self.BOX_LOG[0], -self.BOX_LOG[0]
        return lo, hi

    def is_cor(self, k) -> np.ndarray:
        """Whether positions ``k`` of :attr:`names` are correlations."""
        k = np.asarray(k)
        return (k >= self.cor_slice.start) & (k < self.cor_slice.stop)

    def at_prior_bound(self, u: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> list[str]:
        """Sampled coefficients whose value ``u`` sits on an end of the search box that is a
        bound of their prior (a posterior mode on the boundary of the support)."""
        tol = 1e-3
        on = (self.transform == 2) & ((u <= lo + tol) | (u >= hi - tol))
        on &= self.free_index >= self.n_listed
        return [self.free[j] for j in np.flatnonzero(on)]

    def _by_transform(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Positions of the coordinates with transforms 1, 2, 3 and of 1 or 3 (computed once:
        the sampler transforms every evaluated point)."""
        cached = self.__dict__.get("_transform_index")
        if cached is None:
            k = self.transform
            cached = tuple(np.flatnonzero(m) for m in (k == 1, k == 2, k == 3, (k == 1) | (k == 3)))
            self.__dict__["_transform_index"] = cached
        return cached

    def natural_free(self, u: np.ndarray) -> np.ndarray:
        """Natural-scale values of the free hyperparameters (of every row of a
        ``(..., dim)`` array)."""
        u = np.asarray(u, float)
        lo, hi = self.lower, self.upper
        i1, b, i3, _ = self._by_transform()
        x = u.copy()
        with np.errstate(over="ignore"):
            x[..., i1] = lo[i1] + np.exp(u[..., i1])
            x[..., b] = lo[b] + (hi[b] - lo[b]) * expit(u[..., b])
            x[..., i3] = hi[i3] - np.exp(u[..., i3])
        return x

    def unconstrain(self, x_free: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`natural_free`."""
        x = np.asarray(x_free, float)
        k, lo, hi = self.transform, self.lower, self.upper
        u = x.copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            u[k == 1] = np.log(x[k == 1] - lo[k == 1])
            b = k == 2
            u[b] = logit((x[b] - lo[b]) / (hi[b] - lo[b]))
            u[k == 3] = np.log(hi[k == 3] - x[k == 3])
        return u

    def log_jacobian(self, u: np.ndarray) -> float:
        """log |d natural / d u| (for sampling on the unconstrained scale)."""
        u = np.asarray(u, float)
        lo, hi = self.lower, self.upper
        _, b, _, i13 = self._by_transform()
        out = float(np.sum(u[i13]))
        if len(b):
            # log(hi - lo) + log s + log(1 - s), s = expit(u), computed stably
            ub = u[b]
            out += float(np.sum(np.log(hi[b] - lo[b]) - np.logaddexp(0, ub) - np.logaddexp(0, -ub)))
        return out

    def dnatural(self, u: np.ndarray) -> np.ndarray:
        """Elementwise derivative d natural / d u (for the delta method)."""
        u = np.asarray(u, float)
        k, lo, hi = self.transform, self.lower, self.upper
        d = np.ones_like(u)
        d[k == 1] = np.exp(u[k == 1])
        b = k == 2
        s = expit(u[b])
        d[b] = (hi[b] - lo[b]) * s * (1 - s)
        d[k == 3] = -np.exp(u[k == 3])
        return d

    def natural_all(self, u: np.ndarray, natural: np.ndarray | None = None) -> np.ndarray:
        """Natural values of every hyperparameter (fixed ones included), in ``names`` order
        (``natural``: the :meth:`natural_free` values of ``u``, when already computed); of
        every row of a ``(..., dim)`` array."""
        u = np.asarray(u, float)
        x = np.broadcast_to(self._base, (*u.shape[:-1], len(self._base))).copy()
        x[..., self.free_index] = self.natural_free(u) if natural is None else natural
        return x

    def hyper(self, u: np.ndarray, natural: np.ndarray | None = None) -> Hyper:
        """The :class:`~mmreg.inference.latent.Hyper` for ``u`` (``natural`` as in
        :meth:`natural_all`)."""
        return self.unpack(self.natural_all(u, natural))

    def unpack(self, x: np.ndarray) -> Hyper:
        """Split natural values of every hyperparameter (``names`` order) into a
        :class:`~mmreg.inference.latent.Hyper`."""
        x = np.asarray(x, float)
        theta, i = [], 0
        for b in self.block_names:
            theta.append(x[i : i + len(b)])
            i += len(b)
        sd = x[self.sd_slice]
        phi = tuple(float(v) for v in x[self.phi_slice])
        return Hyper(
            theta=tuple(theta), sd=sd, phi=phi, cor=x[self.cor_slice], coef=x[self.coef_slice]
        )

    def log_prior(
        self, u: np.ndarray, *, jacobian: bool, natural: np.ndarray | None = None
    ) -> float:
        """Log prior density of the free hyperparameters (natural scale, + log-Jacobian);
        ``natural``: the :meth:`natural_free` values of ``u``, when already computed."""
        x = self.natural_free(u) if natural is None else natural
        lp = 0.0
        with np.errstate(all="ignore"):
            for n, v in zip(self.free, x, strict=True):
                lp += self.priors[n].logpdf_float(v)
        if jacobian:
            lp += self.log_jacobian(u)
        return lp
