"""The Shapley split of an expression's change among its inputs: by hand for a product and
a ratio, against a brute force over every order of the inputs, and beyond the exact limit
(sampled orders) still adding up, the same on every run."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping

import pytest

from intelligentos.domain.explain.shapley import EXACT_LIMIT, shapley
from intelligentos.domain.formula import Undefined, parse_formula


def product(values: Mapping[str, float]) -> float:
    return values["a"] * values["b"]


def test_a_product_shares_its_cross_term():
    # f = a·b from (2, 3) to (4, 5): 6 → 20, a change of 14.
    # φ_a = ((4 − 2)·3 + (4 − 2)·5)/2 = (6 + 10)/2 = 8;
    # φ_b = ((5 − 3)·2 + (5 − 3)·4)/2 = (4 + 8)/2 = 6; 8 + 6 = 14.
    shares = shapley(product, {"a": 2, "b": 3}, {"a": 4, "b": 5})
    assert shares == pytest.approx({"a": 8.0, "b": 6.0})


def test_a_ratio_adds_up_with_nothing_left_over():
    # f = a/b from (800, 100) to (1200, 120): 8 → 10.
    # φ_a = ((1200 − 800)/100 + (1200 − 800)/120)/2 = (4 + 10/3)/2 = 11/3;
    # φ_b = ((800/120 − 800/100) + (1200/120 − 1200/100))/2 = (−4/3 − 2)/2 = −5/3.
    formula = parse_formula("a / b")
    shares = shapley(formula.evaluate, {"a": 800, "b": 100}, {"a": 1200, "b": 120})
    assert shares == pytest.approx({"a": 11 / 3, "b": -5 / 3})
    assert sum(shares.values()) == pytest.approx(2.0)


def test_a_sum_gives_each_term_its_own_change():
    formula = parse_formula("100 + a - b + 2 * c")
    shares = shapley(formula.evaluate, {"a": 1, "b": 2, "c": 3}, {"a": 4, "b": 1, "c": 3.5})
    # a +3; b −1 subtracted: +1; c +0.5 doubled: +1.
    assert shares == pytest.approx({"a": 3.0, "b": 1.0, "c": 1.0})


def test_an_input_that_did_not_move_gets_nothing_and_is_not_evaluated():
    calls: list[dict[str, float]] = []

    def f(values: Mapping[str, float]) -> float:
        calls.append(dict(values))
        return values["a"] * values["b"] * values["c"]

    shares = shapley(f, {"a": 2, "b": 3, "c": 7}, {"a": 4, "b": 5, "c": 7})
    # c stays at 7: f = 7·a·b, so the shares are 7 × the product's (8, 6).
    assert shares == pytest.approx({"a": 56.0, "b": 42.0, "c": 0.0})
    assert shares["c"] == 0.0
    assert len(calls) == 4  # 2² subsets of the two that moved
    assert shapley(f, {"a": 1, "b": 1, "c": 1}, {"a": 1, "b": 1, "c": 1}) == {
        "a": 0.0,
        "b": 0.0,
        "c": 0.0,
    }


def brute_force(
    evaluate: Callable[[Mapping[str, float]], float],
    before: Mapping[str, float],
    after: Mapping[str, float],
) -> dict[str, float]:
    """Each input's marginal effect averaged over every order of the inputs (n! walks)."""
    names = list(before)
    totals = dict.fromkeys(names, 0.0)
    orders = list(itertools.permutations(names))
    for order in orders:
        values = dict(before)
        last = evaluate(values)
        for name in order:
            values[name] = after[name]
            now = evaluate(values)
            totals[name] += now - last
            last = now
    return {name: total / len(orders) for name, total in totals.items()}


@pytest.mark.parametrize(
    "text",
    [
        "a * b / (c + d)",
        "(a - b) * c * c / d",
        "max(a, b) * c - min(c, d)",
        "a / b - c / d",
    ],
)
def test_exact_matches_a_brute_force_over_every_order(text: str):
    formula = parse_formula(text)
    before = {"a": 3.0, "b": 2.0, "c": 5.0, "d": 4.0}
    after = {"a": 6.0, "b": 1.5, "c": 7.0, "d": 2.0}
    shares = shapley(formula.evaluate, before, after)
    assert shares == pytest.approx(brute_force(formula.evaluate, before, after), rel=1e-12)
    change = formula.evaluate(after) - formula.evaluate(before)
    assert sum(shares.values()) == pytest.approx(change, rel=1e-12)


def many(values: Mapping[str, float]) -> float:
    """A product of sums over 16 inputs: every input interacts with others."""
    names = sorted(values)
    total = 1.0
    for i in range(0, len(names), 2):
        total *= values[names[i]] + 2 * values[names[i + 1]]
    return total / 1e6


def test_beyond_the_exact_limit_the_sampled_split_adds_up_and_repeats():
    names = [f"x{i:02d}" for i in range(EXACT_LIMIT + 4)]
    before = {name: 1.0 + i / 10 for i, name in enumerate(names)}
    after = {name: 2.0 - i / 20 for i, name in enumerate(names)}
    shares = shapley(many, before, after)
    # Every sampled order's marginal effects add up to the whole change, so their mean does.
    assert sum(shares.values()) == pytest.approx(many(after) - many(before), rel=1e-9)
    # Seeded: the same split on every run.
    assert shapley(many, before, after) == shares
    assert all(math.isfinite(v) for v in shares.values())


def test_beyond_the_exact_limit_a_sum_is_still_split_exactly():
    names = [f"x{i:02d}" for i in range(20)]
    before = dict.fromkeys(names, 1.0)
    after = {name: 1.0 + i for i, name in enumerate(names)}
    shares = shapley(lambda v: sum(v.values()), before, after)
    # Linear: every order gives each input its own change.
    assert shares == pytest.approx({name: float(i) for i, name in enumerate(names)})


def test_an_undefined_mix_raises():
    formula = parse_formula("a / b")
    with pytest.raises(Undefined):
        # From (1, 0) to (2, 1): the mix with b still 0 divides by zero.
        shapley(formula.evaluate, {"a": 1, "b": 0}, {"a": 2, "b": 1})
