"""One BLAS thread during every public numerical call.

mmreg's linear algebra is many small dense and sparse factorisations; a multithreaded BLAS
only adds synchronisation to them, and on a busy machine it is dramatically slower
(``benchmarks/threads.py``: gaus_w on coalgov, fit + summary, default threads against
``OPENBLAS_NUM_THREADS=1``; the numbers are in ``benchmarks/README.md``). Every public
entry point that computes — ``MMModel.fit`` and the other model methods, every public
method and property of the results classes — therefore runs with the BLAS limited to one
thread, and the caller's setting is restored afterwards.

The mechanism is :func:`pin_public_methods` (a class decorator, also applied to every
subclass of :class:`~mmreg.results.results.MMResults` through ``__init_subclass__``), built
on :func:`single_blas_thread`. The limit is set through one cached threadpoolctl controller
(the one CHOLMOD uses, see :mod:`mmreg.inference.cholmod`, which still gives its own large
supernodal factorisations several threads inside this context) and only by the outermost
call: nested public calls cost a counter increment.

Set the environment variable ``MMREG_BLAS_THREADS=keep`` (before the call) to leave the
BLAS threads as they are, e.g. to measure the difference.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = ["single_blas_thread", "single_threaded_blas", "pin_public_methods", "enabled"]

F = TypeVar("F", bound=Callable)
T = TypeVar("T", bound=type)

_state = threading.local()


def enabled() -> bool:
    """Whether public calls pin BLAS to one thread (``MMREG_BLAS_THREADS`` is not ``keep``)."""
    return os.environ.get("MMREG_BLAS_THREADS", "").strip().lower() != "keep"


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Context in which BLAS uses one thread; cheap when already inside one.

    Yields
    ------
    None
    """
    depth = getattr(_state, "depth", 0)
    if depth or not enabled():
        _state.depth = depth + 1
        try:
            yield
        finally:
            _state.depth = depth
        return
    from mmreg.inference.cholmod import _controller

    _state.depth = 1
    try:
        with _controller().limit(limits=1, user_api="blas"):
            yield
    finally:
        _state.depth = 0


def single_threaded_blas(func: F) -> F:
    """Decorate ``func`` so that it runs inside :func:`single_blas_thread`.

    Parameters
    ----------
    func : callable
        The function to wrap.

    Returns
    -------
    callable
        The wrapper (``functools.wraps`` keeps the name and docstring).
    """
    if getattr(func, "__mmreg_pinned__", False):
        return func

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with single_blas_thread():
            return func(*args, **kwargs)

    wrapper.__mmreg_pinned__ = True  # type: ignore[attr-defined]  # a function attribute
    return wrapper  # type: ignore[return-value]


def pin_public_methods(cls: T) -> T:
    """Wrap every public method and property defined in ``cls`` with one BLAS thread.

    ``__init__`` and the functions, class/static methods, properties (getter) and
    ``functools.cached_property`` whose name does not start with ``_`` are wrapped in
    place; inherited members are wrapped where they are defined.

    Parameters
    ----------
    cls : type
        The class to modify.

    Returns
    -------
    type
        ``cls`` itself.
    """
    for name, attr in list(vars(cls).items()):
        if name.startswith("_") and name != "__init__":
            continue
        if isinstance(attr, functools.cached_property):
            new: Any = functools.cached_property(single_threaded_blas(attr.func))
            new.__set_name__(cls, name)
        elif isinstance(attr, property) and attr.fget is not None:
            new = attr.getter(single_threaded_blas(attr.fget))
        elif isinstance(attr, classmethod | staticmethod):
            new = type(attr)(single_threaded_blas(attr.__func__))
        elif callable(attr) and not isinstance(attr, type):
            new = single_threaded_blas(attr)
        else:
            continue
        setattr(cls, name, new)
    return cls
