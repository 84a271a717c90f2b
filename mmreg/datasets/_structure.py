"""Random coalition-government structure (ids, nesting, covariates) for the simulator.

Internal helper of :mod:`mmreg.datasets.simulate`.  Everything is vectorised numpy: loops
run over rejection rounds, never over groups or members.

Internally groups and members are numbered ``0..G-1`` and ``0..M-1`` in country order
(country 0's groups first, in time order); the public labels ``gid``/``pid`` are a
permutation of those numbers so that no downstream code can rely on countries being
contiguous blocks of ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CoalitionStructure", "draw_structure", "SIZE_COUNTS"]

#: Number of governments with 2, 3, ..., 9 parties in coalgov (628 governments).
SIZE_COUNTS = np.array([218, 141, 179, 62, 14, 7, 4, 3])
_MAX_SIZE = 9
_MAX_REJECTION_ROUNDS = 25


@dataclass(frozen=True)
class CoalitionStructure:
    """Arrays describing one simulated data set (internal numbering, see module docstring).

    Group arrays have length G, member arrays length M, row arrays length R (one row per
    member participation, sorted by internal group then internal member).
    """

    group_country: np.ndarray
    group_size: np.ndarray
    group_opportunity: np.ndarray
    gid: np.ndarray
    majority: np.ndarray
    mwc: np.ndarray
    investiture: np.ndarray
    member_country: np.ndarray
    pid: np.ndarray
    row_group: np.ndarray
    row_member: np.ndarray
    pseat: np.ndarray
    cohesion: np.ndarray
    finance: np.ndarray
    rile: np.ndarray


def _ragged_arange(counts: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(c)`` for every ``c`` in ``counts``."""
    starts = np.cumsum(counts) - counts
    return np.arange(counts.sum()) - np.repeat(starts, counts)


def _duplicated(row_group: np.ndarray, member: np.ndarray) -> np.ndarray:
    """Mask of rows repeating a (group, member) pair seen earlier in the same group."""
    order = np.lexsort((member, row_group))
    g, m = row_group[order], member[order]
    same = (g[1:] == g[:-1]) & (m[1:] == m[:-1])
    dup = np.zeros(row_group.size, dtype=bool)
    dup[order[1:][same]] = True
    return dup


