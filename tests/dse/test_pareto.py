# SPDX-License-Identifier: Apache-2.0
"""Pareto front: hand-checked cases and properties on random cost points."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgepool.dse.pareto import dominates, pareto_front


def test_dominates_by_hand() -> None:
    assert dominates((1, 2), (2, 2)) and dominates((1, 1), (2, 3))
    assert not dominates((1, 2), (1, 2))                 # equal: no strict improvement
    assert not dominates((1, 3), (2, 2)) and not dominates((2, 2), (1, 3))
    with pytest.raises(ValueError):
        dominates((1,), (1, 2))


def test_front_by_hand() -> None:
    pts = [(3.0, 1.0), (1.0, 3.0), (2.0, 2.0), (2.5, 2.5), (1.0, 3.0), (4.0, 0.5), (5.0, 5.0)]
    # (2.5, 2.5) is dominated by (2, 2); (5, 5) by everything; the duplicate (1, 3) stays
    assert pareto_front(pts) == [0, 1, 2, 4, 5]
    assert pareto_front([]) == []


points = st.lists(st.tuples(*[st.integers(0, 6)] * 3), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(points)
def test_front_is_exactly_the_non_dominated_set(pts: list[tuple[int, int, int]]) -> None:
    front = pareto_front(pts)
    assert front == sorted(set(front))
    on = set(front)
    for i in front:                                      # nothing dominates a front point
        assert not any(dominates(pts[j], pts[i]) for j in range(len(pts)))
    for i in set(range(len(pts))) - on:                  # every other point is dominated ...
        assert any(dominates(pts[j], pts[i]) for j in front)   # ... by a point on the front


@settings(max_examples=100, deadline=None)
@given(points, st.randoms(use_true_random=False))
def test_front_does_not_depend_on_order(pts: list[tuple[int, int, int]], rnd) -> None:
    perm = list(range(len(pts)))
    rnd.shuffle(perm)
    shuffled = [pts[i] for i in perm]
    assert sorted(pts[i] for i in pareto_front(pts)) == \
        sorted(shuffled[i] for i in pareto_front(shuffled))
