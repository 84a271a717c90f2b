"""Parse patsy-side formulas safely: the only route from a formula string to patsy's ``eval``.

:func:`model_desc` turns a patsy formula into a ``patsy.ModelDesc`` and checks the code of
every factor against the allow-list of :mod:`mmreg.formula.safe`; ``design_matrix`` passes
that checked ``ModelDesc`` (never the string) to ``patsy.dmatrix``.  Two guards keep the parse
itself from crashing or hanging:

* patsy's evaluator recurses once per ``+`` of a term list (a RecursionError at about 500
  terms); :class:`_FlatEvaluator` walks ``a + b - c + ...`` chains iteratively;
* ``x1 * x2 * ... * x20`` or ``(a + ... + t)**20`` expand to a million terms; an upper bound
  on the number of terms is computed from the parse tree before anything is expanded, and
  more than :data:`MAX_TERMS` is an error.

Any remaining recursion overflow is an :class:`~mmreg.errors.MMSpecError`.
"""

from __future__ import annotations

import functools
import math

import patsy
from patsy.desc import Evaluator
from patsy.parse_formula import parse_formula

from mmreg.errors import MMSpecError
from mmreg.formula.safe import TOO_DEEP, check_code, lme4_hint, r_syntax, unquoted

__all__ = ["MAX_TERMS", "check_spec", "model_desc"]

MAX_TERMS = 5000
"""Most terms a patsy-side formula may expand to (each term is one or more coefficients)."""


class _FlatEvaluator(Evaluator):
    """patsy's formula evaluator, iterative along ``a + b - c + ...`` chains."""

    def eval(self, tree, require_evalexpr=True):
        spine = []
        node = tree
        while node.type in ("+", "-") and len(node.args) == 2:
            spine.append(node)
            node = node.args[0]
        if not spine:
            return super().eval(tree, require_evalexpr)
        acc = super().eval(node)
        for link in reversed(spine):  # patsy's own '+'/'-' rules, fed the left operand
            acc = self._evaluators[link.type, 2](_Given(self, link.args[0], acc), link)
        return acc


class _Given:
    """Evaluator stand-in that returns a precomputed value for one subtree."""

    def __init__(self, evaluator: _FlatEvaluator, tree, value) -> None:
        self._evaluator, self._tree, self._value = evaluator, tree, value

    def eval(self, tree, require_evalexpr=True):
        if tree is self._tree:
            return self._value
        return self._evaluator.eval(tree, require_evalexpr)


def _power_terms(n: int, power_node) -> int:
    """Upper bound on the terms of ``(n terms)**p``: sum of C(n, j), j <= p (capped)."""
    try:
        p = int(power_node.token.extra)
    except (AttributeError, TypeError, ValueError):
        return n  # not a positive integer: patsy refuses it with its own message
    total = 0
    for j in range(1, min(p, n) + 1):
        total += math.comb(n, j)
        if total > MAX_TERMS:
            break
    return total


def _term_bound(tree) -> int:
    """Upper bound on the number of terms ``tree`` expands to (iterative, capped)."""
    counts: dict[int, int] = {}
    stack = [(tree, False)]
    while stack:
        node, ready = stack.pop()
        if not ready:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args)
            continue
        c = [counts.pop(id(a)) for a in node.args]
        if not c:
            n = int(node.type == "PYTHON_EXPR")
        elif len(c) == 1 or node.type == "-":
            n = c[0]
        elif node.type == ":":
            n = c[0] * c[1]
        elif node.type == "*":
            n = c[0] + c[1] + c[0] * c[1]
        elif node.type == "**":
            n = _power_terms(c[0], node.args[1])
        else:  # '+', '/' (a + a:b per term of b), '~'
            n = c[0] + c[1]
        counts[id(node)] = min(n, MAX_TERMS + 1)
    return counts[id(tree)]


