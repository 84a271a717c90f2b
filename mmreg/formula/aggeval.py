"""Forward-mode evaluation of a compiled aggregation (:mod:`mmreg.formula.aggregate`).

Each value carries its derivative with respect to the normalised weights w̃_j of the
members j of its group and with respect to the aggregation's parameters (shapes, free DSL
symbols): exact derivatives in one pass, vectorised over all groups.
"""

from __future__ import annotations

import numpy as np

from mmreg.errors import MMSpecError

__all__ = ["Evaluator"]


class Evaluator:
    """Forward mode: each value carries d value / d w~_j for the members j of its group
    (columns ``0 .. m-1``) and d value / d parameter (columns ``m ..``)."""

    def __init__(self, w, data, group, n_groups, params=None, tangent=True):
        self.data, self.group, self.G = data, group, n_groups
        counts = np.bincount(group, minlength=n_groups)
        start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.pos = np.arange(len(group)) - start[group]
        # without derivatives the values carry empty tangents (width 0): values only
        self.tangent = tangent
        self.m = (int(counts.max()) if len(counts) else 0) if tangent else 0
        self.params = dict(params or {})
        self.width = self.m + len(self.params) if tangent else 0
        self.pcol = {k: self.m + i for i, k in enumerate(self.params)}
        self.total = np.bincount(group, w, minlength=n_groups)
        self.wn = w / self.total[group]

    def run(self, node: tuple) -> tuple[np.ndarray, np.ndarray]:
        val, d, member = self.eval(node)
        return val, d

    def const(self, v: float, member: bool):
        size = len(self.group) if member else self.G
        return np.full(size, v), np.zeros((size, self.width)), member

    def lift(self, x):
        """A group value on the member rows."""
        v, d, member = x
        return (v, d, member) if member else (v[self.group], d[self.group], True)

    def eval(self, node: tuple):
        op = node[0]
        if op == "num":
            return self.const(node[1], False)
        if op == "par":
            if node[1] not in self.params:
                raise MMSpecError(f"the fn() parameter {node[1]!r} has no value")
            v, d, member = self.const(self.params[node[1]], False)
            if self.tangent:
                d[:, self.pcol[node[1]]] = 1.0
            return v, d, member
        if op == "var":
            return (
                np.asarray(self.data[node[1]], float),
                np.zeros((len(self.group), self.width)),
                True,
            )
        if op == "w":
            d = np.zeros((len(self.group), self.width))
            if self.tangent:
                d[np.arange(len(self.group)), self.pos] = 1.0
            return self.wn.copy(), d, True
        if op == "E":
            v, d, _ = self.lift(self.eval(node[1]))
            # members of zero weight are not in the measure (0 * log 0 = 0 in the entropy)
            wv = np.where(self.wn == 0, 0.0, self.wn * v)
            val = np.bincount(self.group, wv, minlength=self.G)
            dd = np.zeros((self.G, self.width))
            np.add.at(dd, self.group, np.where(self.wn[:, None] == 0, 0.0, self.wn[:, None] * d))
            if self.tangent:
                dd[self.group, self.pos] += v
            return val, dd, False
        args = [self.eval(a) for a in node[1:]]
        if any(a[2] for a in args):
            args = [self.lift(a) for a in args]
        member = args[0][2]
        if len(args) == 1:
            v, d, _ = args[0]
            if op == "neg":
                return -v, -d, member
            if op == "exp":
                e = np.exp(v)
                return e, e[:, None] * d, member
            if op == "log":
                return np.log(v), d / v[:, None], member
            s = 1.0 / (1.0 + np.exp(-v))  # ilogit
            return s, (s * (1 - s))[:, None] * d, member
        (a, da, _), (b, db, _) = args
        if op == "+":
            return a + b, da + db, member
        if op == "-":
            return a - b, da - db, member
        if op == "*":
            return a * b, b[:, None] * da + a[:, None] * db, member
        if op == "/":
            return a / b, (da - (a / b)[:, None] * db) / b[:, None], member
        p = a**b  # "^" and pow
        dp = b * a ** (b - 1)
        dlog = np.where(a > 0, np.log(np.where(a > 0, a, 1.0)), 0.0) * p
        return p, dp[:, None] * da + dlog[:, None] * db, member
