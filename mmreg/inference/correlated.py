"""Correlated random intercept and slope, ``re(1 + x, cor = TRUE)`` (the 2×2 case).

Per unit j the pair (a_j, b_j) of an intercept block and its slope block is N(0, Σ),
Σ = [[σa², ρσaσb], [ρσaσb, σb²]], so the prior precision of the two blocks is Σ⁻¹ ⊗ I_m:

    Q_aa = p_a I,  Q_bb = p_b I,  Q_ab = Q_ba = x I,
    p_a = 1 / (σa² c),  p_b = 1 / (σb² c),  x = −ρ / (σa σb c),  c = 1 − ρ²,

    log|Q_pair| = −m (2 log σa + 2 log σb + log c).

The latent model writes the prior precision of the random effects as a sum of fixed parts
with scalar *multipliers*, Q_r = Σ_b p_b K_b + Σ_c x_c X_c: ``K_b`` the unit-SD structure of
block b (identity or a random walk), ``X_c`` the symmetric cross identity pairing unit j of
pair c's intercept block with unit j of its slope block.  Independent blocks keep
p_b = 1/s_b² (bit for bit as without this module); a correlated pair changes the
multipliers of its two blocks and adds one cross part.  The multipliers and their exact
derivatives in (σa, σb, ρ) are all the rest of inference needs: Q r, the dense Q, the
values of the sparse pattern (:class:`~mmreg.inference.pattern.SparsePattern` takes the
cross parts), log|Q|, the explicit derivatives of log p(z | ψ) and tr(H⁻¹ ∂Q/∂ψ) for the
gradient (:mod:`mmreg.inference.directions`, :mod:`mmreg.inference.gradient`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["CorrelatedPairs"]


class CorrelatedPairs:
    """The ``cor = TRUE`` pairs of a latent model and their prior multipliers.

    Parameters
    ----------
    pairs : sequence of (int, int)
        Random-effect block positions (intercept, slope) of each pair.
    slices : list of slice
        Latent slice of every random-effect block.
    """

    def __init__(self, pairs: Sequence[tuple[int, int]], slices: Sequence[slice]):
        self.pairs = tuple((int(a), int(b)) for a, b in pairs)
        self.slices = tuple(slices)
        self.n_blocks = len(self.slices)
        for a, b in self.pairs:
            if (
                self.slices[a].stop - self.slices[a].start
                != self.slices[b].stop - self.slices[b].start
            ):
                raise ValueError("a correlated pair needs blocks of equal size")
        #: pair index and role (0 intercept, 1 slope) of every block in a pair
        self.role = {blk: (c, r) for c, p in enumerate(self.pairs) for r, blk in enumerate(p)}

    def __len__(self) -> int:
        return len(self.pairs)

    def __bool__(self) -> bool:
        return bool(self.pairs)

    @property
    def n_parts(self) -> int:
        """Number of prior parts: one per block plus one cross part per pair."""
        return self.n_blocks + len(self.pairs)

    def involves(self, block: int) -> bool:
        """Whether random-effect block ``block`` belongs to a correlated pair."""
        return block in self.role

    def cross_slices(self) -> list[tuple[slice, slice]]:
        """Latent slices (intercept, slope) of every pair."""
        return [(self.slices[a], self.slices[b]) for a, b in self.pairs]

    def sizes(self) -> np.ndarray:
        """Units per pair."""
        return np.array([self.slices[a].stop - self.slices[a].start for a, _ in self.pairs])

    # ------------------------------------------------------------------ multipliers
    def multipliers(self, sd: np.ndarray, cor: np.ndarray | None) -> np.ndarray:
        """Multiplier of every prior part: 1/s_b² per block, then the pairs' cross parts."""
        sd = np.asarray(sd, float)
        out = np.empty(self.n_parts)
        out[: self.n_blocks] = 1.0 / sd**2
        rho = self._rho(cor)
        for c, (a, b) in enumerate(self.pairs):
            sa, sb, r = sd[a], sd[b], rho[c]
            cc = 1.0 - r * r
            out[a] = 1.0 / (sa * sa * cc)
            out[b] = 1.0 / (sb * sb * cc)
            out[self.n_blocks + c] = -r / (sa * sb * cc)
        return out

    def dmultipliers(
        self, sd: np.ndarray, cor: np.ndarray | None, k_sd: int | None = None, k_cor=None
    ) -> np.ndarray:
        """Exact derivative of :meth:`multipliers` with respect to SD ``k_sd`` or to the
        correlation ``k_cor`` (one of them)."""
        sd = np.asarray(sd, float)
        rho = self._rho(cor)
        m = self.multipliers(sd, cor)
        out = np.zeros(self.n_parts)
        if k_sd is not None:
            if k_sd not in self.role:
                out[k_sd] = -2.0 / sd[k_sd] ** 3
                return out
            c, _ = self.role[k_sd]
            out[k_sd] = -2.0 * m[k_sd] / sd[k_sd]
            out[self.n_blocks + c] = -m[self.n_blocks + c] / sd[k_sd]
            return out
        assert k_cor is not None  # one of the two
        a, b = self.pairs[k_cor]
        r = rho[k_cor]
        cc = 1.0 - r * r
        out[a] = m[a] * 2.0 * r / cc
        out[b] = m[b] * 2.0 * r / cc
        out[self.n_blocks + k_cor] = -(1.0 + r * r) / (sd[a] * sd[b] * cc * cc)
        return out

    def _rho(self, cor) -> np.ndarray:
        rho = np.zeros(len(self.pairs)) if cor is None else np.asarray(cor, float)
        if rho.shape != (len(self.pairs),):
            raise ValueError(f"{len(self.pairs)} correlation(s) expected, got {rho.shape}")
        return rho

    # ------------------------------------------------------------------ log-determinant
    def logdet_correction(self, cor: np.ndarray | None) -> float:
        """log|Q| minus its value for independent blocks: −Σ_c m_c log(1 − ρ_c²)."""
        rho = self._rho(cor)
        return float(-np.sum(self.sizes() * np.log1p(-rho * rho)))

    def dlogdet(self, sd: np.ndarray, cor, k_sd: int | None = None, k_cor=None) -> float:
        """Exact derivative of log|Q_r| with respect to SD ``k_sd`` or correlation ``k_cor``
        (an SD's is −2 m / s with or without a pair)."""
        if k_sd is not None:
            sl = self.slices[k_sd]
            return -2.0 * (sl.stop - sl.start) / float(np.asarray(sd)[k_sd])
        assert k_cor is not None
        r = self._rho(cor)[k_cor]
        return float(2.0 * self.sizes()[k_cor] * r / (1.0 - r * r))

    # ------------------------------------------------------------------ products
    def apply_pairs(self, out: np.ndarray, r: np.ndarray, mult: np.ndarray) -> None:
        """Overwrite the pairs' rows of ``out = Q r`` (vector or dim × k) for multipliers
        ``mult`` (:meth:`multipliers`)."""
        for c, (a, b) in enumerate(self.pairs):
            sa, sb = self.slices[a], self.slices[b]
            x = mult[self.n_blocks + c]
            ra, rb = r[sa].copy(), r[sb].copy()
            out[sa] = mult[a] * ra + x * rb
            out[sb] = mult[b] * rb + x * ra

    def apply_parts(self, dmult: np.ndarray, r: np.ndarray, re_K: Sequence) -> np.ndarray:
        """Σ_parts dmult_p K_p r on the random effects (zero on the coefficients): the
        product of ∂Q/∂ψ with ``r`` for ``dmult`` from :meth:`dmultipliers`."""
        out = np.zeros_like(r, dtype=float)
        for blk, (sl, K) in enumerate(zip(self.slices, re_K, strict=True)):
            if dmult[blk] != 0.0:
                out[sl] = dmult[blk] * (r[sl] if K is None else K @ r[sl])
        for c, (a, b) in enumerate(self.pairs):
            x = dmult[self.n_blocks + c]
            if x != 0.0:
                out[self.slices[a]] += x * r[self.slices[b]]
                out[self.slices[b]] += x * r[self.slices[a]]
        return out

    def fill_dense(self, Q: np.ndarray, mult: np.ndarray) -> None:
        """Overwrite the pairs' blocks of the dense prior precision ``Q``."""
        for c, (a, b) in enumerate(self.pairs):
            ia = np.arange(self.slices[a].start, self.slices[a].stop)
            ib = np.arange(self.slices[b].start, self.slices[b].stop)
            Q[ia, ia] = mult[a]
            Q[ib, ib] = mult[b]
            Q[ia, ib] = Q[ib, ia] = mult[self.n_blocks + c]

    # ------------------------------------------------------------------ traces
    def involved_blocks(self, k_sd: int | None = None, k_cor=None) -> list[int]:
        """Random-effect blocks whose prior moves with SD ``k_sd`` or correlation ``k_cor``."""
        if k_cor is not None:
            return list(self.pairs[k_cor])
        assert k_sd is not None
        if k_sd in self.role:
            return list(self.pairs[self.role[k_sd][0]])
        return [k_sd]

    def trace(self, Hinv_block, dmult: np.ndarray, blocks: list[int], re_K: Sequence) -> float:
        """tr(H⁻¹ ∂Q/∂ψ) from the block of H⁻¹ over ``blocks`` (``Hinv_block(idx)`` =
        (H⁻¹)[idx, idx]), for ``dmult`` from :meth:`dmultipliers`."""
        idx = np.concatenate([np.arange(self.slices[k].start, self.slices[k].stop) for k in blocks])
        Hinv = Hinv_block(idx)
        pos, at = {}, 0
        for k in blocks:
            n = self.slices[k].stop - self.slices[k].start
            pos[k] = slice(at, at + n)
            at += n
        tr = 0.0
        for k in blocks:
            if dmult[k] != 0.0:
                sub = Hinv[pos[k], pos[k]]
                K = re_K[k]
                tr += dmult[k] * (
                    float(np.trace(sub)) if K is None else float(np.sum(K.toarray() * sub))
                )
        for c, (a, b) in enumerate(self.pairs):
            x = dmult[self.n_blocks + c]
            if x != 0.0 and a in pos and b in pos:
                tr += 2.0 * x * float(np.trace(Hinv[pos[a], pos[b]]))
        return tr
