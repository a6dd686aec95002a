"""The change of an expression between two sets of inputs, split among the inputs by their
Shapley values.

Each input's share is its marginal effect (the expression's change when that input moves
from its "before" to its "after" value) averaged over every order in which the inputs could
move. The shares add up to the whole change exactly, whatever the expression: a sum's
shares are its terms' changes, and a product's or a ratio's cross-term is shared out
between the inputs that make it, never left over.

* An input that did not move gets nothing (and is not counted), so the cost grows with the
  inputs that moved.
* Up to :data:`EXACT_LIMIT` moving inputs, every subset is evaluated once (2ⁿ evaluations)
  and the shares are exact.
* Beyond that, the shares are averaged over :data:`SAMPLED_ORDERS` orders drawn with a fixed
  seed, each with its reverse (so the answer is the same on every run); every order's
  marginal effects add up to the whole change, so the estimate still adds up exactly.

Pure Python: no SQL, no Textual, no I/O.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from math import factorial

EXACT_LIMIT = 12
SAMPLED_ORDERS = 2048  # drawn orders; each is also walked in reverse
SEED = 20261207

Evaluate = Callable[[Mapping[str, float]], float]


def shapley(
    evaluate: Evaluate, before: Mapping[str, float], after: Mapping[str, float]
) -> dict[str, float]:
    """Each input's share of ``evaluate(after) - evaluate(before)``: every key of ``before``
    gets one (0.0 for an input that did not move). ``evaluate`` may raise; it is called
    with mixes of the two sets."""
    players = [name for name in before if after.get(name, before[name]) != before[name]]
    shares = dict.fromkeys(before, 0.0)
    if not players:
        return shares
    if len(players) <= EXACT_LIMIT:
        shares.update(_exact(evaluate, before, after, players))
    else:
        shares.update(_sampled(evaluate, before, after, players))
    return shares


def _mix(
    before: Mapping[str, float], after: Mapping[str, float], players: list[str], mask: int
) -> dict[str, float]:
    values = dict(before)
    for index, name in enumerate(players):
        if mask >> index & 1:
            values[name] = after[name]
    return values


def _exact(
    evaluate: Evaluate,
    before: Mapping[str, float],
    after: Mapping[str, float],
    players: list[str],
) -> dict[str, float]:
    n = len(players)
    worth = [evaluate(_mix(before, after, players, mask)) for mask in range(1 << n)]
    # The weight of a coalition of size s that player i joins: s! (n - s - 1)! / n!
    weight = [factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)]
    shares: dict[str, float] = {}
    for index, name in enumerate(players):
        bit = 1 << index
        total = 0.0
        for mask in range(1 << n):
            if not mask & bit:
                total += weight[mask.bit_count()] * (worth[mask | bit] - worth[mask])
        shares[name] = total
    return shares


def _sampled(
    evaluate: Evaluate,
    before: Mapping[str, float],
    after: Mapping[str, float],
    players: list[str],
) -> dict[str, float]:
    rng = random.Random(SEED)
    totals = dict.fromkeys(players, 0.0)
    walks = 0
    for _ in range(SAMPLED_ORDERS):
        order = players[:]
        rng.shuffle(order)
        for walk in (order, order[::-1]):
            values = dict(before)
            last = evaluate(values)
            for name in walk:
                values[name] = after[name]
                now = evaluate(values)
                totals[name] += now - last
                last = now
            walks += 1
    return {name: total / walks for name, total in totals.items()}
