"""Save fitted results to a file and load them back (``res.save(path)``, ``mmreg.load(path)``).

A result file is a one-line text header followed by a pickle of the result::

    MMREG-RESULTS {"format": 1, "mmreg": "0.1.0.dev0", "class": "LaplaceResults"}\\n
    <pickle of the results object>

The header lets :func:`load` refuse anything that is not an mmreg result (a CSV, another
pickle, a truncated file) with a clear :class:`~mmreg.MMDataError` before unpickling.  A
result pickles to arrays only: the model is stored as its design (arrays and the design
spec learned from the data, not the DataFrame), family and priors, its latent model is
rebuilt when loaded, and factorisations of the Laplace fit are dropped (what they are
used for is computed before saving), so a loaded result gives the same ``params``,
``bse``, ``conf_int()``, ``summary()``, ``predict()`` and ``var_decomp()`` as the original,
bit for bit.

.. warning:: Like every pickle, a result file can run code when loaded: load only files you
   (or someone you trust) saved.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile

from mmreg.errors import MMDataError

__all__ = ["save", "load", "FORMAT"]

#: version of the file layout; :func:`load` refuses files of a newer format
FORMAT = 1
_MAGIC = b"MMREG-RESULTS "


def save(res, path: str | os.PathLike) -> None:
    """Write a fitted result to ``path`` (see the module docstring for the layout).

    Parameters
    ----------
    res : MMResults
        A :class:`~mmreg.LaplaceResults` or :class:`~mmreg.MCMCResults`.
    path : str or os.PathLike
        File to write; an existing file is replaced atomically.

    Examples
    --------
    >>> import os, tempfile
    >>> import mmreg
    >>> df = mmreg.datasets.simulate_coalitions(n_groups=60, n_members=30, n_countries=6,
    ...                                         seed=2)
    >>> res = mmreg.MMModel(df.attrs["formula"], df).fit()
    >>> path = os.path.join(tempfile.mkdtemp(), "fit.mmreg")
    >>> res.save(path)
    >>> back = mmreg.load(path)
    >>> bool((back.params == res.params).all()), back.summary().as_text() == res.summary().as_text()
    (True, True)
    """
    from mmreg import __version__
    from mmreg.results.results import MMResults

    if not isinstance(res, MMResults):
        raise MMDataError(f"save() writes mmreg results, got {type(res).__name__}")
    header = json.dumps({"format": FORMAT, "mmreg": __version__, "class": type(res).__name__})
    body = pickle.dumps(res, protocol=pickle.HIGHEST_PROTOCOL)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".mmreg-save-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(_MAGIC + header.encode() + b"\n")
            fh.write(body)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path: str | os.PathLike):
    """Read a result written by :meth:`MMResults.save <mmreg.MMResults.save>`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    MMResults
        The saved :class:`~mmreg.LaplaceResults` or :class:`~mmreg.MCMCResults`; its model
        is rebuilt from the saved formula, data, family and priors.

    Raises
    ------
    MMDataError
        The file is not an mmreg result file, was written by a newer mmreg (file format),
        or is damaged (truncated).
    """
    path = os.fspath(path)
    with open(path, "rb") as fh:
        head = fh.readline(4096)
        if not head.startswith(_MAGIC):
            raise MMDataError(
                f"{path!r} is not an mmreg result file (it does not start with "
                f"{_MAGIC.decode().strip()!r}); load only files written by res.save(path)"
            )
        try:
            meta = json.loads(head[len(_MAGIC) :].decode())
            fmt = int(meta["format"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise MMDataError(f"{path!r}: the header of the mmreg result file is damaged") from None
        if fmt > FORMAT:
            raise MMDataError(
                f"{path!r} was written by mmreg {meta.get('mmreg')} in file format {fmt}; this "
                f"mmreg reads format {FORMAT} and older: upgrade mmreg to load it"
            )
        try:
            res = pickle.load(fh)
        except Exception as exc:  # truncated or corrupted body
            raise MMDataError(
                f"{path!r}: the mmreg result file is damaged and cannot be read "
                f"({type(exc).__name__}: {exc}); save the result again"
            ) from None
    from mmreg.results.results import MMResults

    if not isinstance(res, MMResults):
        raise MMDataError(f"{path!r} does not hold mmreg results (got {type(res).__name__})")
    return res