def _draw_members(
    rng: np.random.Generator,
    group_country: np.ndarray,
    group_size: np.ndarray,
    member_start: np.ndarray,
    member_count: np.ndarray,
    popularity: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Sample distinct members of each group from its country, favouring popular parties.

    Members are drawn with probability proportional to ``popularity``; duplicated draws
    within a group are redrawn (a few vectorised rejection rounds).  Groups still holding
    duplicates after that (tiny countries with very unequal popularity) are filled exactly
    by weighted sampling without replacement (Gumbel top-k over their country's members).
    """
    n_groups = group_country.size
    row_group = np.repeat(np.arange(n_groups), group_size)
    row_country = group_country[row_group]
    cum = np.concatenate([[0.0], np.cumsum(popularity)])
    lo = cum[member_start]
    width = cum[member_start + member_count] - lo
    first = member_start[row_country]
    last = first + member_count[row_country] - 1

    def draw(rows: np.ndarray) -> np.ndarray:
        c = row_country[rows]
        x = lo[c] + rng.random(rows.size) * width[c]
        k = np.searchsorted(cum, x, side="right") - 1
        return np.clip(k, first[rows], last[rows])

    member = draw(np.arange(row_group.size))
    active = np.arange(row_group.size)
    for _ in range(_MAX_REJECTION_ROUNDS):
        dup = _duplicated(row_group[active], member[active])
        if not dup.any():
            active = active[:0]
            break
        bad = np.unique(row_group[active[dup]])
        member[active[dup]] = draw(active[dup])
        active = active[np.isin(row_group[active], bad)]
    if active.size:
        still = _duplicated(row_group[active], member[active])
        bad = np.unique(row_group[active[still]])
        if bad.size:
            _fill_exact(
                rng, bad, group_country, group_size, member_start, member_count, popularity, member
            )
    order = np.lexsort((member, row_group))
    return row_group[order], member[order]


def _fill_exact(
    rng: np.random.Generator,
    groups: np.ndarray,
    group_country: np.ndarray,
    group_size: np.ndarray,
    member_start: np.ndarray,
    member_count: np.ndarray,
    popularity: np.ndarray,
    member: np.ndarray,
) -> None:
    """Overwrite the members of ``groups`` (sorted) by Gumbel top-k sampling, in place."""
    cand_count = member_count[group_country[groups]]
    cand_group = np.repeat(groups, cand_count)
    cand_member = member_start[group_country[cand_group]] + _ragged_arange(cand_count)
    key = np.log(popularity[cand_member]) + rng.gumbel(size=cand_member.size)
    order = np.lexsort((-key, cand_group))
    rank = _ragged_arange(cand_count)  # cand_group is sorted, so ranks follow `order`
    keep = order[rank < group_size[cand_group]]
    row_start = np.cumsum(group_size) - group_size
    rows = np.repeat(row_start[groups], group_size[groups]) + _ragged_arange(group_size[groups])
    member[rows] = cand_member[keep]


def _opportunities(rng: np.random.Generator, groups_per_country: np.ndarray) -> np.ndarray:
    """Partition each country's (consecutive) groups into choice sets of 2 to 6 groups.

    Returns the 0-based choice-set index of every group.  Country j with g_j >= 2 groups gets
    K_j sets (about g_j / 4, within [ceil(g_j/6), floor(g_j/2)]); each set has 2 groups plus
    the g_j - 2 K_j remaining ones spread at random over 4 extra slots per set.
    """
    g = groups_per_country
    k = np.clip(np.rint(g / 4), np.ceil(g / 6), g // 2).astype(np.int64)
    n_sets = int(k.sum())
    slot_set = np.repeat(np.arange(n_sets), 4)
    slot_country = np.repeat(np.arange(g.size), k)[slot_set]
    order = np.lexsort((rng.random(slot_set.size), slot_country))
    rank = _ragged_arange(4 * k)
    extra = g - 2 * k
    taken = slot_set[order][rank < extra[slot_country[order]]]
    set_size = 2 + np.bincount(taken, minlength=n_sets)
    return np.repeat(np.arange(n_sets), set_size)


def _standardise(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / values.std(ddof=1)


def draw_structure(
    rng: np.random.Generator, n_groups: int, n_members: int, n_countries: int
) -> CoalitionStructure:
    """Draw nesting, memberships and covariates shaped like coalgov.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_groups, n_members, n_countries : int
        Validated by the caller: ``n_members >= 2 * n_countries`` and
        ``n_groups >= 2 * n_countries``.

    Returns
    -------
    CoalitionStructure
    """
    n_c = n_countries
    share = rng.dirichlet(np.full(n_c, 2.0))
    member_count = 2 + rng.multinomial(n_members - 2 * n_c, share)
    groups_per_country = 2 + rng.multinomial(n_groups - 2 * n_c, member_count / n_members)
    member_start = np.cumsum(member_count) - member_count
    member_country = np.repeat(np.arange(n_c), member_count)
    group_country = np.repeat(np.arange(n_c), groups_per_country)

    size = 2 + rng.choice(_MAX_SIZE - 1, size=n_groups, p=SIZE_COUNTS / SIZE_COUNTS.sum())
    size = np.minimum(size, member_count[group_country])
    popularity = rng.lognormal(0.0, 1.0, size=n_members)
    row_group, row_member = _draw_members(
        rng, group_country, size, member_start, member_count, popularity
    )

    # Public labels: gid orders groups in time across countries (interleaved), pid is a
    # random relabelling of the members.
    start_time = _sort_within(rng.random(n_groups), group_country)
    gid = np.argsort(np.argsort(start_time, kind="stable"), kind="stable") + 1
    pid = rng.permutation(n_members) + 1

    # Group-level covariates (investiture is a constitutional rule: constant per country).
    majority = (rng.random(n_groups) < 0.8).astype(np.int64)
    mwc = (rng.random(n_groups) < 0.35).astype(np.int64)
    investiture = (rng.random(n_c) < 0.45).astype(np.int64)[group_country]

    # Seat shares: party strength times a per-government fluctuation, normalised.
    strength = rng.lognormal(0.0, 0.8, size=n_members)
    raw = strength[row_member] * np.exp(0.25 * rng.standard_normal(row_member.size))
    pseat = raw / np.bincount(row_group, weights=raw, minlength=n_groups)[row_group]

    # Member-level covariates, constant per party, standardised over rows like coalgov.
    finance = rng.gamma(1.5, size=n_members)[row_member]
    cohesion = rng.gamma(1.0, size=n_members)[row_member]
    rile = rng.standard_normal(n_members)[row_member]

    return CoalitionStructure(
        group_country=group_country,
        group_size=size.astype(np.int64),
        group_opportunity=_opportunities(rng, groups_per_country),
        gid=gid.astype(np.int64),
        majority=majority,
        mwc=mwc,
        investiture=investiture,
        member_country=member_country,
        pid=pid.astype(np.int64),
        row_group=row_group,
        row_member=row_member,
        pseat=pseat,
        cohesion=_standardise(cohesion),
        finance=_standardise(finance),
        rile=_standardise(rile),
    )


def _sort_within(values: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Sort ``values`` within consecutive blocks labelled by sorted ``block``."""
    return values[np.lexsort((values, block))]
