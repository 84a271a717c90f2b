"""Tokenizer and parser of the weight-function language (``fn(w ~ expr)``).

Turns the right-hand side of ``fn(w ~ expr)`` into a syntax tree (:mod:`mmreg.formula.wast`),
checking names, arguments and nesting, with errors that point at the offending token.
Evaluation and derivatives live in :mod:`mmreg.formula.weval`.

Precedence follows R (highest first): ``^``/``**`` (right-associative, and binding tighter
than a unary minus on its left: ``-2^2 == -4``), unary ``+ -``, ``* /``, binary ``+ -``,
comparisons (non-associative), ``!``, ``&``/``&&``, ``|``/``||``.  ``TRUE``/``T`` are 1,
``FALSE``/``F`` are 0; a back-quoted name (```n```) is always a data column.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass

from mmreg.errors import MMSpecError
from mmreg.formula.aggregate import near_miss
from mmreg.formula.wast import (
    AGGREGATES,
    ELEMENTWISE,
    Agg,
    Binary,
    Call,
    Col,
    GroupSize,
    Node,
    Num,
    Param,
    Signature,
    Unary,
    depth,
    is_constant,
)

__all__ = ["ParsedExpr", "parse_weight_expr"]


@dataclass(frozen=True)
class ParsedExpr:
    """Result of :func:`parse_weight_expr`."""

    tree: Node
    params: tuple[str, ...]  # sorted by number
    columns: tuple[str, ...]  # in order of first appearance
    text: str  # the expression without a leading "w ~", stripped


_LOGICAL = {"TRUE": 1.0, "T": 1.0, "FALSE": 0.0, "F": 0.0}
_RESERVED = {"NA", "NULL", "NaN", "Inf", "NA_real_", "NA_integer_", "function", "if", "else",
             "for", "while", "repeat", "break", "next", "in"}  # fmt: skip
_PARAM = re.compile(r"b(\d+)\Z")
_FREE_BASE = 1 << 30  # free parameters of w(~ ...) sort after b0, b1, ... in order of appearance
_PARAM_LIKE = re.compile(
    r"(?i:b|beta|theta|alpha|gamma|delta|a|c|w|p|par|param|coef)[._]?\d*\Z|[A-Za-z]+[._]?\d+\Z"
)
_TOKEN = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?L?)"
    r"|(?P<id>[A-Za-z][A-Za-z0-9._]*|\.(?![0-9])[A-Za-z0-9._]*)"
    r"|(?P<bq>`[^`]+`)"
    r"|(?P<op>\*\*|==|!=|<=|>=|&&|\|\||[-+*/^<>!&|(),=])"
)
_CMP = ("==", "!=", "<", "<=", ">", ">=")
_MAX_NESTING = 40  # parentheses, calls and prefix operators (keeps Python's stack safe)
_MAX_DEPTH = 100  # depth of the syntax tree (evaluation recurses over it)


@dataclass(frozen=True)
class _Tok:
    kind: str  # "num", "id", "op", "end"
    text: str
    pos: int
    quoted: bool = False


class _Parser:
    """Recursive-descent parser; one instance per expression."""

    def __init__(
        self,
        source: str,
        start: int,
        where: str,
        columns: Collection[str] | None,
        free: bool = False,
    ):
        self.source, self.where, self.free = source, where, free
        self.known = None if columns is None else set(columns)
        self.columns: dict[str, None] = {}
        self.params: dict[str, int] = {}
        self.in_agg: str | None = None
        self.depth = 0
        self.toks = self._tokenize(start)
        self.i = 0

    # -- errors and tokens -------------------------------------------------------------
    def fail(self, msg: str, pos: int) -> MMSpecError:
        shown = re.sub(r"\s", " ", self.source)
        return MMSpecError(
            f"{self.where}: {msg} (at position {pos + 1} of '{shown}')\n"
            f"    {shown}\n    {' ' * pos}^"
        )

    def _tokenize(self, pos: int) -> list[_Tok]:
        src, toks = self.source, []
        while pos < len(src):
            m = _TOKEN.match(src, pos)
            if m is None:
                ch = src[pos]
                hint = "; parameters are named b0, b1, ... (not b[1])" if ch in "[]" else ""
                if ch == "%":
                    hint = "; the operators %% and %/% are not supported in fn()"
                raise self.fail(f"unexpected character {ch!r}{hint}", pos)
            kind, text = m.lastgroup, m.group()
            if kind == "num" and m.end() < len(src) and re.match(r"[\w.]", src[m.end()]):
                raise self.fail(f"malformed number {src[pos : m.end() + 1]!r}", pos)
            if kind == "bq":
                toks.append(_Tok("id", text[1:-1], pos, quoted=True))
            elif kind != "ws":
                toks.append(_Tok(kind, text, pos))  # type: ignore[arg-type]  # a named group
            pos = m.end()
        toks.append(_Tok("end", "", len(src)))
        return toks

    def peek(self, *ops: str) -> bool:
        t = self.toks[self.i]
        return t.kind == "op" and t.text in ops

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect(self, op: str, context: str) -> None:
        if not self.peek(op):
            raise self.unexpected(f"expected {op!r} {context}")
        self.i += 1

    def unexpected(self, extra: str = "") -> MMSpecError:
        t = self.toks[self.i]
        what = "end of expression" if t.kind == "end" else repr(t.text)
        hint = "; use '==' to compare" if t.text == "=" else ""
        return self.fail(f"unexpected {what}{'; ' + extra if extra else ''}{hint}", t.pos)

    def enter(self, pos: int) -> None:
        self.depth += 1
        if self.depth > _MAX_NESTING:
            raise self.fail(f"expression nested more than {_MAX_NESTING} levels deep", pos)

    # -- grammar ------------------------------------------------------------------------
    def parse(self) -> Node:
        if self.toks[0].kind == "end":
            raise MMSpecError(
                f"{self.where}: the weight function is empty; write e.g. fn(w ~ 1/n, c = TRUE)"
            )
        tree = self.parse_or()
        if self.toks[self.i].kind != "end":
            raise self.unexpected()
        return tree

    def _binary_chain(self, ops: tuple[str, ...], sub, canon: dict[str, str]) -> Node:
        left = sub()
        while self.peek(*ops):
            tok = self.take()
            left = Binary(canon.get(tok.text, tok.text), left, sub())
        return left

    def parse_or(self) -> Node:
        return self._binary_chain(("|", "||"), self.parse_and, {"||": "|"})

    def parse_and(self) -> Node:
        return self._binary_chain(("&", "&&"), self.parse_not, {"&&": "&"})

    def parse_not(self) -> Node:
        if self.peek("!"):
            self.enter(self.take().pos)
            node = Unary("!", self.parse_not())
            self.depth -= 1
            return node
        return self.parse_comp()

    def parse_comp(self) -> Node:
        left = self.parse_sum()
        if self.peek(*_CMP):
            tok = self.take()
            left = Binary(tok.text, left, self.parse_sum())
            if self.peek(*_CMP):
                raise self.unexpected(
                    "comparisons cannot be chained (as in R); write (a < b) & (b < c)"
                )
        return left

    def parse_sum(self) -> Node:
        return self._binary_chain(("+", "-"), self.parse_prod, {})

    def parse_prod(self) -> Node:
        return self._binary_chain(("*", "/"), self.parse_unary, {})

    def parse_unary(self) -> Node:
        if self.peek("-", "+"):
            tok = self.take()
            self.enter(tok.pos)
            node: Node = Unary(tok.text, self.parse_unary())
            self.depth -= 1
            return node
        if self.peek("!"):
            return self.parse_not()
        base = self.parse_primary()
        if self.peek("^", "**"):
            self.enter(self.take().pos)
            base = Binary("^", base, self.parse_unary())
            self.depth -= 1
        return base

    def parse_primary(self) -> Node:
        tok = self.toks[self.i]
        if tok.kind == "num":
            self.i += 1
            return Num(float(tok.text.rstrip("L")))
        if tok.kind == "id":
            self.i += 1
            if self.peek("("):
                return self.parse_call(tok)
            return self.name(tok)
        if self.peek("("):
            self.enter(self.take().pos)
            node = self.parse_or()
            self.expect(")", "to close '('")
            self.depth -= 1
            return node
        raise self.unexpected()

    def name(self, tok: _Tok) -> Node:
        name = tok.text
        if not tok.quoted:
            if name in _LOGICAL:
                return Num(_LOGICAL[name])
            if name in _RESERVED:
                raise self.fail(f"{name} is not supported in a weight function", tok.pos)
            if name == "n":
                return GroupSize()
            m = _PARAM.match(name)
            if m:
                number = int(m.group(1))
                if m.group(1) != str(number):
                    raise self.fail(f"write parameter {name!r} as 'b{number}'", tok.pos)
                self.params[name] = number
                return Param(name, number)
        if self.free and self.known is not None and name not in self.known and not tok.quoted:
            close = near_miss(name, self.known)
            if close:
                raise self.fail(
                    f"{name!r} is not a column; did you mean {close}? (a symbol "
                    "that is not a column is an estimated parameter)",
                    tok.pos,
                )
            self.params.setdefault(name, _FREE_BASE + len(self.params))
            return Param(name, self.params[name])
        if self.known is not None and name not in self.known:
            msg = f"unknown column {name!r}: it is not a column of the data, not n"
            msg += " (the group size) and not a weight parameter"
            if _PARAM_LIKE.match(name):
                msg += "; weight parameters must be named b0, b1, b2, ..."
            matches = difflib.get_close_matches(name, sorted(self.known), n=3)
            if matches:
                msg += f"; did you mean {', '.join(map(repr, matches))}?"
            raise self.fail(msg, tok.pos)
        self.columns.setdefault(name, None)
        return Col(name)

    def parse_call(self, tok: _Tok) -> Node:
        fname, pos = tok.text, tok.pos
        sig = ELEMENTWISE.get(fname) or AGGREGATES.get(fname)
        if sig is None:
            avail = ", ".join(sorted(ELEMENTWISE) + sorted(AGGREGATES))
            close = difflib.get_close_matches(fname, list(ELEMENTWISE) + list(AGGREGATES), n=2)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise self.fail(f"unknown function {fname!r}{hint} (available: {avail})", pos)
        is_agg = fname in AGGREGATES
        if is_agg and self.in_agg is not None:
            raise self.fail(
                f"nested aggregates are not supported: {fname}() inside {self.in_agg}()", pos
            )
        self.enter(pos)
        outer, self.in_agg = self.in_agg, (fname if is_agg else self.in_agg)
        self.i += 1  # '('
        positional: list[tuple[Node, int]] = []
        named: dict[str, tuple[Node, int]] = {}
        while not self.peek(")"):
            if positional or named:
                self.expect(",", f"or ')' after an argument of {fname}()")
            t = self.toks[self.i]
            if t.kind == "end":
                raise self.unexpected(f"expected ')' to close {fname}(")
            nxt = self.toks[self.i + 1]
            if t.kind == "id" and nxt.kind == "op" and nxt.text == "=":
                self.i += 2
                if t.text in named:
                    raise self.fail(f"argument {t.text!r} of {fname}() given twice", t.pos)
                named[t.text] = (self.parse_or(), t.pos)
            elif named:
                raise self.fail(f"positional argument after a named one in {fname}()", t.pos)
            else:
                positional.append((self.parse_or(), t.pos))
        self.i += 1  # ')'
        self.in_agg = outer
        self.depth -= 1
        args = self.match_args(fname, sig, positional, named, pos)
        return self.build(sig[0], is_agg, args)

    def match_args(self, fname, sig: Signature, positional, named, pos) -> dict[str, Node]:
        _, formals, required, kwonly = sig
        usage = f"{fname}({', '.join(formals)})"
        if len(positional) > len(formals):
            raise self.fail(
                f"too many arguments to {fname}(): {len(positional)} given, usage {usage}",
                positional[len(formals)][1],
            )
        args = dict(zip(formals, positional, strict=False))
        for key, (node, kpos) in named.items():
            if key in args:
                raise self.fail(f"argument {key!r} of {fname}() given twice", kpos)
            if key not in formals and key not in kwonly:
                raise self.fail(f"{fname}() has no argument {key!r}; usage {usage}", kpos)
            args[key] = (node, kpos)
        missing = [f for f in formals[:required] if f not in args]
        if missing:
            raise self.fail(
                f"{fname}() needs {required} argument{'s' if required > 1 else ''} "
                f"(missing {', '.join(missing)}); usage {usage}",
                pos,
            )
        for key in ("digits", "probs", "na.rm", "type"):
            if key in args and not is_constant(args[key][0]):
                raise self.fail(
                    f"argument {key!r} of {fname}() must be a constant number "
                    "(not data, n, a parameter or an aggregate)",
                    args[key][1],
                )
        if "type" in args and args["type"][0] != Num(7.0):
            raise self.fail("quantile() supports only type = 7 (R's default)", args["type"][1])
        return {key: node for key, (node, _) in args.items()}

    @staticmethod
    def build(name: str, is_agg: bool, args: dict[str, Node]) -> Node:
        if is_agg:
            x = args["x"]
            if name == "range":
                return Binary("-", Agg("max", x), Agg("min", x))
            if name == "median":
                return Agg("quantile", x, Num(0.5))
            return Agg(name, x, args.get("probs"))
        if name == "pow":
            return Binary("^", args["x"], args["y"])
        if name == "ifelse":
            return Call(name, (args["test"], args["yes"], args["no"]))
        return Call(name, tuple(args[k] for k in ("x", "q", "p", "base", "digits") if k in args))


def parse_weight_expr(
    expr: str,
    *,
    where: str = "fn of mm1",
    columns: Collection[str] | None = None,
    free: bool = False,
) -> ParsedExpr:
    """Parse a weight-function expression.

    Parameters
    ----------
    expr : str
        The right-hand side of ``fn(w ~ expr)``; a leading ``w ~`` (or ``~``) is skipped.
    where : str
        Prefix of error messages, e.g. ``"fn of mm1"``.
    columns : collection of str, optional
        Names of the data columns.  If given, an identifier that is neither a column, ``n``
        nor a parameter ``b<k>`` is an error.
    free : bool
        The bml 1.0 ``w(~ ...)`` rule: an identifier that is not a column or ``n`` is an
        estimated parameter (unless it is one edit away from a column: "did you mean").

    Returns
    -------
    ParsedExpr

    Raises
    ------
    MMSpecError
        On any syntax error, unknown function or column, wrong arguments, nested
        aggregates, or badly named parameters; the message gives the position.
    """
    if not isinstance(expr, str):
        raise MMSpecError(f"{where}: the weight function must be a string, got {expr!r}")
    m = re.match(r"\s*(?:w\s*)?~", expr)
    start = m.end() if m else 0
    parser = _Parser(expr, start, where, columns, free)
    tree = parser.parse()
    if depth(tree) > _MAX_DEPTH:
        raise MMSpecError(f"{where}: the expression '{expr}' is nested more than {_MAX_DEPTH} deep")
    params = tuple(sorted(parser.params, key=parser.params.__getitem__))
    return ParsedExpr(tree, params, tuple(parser.columns), expr[start:].strip())
