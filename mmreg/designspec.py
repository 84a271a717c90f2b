"""The design spec: everything a model design learned from its training data, frozen.

A :class:`DesignSpec` is made by :func:`mmreg.design.build_design` on the training data and
applied to any data, training or new, by :func:`mmreg.design.apply`.  It holds

* the parsed formula, the family name and whether the intercept is identified;
* what patsy learned for every set of terms (:class:`~mmreg.formula.terms.LearnedTerms`:
  stateful transforms such as ``center``/``standardize`` and categorical levels);
* the reference-coding choice of every ``vars()`` block (made once, on the training data);
* the id encoders: sorted group ids, member ids of every ``mm()`` block, unit ids of every
  ``hm()`` block (a code is a position in these arrays);
* the compiled weight function of every ``mm()`` block.

Everything in it pickles (patsy's ``DesignInfo`` is rebuilt from the learned terms when first
needed after unpickling), so a model pickles through its design spec and design instead of
a copy of the user's DataFrame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmreg.formula.spec import FormulaSpec
from mmreg.formula.terms import LearnedTerms
from mmreg.formula.weights import WeightFunction

__all__ = ["DesignSpec"]

_REFERENCE = "reference coding"


@dataclass(frozen=True, eq=False)
class DesignSpec:
    """What the design learned from the training data (frozen, picklable).

    Attributes
    ----------
    formula : FormulaSpec
        The parsed formula.
    family : str
        Family name the design was built for.
    has_intercept : bool
        False for families whose intercept is not identified (cox, clogit).
    terms : tuple of LearnedTerms
        patsy terms learned on the training data (main terms, ``vars()``, ``fix()``).
    reference_coding : tuple of (str, bool)
        For each covariate block, whether categoricals get reference (full-rank) coding.
    group_ids : numpy.ndarray
        Sorted unique group ids of the training data.
    member_ids : tuple of numpy.ndarray
        Sorted member ids of each ``mm()`` block.
    unit_ids : tuple of numpy.ndarray
        Sorted unit ids of each ``hm()`` block.
    weight_functions : tuple of WeightFunction
        The compiled weight function of each ``mm()`` block.
    """

    formula: FormulaSpec
    family: str
    has_intercept: bool
    terms: tuple[LearnedTerms, ...] = field(repr=False)
    reference_coding: tuple[tuple[str, bool], ...]
    group_ids: np.ndarray = field(repr=False)
    member_ids: tuple[np.ndarray, ...] = field(repr=False)
    unit_ids: tuple[np.ndarray, ...] = field(repr=False)
    weight_functions: tuple[WeightFunction, ...] = field(repr=False)

    @classmethod
    def from_memory(
        cls,
        memory: dict,
        *,
        formula: FormulaSpec,
        family: str,
        has_intercept: bool,
        group_ids: np.ndarray,
        member_ids: tuple[np.ndarray, ...],
        unit_ids: tuple[np.ndarray, ...],
        weight_functions: tuple[WeightFunction, ...],
    ) -> DesignSpec:
        """Freeze the build-time memory of :func:`~mmreg.formula.terms.design_matrix`.

        Parameters
        ----------
        memory : dict
            ``(where, formula) -> LearnedTerms`` and ``("reference coding", where) -> bool``
            entries filled while the training design was built.
        formula, family, has_intercept, group_ids, member_ids, unit_ids, weight_functions
            See the class attributes.

        Returns
        -------
        DesignSpec
        """
        terms = tuple(v for v in memory.values() if isinstance(v, LearnedTerms))
        ref = tuple((k[1], bool(v)) for k, v in memory.items() if k[0] == _REFERENCE)
        return cls(
            formula=formula,
            family=family,
            has_intercept=has_intercept,
            terms=terms,
            reference_coding=ref,
            group_ids=np.asarray(group_ids),
            member_ids=tuple(member_ids),
            unit_ids=tuple(unit_ids),
            weight_functions=tuple(weight_functions),
        )

    def memory(self) -> dict:
        """A fresh build-time memory holding what was learned (to build other data with).

        Returns
        -------
        dict
            Same layout as the one :meth:`from_memory` freezes.
        """
        out: dict = {(t.where, t.formula): t for t in self.terms}
        out.update({(_REFERENCE, where): ref for where, ref in self.reference_coding})
        return out

    @property
    def n_terms(self) -> int:
        """Number of learned sets of terms."""
        return len(self.terms)
