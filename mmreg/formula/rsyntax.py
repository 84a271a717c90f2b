"""Low-level scanner for R-style formula text.

bml formulas are R code.  This module knows just enough of R's surface syntax to take them
apart without evaluating anything: bracket nesting, string and backtick quoting, ``#``
comments, top-level splitting, calls ``f(...)`` and their (named or positional) arguments,
R/Python booleans and numeric literals.  Every malformed input raises
:class:`~mmreg.errors.MMSpecError` with a message that says where the problem is.
"""

from __future__ import annotations

import ast
import difflib
import math
import operator
import re

from mmreg.errors import MMSpecError

__all__ = [
    "Arg",
    "Piece",
    "depths",
    "find_call",
    "join_terms",
    "match_args",
    "parse_bool",
    "parse_call",
    "parse_name",
    "parse_number",
    "shorten",
    "split_args",
    "split_formula",
    "split_terms",
    "split_top",
    "strip_comments",
]

_CLOSERS = {")": "(", "]": "[", "}": "{"}
_QUOTES = "\"'`"
_NAME_RE = re.compile(r"[A-Za-z_.][A-Za-z0-9_.]*\Z")
_CALL_RE = re.compile(r"\s*((?:[A-Za-z_.][A-Za-z0-9_.]*::)?[A-Za-z_.][A-Za-z0-9_.]*)\s*\(")
_ARG_NAME_RE = re.compile(r"\s*([A-Za-z_.][A-Za-z0-9_.]*)\s*=(?!=)")
_TRUE = frozenset({"TRUE", "T", "True", "true"})
_FALSE = frozenset({"FALSE", "F", "False", "false"})

Piece = tuple[str, str, int]
"""``(separator_before, text, offset)`` as returned by :func:`split_top`."""

Arg = tuple[str | None, str]
"""``(name_or_None, value_text)`` as returned by :func:`split_args`."""


def shorten(text: str, width: int = 72) -> str:
    """Collapse whitespace and truncate ``text`` for use in an error message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def _where(text: str, pos: int) -> str:
    """Describe position ``pos`` of ``text`` as 'character k' plus a caret snippet."""
    start = max(0, pos - 30)
    snippet = text[start : pos + 30].replace("\n", " ")
    caret = " " * (pos - start) + "^"
    return f"character {pos + 1}:\n    {snippet}\n    {caret}"


def strip_comments(text: str) -> str:
    """Blank out R ``#`` comments (outside quotes), keeping every character position."""
    out = list(text)
    quote: str | None = None
    escaped = False
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in _QUOTES:
            quote = ch
        elif ch == "#":
            while i < len(text) and text[i] != "\n":
                out[i] = " "
                i += 1
            continue
        i += 1
    return "".join(out)


def depths(text: str) -> list[int]:
    """Bracket depth of every character of ``text``; ``-1`` inside quotes.

    Brackets themselves get the depth of their surroundings, so the characters at depth 0
    are exactly the top level.

    Raises
    ------
    MMSpecError
        Unbalanced or mismatched brackets, or an unclosed quote; the message shows where.
    """
    stack: list[tuple[str, int]] = []
    out: list[int] = []
    quote: str | None = None
    qstart = 0
    escaped = False
    for i, ch in enumerate(text):
        if quote:
            out.append(-1)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
            continue
        if ch in _QUOTES:
            quote, qstart = ch, i
            out.append(-1)
        elif ch in "([{":
            out.append(len(stack))
            stack.append((ch, i))
        elif ch in _CLOSERS:
            if not stack:
                raise MMSpecError(
                    f"Unbalanced parentheses in formula: '{ch}' at {_where(text, i)}\n"
                    f"has no matching '{_CLOSERS[ch]}'. Remove it or add the missing "
                    f"'{_CLOSERS[ch]}'."
                )
            opener, j = stack.pop()
            if opener != _CLOSERS[ch]:
                raise MMSpecError(
                    f"Mismatched brackets in formula: '{opener}' at {_where(text, j)}\n"
                    f"is closed by '{ch}' at character {i + 1}. Use matching brackets."
                )
            out.append(len(stack))
        else:
            out.append(len(stack))
    if quote:
        raise MMSpecError(
            f"Unbalanced quotes in formula: the {quote} opened at {_where(text, qstart)}\n"
            f"is never closed. Add the closing {quote}."
        )
    if stack:
        opener, j = stack[-1]
        closer = {v: k for k, v in _CLOSERS.items()}[opener]
        raise MMSpecError(
            f"Unbalanced parentheses in formula: '{opener}' at {_where(text, j)}\n"
            f"is never closed. Add the missing '{closer}'."
        )
    return out


