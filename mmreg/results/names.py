"""Parameter names as users write them: mmreg's names, bml's names and bml name prefixes.

One resolver, :func:`resolve_names`, is used wherever a parameter is named (``mcmc_diag``,
``plot_posterior``/``monetPlot``, ``plot_trace``, ``t_test``, ``tidy``/``conf_int``
look-ups through :meth:`MMResults.resolve_names`), so bml's ``b[2]``, ``sigma.mm.1``,
``b.w.1[2]`` and bml's ``mcmcDiag(parameters = "b")`` prefixes work everywhere.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from mmreg.errors import MMSpecError

__all__ = ["resolve_names"]


def _prefix_match(bml: str, prefix: str) -> bool:
    """bml's ``parameters`` prefixes: ``"b"`` matches ``b[1]`` and ``b.mm.1``, not ``beta``."""
    if not bml.startswith(prefix):
        return False
    rest = bml[len(prefix) :]
    return rest == "" or rest[0] in ".[" or prefix.endswith((".", "["))


def resolve_names(
    res, names: str | Iterable[str] | None, available: Iterable[str] | None = None
) -> list[str]:
    """mmreg's parameter names for names written in mmreg's or bml's spelling.

    Parameters
    ----------
    res : MMResults
        A fit (its ``bml_names`` give the translation).
    names : str, list of str or None
        Each entry is, in this order of precedence: an mmreg name (``"majority"``,
        ``"mm1.w.b1"``), a bml name (``"b[2]"``, ``"sigma.mm.1"``, ``"b.w.1[2]"``) or a
        bml name prefix as bml's ``mcmcDiag(parameters = "b")`` takes it (a prefix
        matches up to a ``.`` or ``[``: ``"b"`` gives every ``b[k]``, ``b.mm.k`` and the
        weight parameters ``b.w.k[j]``, ``"b.mm"`` the member covariates, ``"b.w"`` every
        weight parameter, ``"sigma.mm"`` the SDs of the mm() blocks).  ``None`` returns
        every available name.
    available : iterable of str, optional
        The names that may be returned (default ``res.params.index``).

    Returns
    -------
    list of str
        mmreg names, in the order given (a prefix expands in table order), without repeats.

    Raises
    ------
    MMSpecError
        For a name that matches nothing, with the closest names.

    Examples
    --------
    >>> import mmreg
    >>> from mmreg.results.names import resolve_names
    >>> df = mmreg.datasets.simulate_coalitions(n_groups=150, n_members=60, n_countries=10,
    ...                                         seed=2)
    >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
    >>> resolve_names(res, ["b[2]", "sigma.mm.1", "sigma"])
    ['majority', 'sigma.mm1', 'sigma']
    >>> resolve_names(res, "b")
    ['Intercept', 'majority', 'mm1.finance']
    """
    avail = list(res.params.index if available is None else available)
    if names is None:
        return avail
    names = [names] if isinstance(names, str) else list(names)
    bml = res.bml_names
    to_mm: dict[str, str] = {}
    for mm_name in avail:
        b = bml.get(mm_name, mm_name) if mm_name in bml.index else mm_name
        to_mm.setdefault(b, mm_name)
    out: list[str] = []
    for n in names:
        if not isinstance(n, str):
            raise MMSpecError(f"parameter names must be strings, got {n!r}")
        if n in avail:
            found = [n]
        elif n in to_mm:
            found = [to_mm[n]]
        else:
            found = [m for b, m in to_mm.items() if _prefix_match(b, n)]
        if not found:
            close = difflib.get_close_matches(n, avail + list(to_mm), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise MMSpecError(
                f"unknown parameter {n!r}{hint} Parameters: {avail} (bml names: "
                f"{[b for b in to_mm if b not in avail]}; a bml prefix such as 'b' or "
                "'sigma' selects a group)"
            )
        out += [f for f in found if f not in out]
    return out