@functools.lru_cache(maxsize=128)
def _parse(formula: str, where: str) -> tuple[patsy.ModelDesc, tuple[str, ...]]:
    try:
        tree = parse_formula(formula)
        if _term_bound(tree) > MAX_TERMS:
            raise MMSpecError(
                f"the {where} {formula[:60]!r} is too deeply nested or too long: it expands to "
                f"more than {MAX_TERMS} terms (interactions of many variables multiply); "
                "write the interactions you need explicitly"
            )
        desc = _FlatEvaluator().eval(tree, require_evalexpr=False)
    except patsy.PatsyError as exc:
        if "|" in unquoted(formula):
            raise MMSpecError(f"in the {where}: {lme4_hint(formula)}.") from None
        raise MMSpecError(f"cannot read the {where} {formula!r}: {exc.message}") from None
    except (RecursionError, MemoryError):
        raise MMSpecError(TOO_DEEP.format(what=f"the {where} {formula[:60]!r}")) from None
    except MMSpecError:
        raise
    except Exception as exc:  # patsy's tokenizer asserts on some inputs (a lone '|')
        if "|" in unquoted(formula):
            raise MMSpecError(f"in the {where}: {lme4_hint(formula)}.") from None
        raise MMSpecError(
            f"cannot read the {where} {formula!r} ({type(exc).__name__}); "
            "check the brackets and operators"
        ) from None
    if not isinstance(desc, patsy.ModelDesc):  # pragma: no cover - parse_formula adds '~'
        raise MMSpecError(f"cannot read the {where} {formula!r}")
    columns: dict[str, None] = {}
    for term in [*desc.lhs_termlist, *desc.rhs_termlist]:
        for factor in term.factors:
            columns.update(dict.fromkeys(check_code(factor.code, where)))
    return desc, tuple(columns)


def model_desc(formula: str, where: str) -> tuple[patsy.ModelDesc, list[str]]:
    """Parse a patsy formula and check every factor; the only way to patsy's ``eval``.

    Parameters
    ----------
    formula : str
        A patsy formula or right-hand side (already translated with
        :func:`mmreg.formula.safe.r_syntax`).
    where : str
        Where the terms stand (``"main terms"``, ``"outcome"``), for messages.

    Returns
    -------
    desc : patsy.ModelDesc
        To pass to ``patsy.dmatrix`` instead of the string (it is parsed once).
    columns : list of str
        Names read as data columns, in order of first use.

    Raises
    ------
    MMSpecError
        A term outside the allow-list, patsy syntax errors, a formula too deeply nested or
        expanding to more than :data:`MAX_TERMS` terms.

    Examples
    --------
    >>> desc, cols = model_desc("1 + majority * mwc + log(n)", "main terms")
    >>> cols, len(desc.rhs_termlist)
    (['majority', 'mwc', 'n'], 5)
    """
    desc, columns = _parse(formula, where)
    return desc, list(columns)


def check_spec(spec) -> None:
    """Check every patsy-side text of a parsed formula (nothing is evaluated).

    Parameters
    ----------
    spec : FormulaSpec
        Output of :func:`mmreg.formula.parse.parse_formula`: its main terms, a plain
        outcome, ``vars()`` of every block and every ``fix()`` term are checked.

    Raises
    ------
    MMSpecError
        The first text outside the allow-list, named by where it stands.
    """
    texts = [(spec.main, "main terms"), *((f.term, "fix() of the main terms") for f in spec.fixed)]
    if spec.response.kind == "plain":
        texts.append((spec.response.columns[0], "outcome"))
    for label, blocks in (("mm", spec.mm), ("hm", spec.hm)):
        for k, b in enumerate(blocks, 1):
            texts.append((b.vars, f"vars() of {label}{k}"))
            texts += [(f.term, f"fix() in vars() of {label}{k}") for f in b.fixed]
    for text, where in texts:
        if text:
            model_desc(r_syntax(text), where)