def split_top(text: str, seps: str) -> list[Piece]:
    """Split ``text`` at top-level occurrences of any character in ``seps``.

    Returns ``(separator_before, piece, offset)`` triples; the first separator is ``""``.
    Pieces are not stripped.
    """
    lev = depths(text)
    pieces: list[Piece] = []
    sep, start = "", 0
    for i, ch in enumerate(text):
        if ch in seps and lev[i] == 0:
            pieces.append((sep, text[start:i], start))
            sep, start = ch, i + 1
    pieces.append((sep, text[start:], start))
    return pieces


def parse_call(text: str) -> tuple[str, str, str] | None:
    """Split ``name(inner) rest`` into ``(name, inner, rest)``, or ``None`` if not a call.

    ``name`` keeps any ``pkg::`` prefix; ``rest`` is the stripped text after the matching
    ``)`` (empty when ``text`` is exactly one call).
    """
    m = _CALL_RE.match(text)
    if not m:
        return None
    lev = depths(text)
    open_at = m.end() - 1
    for i in range(open_at + 1, len(text)):
        if text[i] == ")" and lev[i] == lev[open_at]:
            return m.group(1), text[open_at + 1 : i], text[i + 1 :].strip()
    raise AssertionError("unreachable: depths() guarantees balance")  # pragma: no cover


def find_call(text: str, names: frozenset[str]) -> str | None:
    """First function in ``names`` that ``text`` calls anywhere (outside quotes), else None."""
    lev = depths(text)
    masked = "".join(" " if d < 0 else c for c, d in zip(text, lev, strict=True))
    for m in re.finditer(r"(?<![\w.:])((?:[A-Za-z_.][\w.]*::)?[A-Za-z_.][\w.]*)\s*\(", masked):
        name = m.group(1).rsplit("::", 1)[-1]
        if name in names:
            return name
    return None


def split_args(inner: str, label: str, source: str) -> list[Arg]:
    """Split the inside of a call into ``(name or None, value)`` arguments.

    Parameters
    ----------
    inner : str
        Text between the call's parentheses.
    label : str
        The function name, for messages (``"mm"``).
    source : str
        The whole term as written, for messages.
    """
    if not inner.strip():
        return []
    args: list[Arg] = []
    for k, (_, piece, _) in enumerate(split_top(inner, ","), 1):
        if not piece.strip():
            raise MMSpecError(
                f"Empty argument {k} in {label}() of the term {shorten(source)!r}. "
                "Remove the extra comma."
            )
        m = _ARG_NAME_RE.match(piece)
        if m:
            value = piece[m.end() :].strip()
            if not value:
                raise MMSpecError(
                    f"Argument '{m.group(1)} =' of {label}() in {shorten(source)!r} has no "
                    "value. Give a value or drop the argument."
                )
            args.append((m.group(1), value))
        else:
            args.append((None, piece.strip()))
    return args


def match_args(
    label: str, args: list[Arg], formals: tuple[str, ...], source: str
) -> dict[str, str]:
    """Match arguments to formal names the way R does (exact names first, then position).

    Raises
    ------
    MMSpecError
        Unknown or duplicated argument name, or too many positional arguments.
    """
    matched: dict[str, str] = {}
    for name, value in args:
        if name is None:
            continue
        if name not in formals:
            close = difflib.get_close_matches(name, formals, n=1, cutoff=0.5)
            close += [f for f in formals if f.lower() == name.lower()]
            hint = f" Did you mean '{close[-1]}'?" if close else ""
            raise MMSpecError(
                f"Unknown argument '{name}' in {label}() of the term {shorten(source)!r}. "
                f"{label}() accepts: {', '.join(formals)}.{hint}"
            )
        if name in matched:
            raise MMSpecError(
                f"Argument '{name}' is given twice in {label}() of the term "
                f"{shorten(source)!r}. Keep only one."
            )
        matched[name] = value
    free = [f for f in formals if f not in matched]
    positional = [value for name, value in args if name is None]
    if len(positional) > len(free):
        raise MMSpecError(
            f"Too many arguments in {label}() of the term {shorten(source)!r}: "
            f"{label}() takes at most {len(formals)} ({', '.join(formals)}). "
            "Remove the extra ones or check the commas."
        )
    matched.update(zip(free, positional, strict=False))
    return matched


