"""Counting requests per time window, as a rate-limited server does."""

from __future__ import annotations


def max_in_window(starts: list[float], width: float) -> int:
    """The most starts that fall in any window of ``width`` seconds (open on the left)."""
    ordered = sorted(starts)
    best, lo = 0, 0
    for hi, t in enumerate(ordered):
        while ordered[lo] <= t - width:
            lo += 1
        best = max(best, hi - lo + 1)
    return best
