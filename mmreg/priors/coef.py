"""How each coefficient's prior enters the model: integrated, fixed or sampled.

A coefficient with a :class:`~mmreg.priors.Normal` prior is part of the latent Gaussian
vector and integrated out with the random effects; one with a :class:`~mmreg.priors.Fixed`
prior is held at its value; any other prior (Student-t, Cauchy, uniform, ...) makes it a
hyperparameter, sampled by MCMC and optimised by the Laplace route with the SDs and weight
parameters.  Fixed and sampled coefficients stay in the latent vector, held at their value
by a pinning prior (the latent model sets its precision from the data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mmreg.priors.distributions import Fixed, Normal, Prior

__all__ = ["CoefficientPriors", "split_coefficient_priors"]


@dataclass(frozen=True)
class CoefficientPriors:
    """The Gaussian prior of the coefficients in the latent vector and who is held.

    Attributes
    ----------
    mean, sd : ndarray
        Prior mean and SD per coefficient; a held coefficient gets a placeholder SD of 1e-9
        (tightened from the data later) and, if sampled, a mean that follows ψ.
    fixed, sampled : list of str
        Coefficients fixed by their prior, and those sampled with the hyperparameters.
    """

    mean: np.ndarray
    sd: np.ndarray
    fixed: list[str]
    sampled: list[str]

    @property
    def held(self) -> list[str]:
        """Coefficients held at a value in the latent vector (fixed or sampled)."""
        return self.fixed + self.sampled


def split_coefficient_priors(
    names: Sequence[str], priors: Mapping[str, Prior], sample_all: bool = False
) -> CoefficientPriors:
    """Split the coefficients ``names`` by how their prior enters the model.

    ``sample_all=True`` samples every coefficient that is not fixed, Normal ones too (their
    prior unchanged): the MCMC route of a model with no free hyperparameter, where emcee
    would otherwise have nothing to sample (:meth:`mmreg.MMModel.fit`).

    Examples
    --------
    >>> from mmreg.priors import Fixed, Normal, StudentT
    >>> cp = split_coefficient_priors(
    ...     ["a", "b", "c"], {"a": Normal(1, 2), "b": Fixed(0.5), "c": StudentT(0, 2.5, 1)}
    ... )
    >>> cp.fixed, cp.sampled, cp.mean.tolist(), cp.sd.tolist()
    (['b'], ['c'], [1.0, 0.5, 0.0], [2.0, 1e-09, 1e-09])
    >>> split_coefficient_priors(["a", "b"], {"a": Normal(1, 2), "b": Fixed(0.5)}, True).sampled
    ['a']
    """
    ps = [priors[n] for n in names]
    fixed = [n for n, p in zip(names, ps, strict=True) if isinstance(p, Fixed)]
    sampled = [
        n
        for n, p in zip(names, ps, strict=True)
        if not (isinstance(p, Fixed) or (p.gaussian_latent and not sample_all))
    ]
    held = set(fixed + sampled)
    mean = np.array([p.value if isinstance(p, Fixed) else getattr(p, "mu", 0.0) for p in ps])
    mean = np.where([n in sampled for n in names], 0.0, mean) if len(names) else mean
    sd = np.array(
        [
            p.sd if isinstance(p, Normal) and n not in held else 1e-9
            for n, p in zip(names, ps, strict=True)
        ]
    )
    return CoefficientPriors(mean.astype(float), sd.astype(float), fixed, sampled)