def parse_bool(value: str, arg: str, label: str, source: str) -> bool:
    """Read an R or Python boolean literal (``TRUE/FALSE/T/F/True/False/true/false``)."""
    v = value.strip()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise MMSpecError(
        f"'{arg} = {shorten(v, 30)}' in {label}() of the term {shorten(source)!r} is not a "
        f"boolean. Write {arg} = TRUE or {arg} = FALSE (T/F and True/False also work)."
    )


def parse_name(value: str, what: str, source: str) -> str:
    """Read a column name: bare, `backticked`, or quoted with ' or "."""
    v = value.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in _QUOTES:
        inner = v[1:-1]
        if inner.strip() and v[0] not in inner:
            return inner
    elif _NAME_RE.match(v):
        return v
    raise MMSpecError(
        f"{what} in the term {shorten(source)!r} must be a column name, got "
        f"{shorten(v, 30)!r}. Create the variable as a column of the data and use its name."
    )


_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def _eval_number(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)  # type: ignore[arg-type]  # int or float (checked above)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        x = _eval_number(node.operand)
        return -x if isinstance(node.op, ast.USub) else x
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return float(_BINOPS[type(node.op)](_eval_number(node.left), _eval_number(node.right)))
    raise ValueError("not a number")


def parse_number(value: str, what: str, source: str) -> float:
    """Read a numeric literal or constant arithmetic (``1``, ``-0.5``, ``1e-3``, ``1/3``, ``2^-1``).

    R's integer suffix ``L`` (``1L``) is accepted.  Names, calls and non-finite results raise
    :class:`MMSpecError`.
    """
    code = re.sub(r"(?<=[0-9.])L\b", "", value.strip()).replace("^", "**")
    try:
        x = _eval_number(ast.parse(code, mode="eval").body)
    except (SyntaxError, ValueError, ArithmeticError, TypeError):
        x = math.nan
    if not math.isfinite(x):
        raise MMSpecError(
            f"{what} in the term {shorten(source)!r} must be a finite number, got "
            f"{shorten(value, 30)!r}. Write e.g. fix(x, 1) or fix(x, -0.5)."
        )
    return x


def split_terms(text: str, where: str) -> list[tuple[str, str]]:
    """Top-level ``+``/``-`` terms of ``text`` as ``(sign, stripped term)`` pairs.

    A leading unary sign is allowed (``-1 + x``); an empty term raises :class:`MMSpecError`
    naming ``where``.
    """
    pieces = split_top(text, "+-")
    out: list[tuple[str, str]] = []
    for k, (sep, piece, _) in enumerate(pieces):
        term = piece.strip()
        if not term:
            if k == 0 and len(pieces) > 1:
                continue  # leading unary sign, e.g. "-1 + x"
            raise MMSpecError(
                f"Empty term in {where}: {shorten(text)!r} has a '+' or '-' with no term "
                "next to it. Remove the extra sign."
            )
        out.append(("-" if sep == "-" else "+", term))
    return out


def join_terms(terms: list[tuple[str, str]]) -> str:
    """Join ``(sign, term)`` pairs into a patsy right-hand side ("a + b - c")."""
    text = ""
    for sign, term in terms:
        if not text:
            text = term if sign == "+" else f"- {term}"
        else:
            text += f" {sign} {term}"
    return text


def split_formula(text: str) -> tuple[str, str]:
    """Split a formula at its single top-level ``~`` into ``(lhs, rhs)`` (not stripped).

    Raises
    ------
    MMSpecError
        No top-level ``~``, or more than one (a ``~`` inside brackets, as in
        ``fn(w ~ 1/n)``, does not count); unbalanced brackets or quotes.
    """
    lev = depths(text)
    tildes = [i for i, ch in enumerate(text) if ch == "~" and lev[i] == 0]
    if not tildes:
        raise MMSpecError(
            f"The formula {shorten(text)!r} has no '~'. Write it as 'outcome ~ terms'."
        )
    if len(tildes) > 1:
        raise MMSpecError(
            f"The formula {shorten(text)!r} has {len(tildes)} '~' at top level (characters "
            f"{', '.join(str(i + 1) for i in tildes)}); it needs exactly one. The only other "
            "'~' allowed is inside fn(w ~ ...)."
        )
    return text[: tildes[0]], text[tildes[0] + 1 :]
