"""Resolve the user's ``priors=`` argument into one prior per model parameter."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase

from mmreg.errors import MMSpecError
from mmreg.priors.brms import PriorSpec
from mmreg.priors.classes import apply_prior_spec
from mmreg.priors.distributions import Prior
from mmreg.priors.jags import parse_jags_prior, split_bml_name, split_jags_lines
from mmreg.priors.kinds import check_prior_kind, default_prior

__all__ = ["resolve_priors"]

_FORMS = (
    "a dict {pattern: Prior} over mmreg parameter names (e.g. {'sigma.mm1': HalfNormal(1), "
    "'mm1.w.*': Normal(0, 1)}) or a list of bml/JAGS strings (e.g. ['b.w.1 ~ dnorm(0, 1)']) "
    "and/or mmreg.prior() objects (e.g. [mmreg.prior('normal(0, 1)', class_='w')])"
)


def resolve_priors(
    priors: None | Mapping[str, Prior] | Sequence[str | PriorSpec] | str | PriorSpec,
    names: Sequence[str],
    kinds: Mapping[str, str],
    bml_names: Mapping[str, str],
    defaults: Mapping[str, Prior] | None = None,
) -> dict[str, Prior]:
    """Give every parameter its prior: the user's where specified, bml's default otherwise.

    Parameters
    ----------
    priors : None, dict, list/tuple of str, or str
        - ``None``: bml's defaults (:func:`default_prior`).
        - ``{pattern: Prior}``: keys are mmreg parameter names or :mod:`fnmatch` glob
          patterns over them (``"mm1.w.*"``, ``"sigma.*"``).  A key equal to a parameter
          name is taken literally and wins over every pattern; among patterns the last
          matching one in dict order wins.  In patterns ``[`` opens a character class
          (``[[]`` is a literal ``[``).
        - list/tuple of bml/JAGS strings, or one string (statements may be separated by
          newlines or ``;``): see :func:`parse_jags_prior`.  A name with index
          (``b.w.1[2]``) sets one parameter, without index (``b.w.1``) its whole family;
          statements apply in order, so a later one overrides an earlier one (as in bml).
        - :func:`mmreg.prior` objects (brms style: class, coef, group), alone or in a list,
          mixed with JAGS strings if wished; list items apply in order.
    names : sequence of str
        The model's parameter names, in order.
    kinds : mapping
        Parameter name -> ``"coef"``, ``"weight"``, ``"sd"`` or ``"shape"``.
    bml_names : mapping
        Parameter name -> bml's internal name (``"b[2]"``, ``"b.w.1[1]"``, ``"sigma.mm.1"``,
        ...).  Parameters missing here cannot be addressed by JAGS strings.
    defaults : mapping, optional
        Default priors of particular parameters, instead of their kind's (e.g. the shapes
        of an aggregation, SPEC §8).

    Returns
    -------
    dict
        Parameter name -> :class:`Prior`, for every name, in the order of ``names``.

    Raises
    ------
    MMSpecError
        A pattern or bml name that matches no parameter (bml silently ignores these), a
        value that is not a :class:`Prior`, an unparsable JAGS string or unknown
        distribution, or a prior whose support does not
        fit the parameter (e.g. ``Normal`` on a standard deviation).  The message quotes the
        offending pattern or string.
    """
    names = list(names)
    missing = [n for n in names if n not in kinds]
    if missing:
        raise ValueError(f"internal error: no parameter kind given for {missing}.")
    defaults = defaults or {}
    out = {n: defaults.get(n) or default_prior(kinds[n]) for n in names}
    if priors is None:
        return out
    if isinstance(priors, Mapping):
        _apply_dict(priors, names, kinds, bml_names, out)
    elif isinstance(priors, (str, PriorSpec)):
        _apply_jags([priors], names, kinds, bml_names, out)
    elif isinstance(priors, (list, tuple)):
        _apply_jags(priors, names, kinds, bml_names, out)
    else:
        raise MMSpecError(f"priors must be None, {_FORMS}; got {type(priors).__name__} {priors!r}.")
    return out


def _apply_dict(priors, names, kinds, bml_names, out) -> None:
    exact: dict[str, tuple[str, Prior]] = {}
    by_pattern: dict[str, tuple[str, Prior]] = {}
    for key, prior in priors.items():
        if not isinstance(key, str):
            raise MMSpecError(
                f"prior key {key!r} is not a string; keys are parameter names or glob "
                "patterns such as 'sigma.*'."
            )
        if not isinstance(prior, Prior):
            hint = ""
            if isinstance(prior, str):
                hint = (
                    f"; JAGS strings go in a list instead, e.g. priors=['{key} ~ {prior}'] "
                    "with bml names"
                )
            raise MMSpecError(
                f"priors[{key!r}] = {prior!r} is not a prior; use a distribution from "
                f"mmreg.priors such as Normal(0, 1) or HalfNormal(1){hint}."
            )
        if key in out:
            exact[key] = (key, prior)
            continue
        matched = [n for n in names if fnmatchcase(n, key)]
        if not matched:
            raise MMSpecError(_no_match_dict(key, names, bml_names))
        for n in matched:
            by_pattern[n] = (key, prior)
    for n in names:
        choice = exact.get(n) or by_pattern.get(n)
        if choice is not None:
            key, prior = choice
            source = f"key {key!r}" if key == n else f"pattern {key!r}"
            check_prior_kind(prior, kinds[n], n, source)
            out[n] = prior


def _no_match_dict(key: str, names: list[str], bml_names: Mapping[str, str]) -> str:
    msg = f"prior pattern {key!r} matches no parameter; the parameters are: {', '.join(names)}"
    via_bml = _match_bml(key, names, bml_names)
    if via_bml:
        msg += (
            f". {key!r} looks like a bml name: use the mmreg name(s) {', '.join(via_bml)}, or "
            f"pass JAGS strings as a list, e.g. priors=['{key} ~ dnorm(0, 1)']"
        )
    if "[" in key:
        msg += ". In glob patterns '[' opens a character class; write '[[]' for a literal '['"
    return msg + "."


def _apply_jags(priors, names, kinds, bml_names, out) -> None:
    for item in priors:
        if isinstance(item, PriorSpec):
            apply_prior_spec(item, names, kinds, out)
            continue
        if not isinstance(item, str):
            raise MMSpecError(
                f"prior {item!r} in the list is not a string; a list of priors holds bml/JAGS "
                "strings such as 'b.w.1 ~ dnorm(0, 1)' or mmreg.prior() objects (use a dict "
                "{pattern: Prior} for mmreg.priors distributions)."
            )
        statements = split_jags_lines(item)
        if not statements:
            raise MMSpecError(f"prior {item!r} is empty; expected e.g. 'b.w.1 ~ dnorm(0, 1)'.")
        for stmt in statements:
            bname, prior = parse_jags_prior(stmt)
            matched = _match_bml(bname, names, bml_names)
            if not matched:
                raise MMSpecError(_no_match_jags(stmt, bname, names, bml_names))
            for n in matched:
                check_prior_kind(prior, kinds[n], n, repr(stmt))
                out[n] = prior


def _match_bml(bname: str, names: list[str], bml_names: Mapping[str, str]) -> list[str]:
    """mmreg names addressed by the bml name ``bname`` (family without index, else one)."""
    base, index = split_bml_name(bname)
    split = {n: split_bml_name(bml_names[n]) for n in names if n in bml_names}
    family_size = Counter(b for b, _ in split.values())
    matched = []
    for n, (b, i) in split.items():
        if b != base:
            continue
        if index is None or i == index or (i is None and index == 1 and family_size[b] == 1):
            matched.append(n)
    return matched


def _no_match_jags(stmt: str, bname: str, names: list[str], bml_names: Mapping) -> str:
    available = ", ".join(f"{bml_names[n]} ({n})" for n in names if n in bml_names)
    base, index = split_bml_name(bname)
    msg = f"prior {stmt!r} matches no parameter of this model"
    if index is not None and _match_bml(base, names, bml_names):
        size = len(_match_bml(base, names, bml_names))
        msg += f": {base} has {size} parameter(s), so index [{index}] does not exist"
    elif any(split_bml_name(b)[0].startswith(base + ".") for b in bml_names.values()):
        msg += f": {base!r} needs a block number, e.g. '{base}.1'"
    msg += f". bml names here (tau.* addresses the precision of sigma.*): {available}."
    return msg
