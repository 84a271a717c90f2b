"""Conditional logit over choice sets (``strata``): new in mmreg, promised by rmm.

For choice set ``s`` with alternatives ``i`` and ``m_s = sum_{i in s} y_i`` chosen:

* ``ties="exact"`` (default, as statsmodels ``ConditionalLogit``): the exact conditional
  likelihood ``P(chosen subset | m_s chosen) = exp(sum_{chosen} eta) / e_{m_s}(exp(eta_s))``,
  ``e_m`` the elementary symmetric polynomial (sum over all subsets of size ``m``).
* ``ties="breslow"``: ``sum_{i in s} y_i eta_i - m_s log sum_{i in s} exp(eta_i)`` (the
  chosen alternatives treated as ``m_s`` independent single choices).

Both agree when exactly one alternative is chosen per set, the usual case, which is fully
vectorised; sets with several chosen (exact ties) are handled in batches of equal size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from mmreg.errors import MMDataError, MMSpecError
from mmreg.families._esp import (
    inclusion,
    log_esp,
    pair_inclusion,
    sample_conditional_bernoulli,
)
from mmreg.families.base import (
    BoundFamily,
    Curvature,
    Family,
    check_binary,
    column_label,
    outcome_array,
)

__all__ = ["ConditionalLogitFamily", "BoundConditionalLogit"]


class ConditionalLogitFamily(Family):
    """Conditional logit: ``P(i chosen | set s) = exp(eta_i) / sum_{i' in s} exp(eta_i')``.

    Parameters
    ----------
    ties : {"exact", "breslow"}
        Likelihood for sets with several chosen alternatives (see the module docstring).
    """

    name = "clogit"
    bml_name = "clogit"
    hyper_names = ()
    has_intercept = False
    needs_choice_sets = True
    summary_notes = ("No intercept: it is absorbed by the baseline hazard / choice sets.",)
    outcome_kind = "plain"
    outcome_keys = ("y", "strata")

    def __init__(self, ties: str = "exact") -> None:
        if ties not in ("exact", "breslow"):
            raise MMSpecError(f"clogit ties must be 'exact' or 'breslow', got {ties!r}.")
        self.ties = ties

    def _options(self) -> dict[str, object]:
        return {"ties": self.ties}

    def bind(
        self, outcome: Mapping[str, np.ndarray], labels: Mapping[str, str] | None = None
    ) -> BoundConditionalLogit:
        """Validate ``y`` (0/1) and ``strata`` (any codes; each set needs a chosen row).

        Parameters
        ----------
        outcome : mapping
            ``{"y": array, "strata": array}``.
        labels : mapping, optional
            User-facing column names for error messages.

        Returns
        -------
        BoundConditionalLogit
        """
        y = outcome_array(outcome, "y", self.name, labels)
        check_binary(y, "y", self.name, labels)
        scol = column_label("strata", labels)
        if "strata" not in outcome:
            raise MMDataError(
                f"family 'clogit' needs the {scol} column: add a strata(id) term naming the "
                "choice set of each row."
            )
        raw = np.asarray(outcome["strata"])
        if raw.ndim != 1 or raw.shape[0] != y.shape[0]:
            raise MMDataError(f"{scol} must be one column with {y.shape[0]} rows.")
        codes, uniques = pd.factorize(raw, sort=True)
        if (codes < 0).any():
            raise MMDataError(f"{scol} has missing values; every row needs a choice set id.")
        m_s = np.bincount(codes, weights=y)
        if (m_s == 0).any():
            bad = ", ".join(
                repr(u.item() if isinstance(u, np.generic) else u) for u in uniques[m_s == 0][:5]
            )
            raise MMDataError(
                f"choice set(s) {bad} of {scol} have no chosen alternative "
                f"({column_label('y', labels)} is 0 on every row); drop those sets: they "
                "carry no information in a conditional logit."
            )
        n_s = np.bincount(codes)
        if (m_s == n_s).all():
            raise MMDataError(
                f"every alternative of every choice set of {scol} is chosen "
                f"({column_label('y', labels)} is 1 on every row): the conditional "
                "likelihood is 1 whatever the coefficients, so nothing can be estimated. "
                "Each choice set needs at least one alternative that was not chosen."
            )
        return BoundConditionalLogit(self, y, codes, np.asarray(uniques))


class BoundConditionalLogit(BoundFamily):
    """Conditional logit bound to ``y`` and integer set codes.

    Attributes
    ----------
    codes : numpy.ndarray
        Set index of each row (``0..S-1``).
    strata : numpy.ndarray
        The original set id of each code.
    m_s, n_s : numpy.ndarray
        Chosen count and size of each set.
    """

    def __init__(
        self, family: ConditionalLogitFamily, y: np.ndarray, codes: np.ndarray, uniq: np.ndarray
    ) -> None:
        self.family = family
        self.y = y
        self.n = int(y.shape[0])
        self.codes = codes
        self.strata = uniq
        self.S = int(uniq.shape[0])
        self.n_s = np.bincount(codes, minlength=self.S)
        self.m_s = np.bincount(codes, weights=y, minlength=self.S).round().astype(np.int64)
        self._order = np.argsort(codes, kind="stable")
        self._starts = np.concatenate([[0], np.cumsum(self.n_s)[:-1]])
        self._indptr = np.concatenate([[0], np.cumsum(self.n_s)])
        self._exact = family.ties == "exact"
        # sets with several chosen, batched by size: (set ids, rows (G, L), m (G,))
        self._groups = []
        multi = np.flatnonzero(self.m_s >= 2)
        for L in np.unique(self.n_s[multi]):
            ids = multi[self.n_s[multi] == L]
            rows = self._order[self._starts[ids][:, None] + np.arange(L)]
            self._groups.append((ids, rows, self.m_s[ids]))
        self._single_row = (self.m_s == 1)[codes]

    # -- pieces --------------------------------------------------------------------------------
    def _softmax(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mx = np.maximum.reduceat(eta[self._order], self._starts)
        ex = np.exp(eta - mx[self.codes])
        Z = np.bincount(self.codes, weights=ex, minlength=self.S)
        return ex / Z[self.codes], mx + np.log(Z)

    def _set_norm(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(softmax p, per-set log normaliser: m_s lse_s or log e_{m_s})."""
        p, lse = self._softmax(eta)
        norm = self.m_s * lse
        if self._exact:
            for ids, rows, m in self._groups:
                le = log_esp(eta[rows], int(m.max()))
                norm[ids] = np.take_along_axis(le, m[:, None], axis=1)[:, 0]
        return p, norm

    def loglik(self, eta: np.ndarray, phi: Sequence[float] = ()) -> float:
        """Conditional log-likelihood summed over choice sets."""
        self._phi(phi)
        eta = self._eta(eta)
        _, norm = self._set_norm(eta)
        return float(self.y @ eta - norm.sum())

    def loglik_terms(self, eta: np.ndarray, phi: Sequence[float] = ()) -> np.ndarray:
        """Per-row pieces: ``y_i (eta_i - norm_s / m_s)``.

        A chosen row carries its ``eta`` minus an equal share of its set's log normaliser;
        unchosen rows carry 0.  Summed within a set this is the set's conditional
        log-likelihood (the natural unit for WAIC/LOO); with one chosen per set the chosen
        row's term is its log choice probability.
        """
        self._phi(phi)
        eta = self._eta(eta)
        _, norm = self._set_norm(eta)
        return self.y * (eta - (norm / self.m_s)[self.codes])

    def _probs(self, eta: np.ndarray, with_pairs: bool = False):
        p, _ = self._softmax(eta)
        if not self._exact:
            return p, self.m_s[self.codes] * p, []
        pi = p.copy()
        pairs = []
        for _, rows, m in self._groups:
            e = eta[rows]
            log_z, pi_g = inclusion(e, m)
            pi[rows] = pi_g
            if with_pairs:
                pairs.append((rows, pair_inclusion(e, m, log_z)))
        return p, pi, pairs

    def derivs(self, eta: np.ndarray, phi: Sequence[float] = ()) -> tuple[np.ndarray, Curvature]:
        """Gradient ``y - E[y]`` and the negative Hessian (block-diagonal over sets).

        ``U`` is sparse CSC.  Its first ``S`` columns are one per set: column ``s`` holds the
        choice probabilities ``p_i`` (``i`` in ``s``) with ``c_s = 1`` and ``d_i = p_i``
        (breslow: ``c_s = m_s``, ``d_i = m_s p_i``).  With ``ties="exact"`` each set with
        ``m_s >= 2`` adds ``n_s`` columns: the eigenvectors of its matrix of joint inclusion
        probabilities ``P(i, j chosen)`` (zero diagonal), with ``c`` = minus the eigenvalues,
        so the block is ``diag(pi) - pi pi' + P2``, the covariance of the chosen indicators.
        """
        self._phi(phi)
        eta = self._eta(eta)
        p, pi, pairs = self._probs(eta, with_pairs=True)
        order = self._order
        if self._exact:
            data, c, d = [pi[order]], [np.ones(self.S)], pi
        else:
            data, c, d = [p[order]], [self.m_s.astype(float)], pi
        indices, indptr = [order], [self._indptr]
        offset = self._indptr[-1]
        for rows, P2 in pairs:
            G, L = rows.shape
            lam, Q = np.linalg.eigh(P2)
            data.append(Q.transpose(0, 2, 1).reshape(-1))
            indices.append(np.repeat(rows[:, None, :], L, axis=1).reshape(-1))
            indptr.append(offset + L * np.arange(1, G * L + 1))
            offset += G * L * L
            c.append(-lam.reshape(-1))
        cvec = np.concatenate(c)
        U = sp.csc_matrix(
            (np.concatenate(data), np.concatenate(indices), np.concatenate(indptr)),
            shape=(self.n, cvec.shape[0]),
        )
        return self.y - pi, Curvature(d=d, U=U, c=cvec)

    def dphi(self, eta: np.ndarray, phi: Sequence[float] = ()) -> None:
        """No hyperparameters: ``None``."""
        return None

    def mean(self, eta: np.ndarray, phi: Sequence[float] = ()) -> np.ndarray:
        """``E[y_i]`` given the set's chosen count: the choice probability within the set.

        With one chosen per set this is ``exp(eta_i) / sum_{i' in s} exp(eta_i')``; for sets
        with ``m_s >= 2`` it is the exact inclusion probability (breslow: ``m_s p_i``).
        """
        self._phi(phi)
        return self._probs(self._eta(eta))[1]

    def simulate(
        self, eta: np.ndarray, phi: Sequence[float], rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """New choices in the same sets, each set keeping its number chosen ``m_s``.

        One chosen: a categorical draw (Gumbel-max).  Several chosen: an exact draw from
        ``P(subset) ~ exp(sum eta)`` over subsets of size ``m_s`` (also for ``ties="breslow"``).
        """
        self._phi(phi)
        eta = self._eta(eta)
        g = eta + rng.gumbel(size=self.n)
        gmax = np.maximum.reduceat(g[self._order], self._starts)
        y = ((g == gmax[self.codes]) & self._single_row).astype(float)
        for _, rows, m in self._groups:
            y[rows] = sample_conditional_bernoulli(eta[rows], m, rng)
        return {"y": y, "strata": self.strata[self.codes]}

    def residual_variance(self, phi: Sequence[float] = ()) -> float:
        """``pi^2 / 3``: logistic latent scale (difference of two Gumbel utility errors)."""
        return float(np.pi**2 / 3.0)
