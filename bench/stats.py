"""Percentiles as the benchmarks print them (nearest-rank, no interpolation)."""

from __future__ import annotations

import math


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: list[float], unit: str = "ms") -> str:
    return (f"n={len(values)} p50={percentile(values, 50):.3f}{unit} p95={percentile(values, 95):.3f}{unit} "
            f"p99={percentile(values, 99):.3f}{unit} max={max(values):.3f}{unit}")
