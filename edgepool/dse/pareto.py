# SPDX-License-Identifier: Apache-2.0
"""Pareto fronts of cost points (every objective is minimized)."""

from __future__ import annotations

from collections.abc import Sequence


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether ``a`` dominates ``b``: no worse in every objective and better in at least one."""
    if len(a) != len(b):
        raise ValueError(f"points of different dimension: {len(a)} vs {len(b)}")
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(
        x < y for x, y in zip(a, b, strict=True))


def pareto_front(points: Sequence[Sequence[float]]) -> list[int]:
    """Indices (ascending) of the points that no other point dominates. Equal points do not
    dominate each other: all copies of a non-dominated point are on the front.

    Sort-and-sweep: after sorting lexicographically, a point can only be dominated by one that
    comes before it, so each point is compared with the front found so far (O(n * front)).
    """
    order = sorted(range(len(points)), key=lambda i: (tuple(points[i]), i))
    front: list[int] = []
    for i in order:
        p = points[i]
        if not any(dominates(points[j], p) for j in front):
            front.append(i)
    return sorted(front)
