"""Small exact statistics for accuracy figures: confidence intervals and paired/unpaired tests.

Pure Python (``math`` only); no SciPy.  Knows nothing about models, videos or files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # standard normal quantile for a two-sided 95% interval


@dataclass(frozen=True)
class Accuracy:
    """Accuracy of ``n`` scored items with its 95% Wilson interval."""

    n: int  # items scored
    correct: int  # items answered correctly
    accuracy: float  # correct / n (0.0 when n == 0)
    low: float  # lower end of the 95% Wilson score interval
    high: float  # upper end of the 95% Wilson score interval

    def as_dict(self) -> dict[str, float | int]:
        return {"n": self.n, "correct": self.correct, "accuracy": round(self.accuracy, 6),
                "ci95": [round(self.low, 6), round(self.high, 6)]}


def wilson_interval(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for ``correct`` successes out of ``n``.

    ``n == 0`` carries no information and gives the whole range ``(0.0, 1.0)``.

    >>> tuple(round(x, 4) for x in wilson_interval(8, 10))
    (0.4902, 0.9433)
    """
    if n < 0 or not 0 <= correct <= n:
        raise ValueError(f"need 0 <= correct <= n, got correct={correct}, n={n}")
    if n == 0:
        return 0.0, 1.0
    p = correct / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def accuracy(flags: list[bool] | tuple[bool, ...]) -> Accuracy:
    """``Accuracy`` of a sequence of correct/incorrect flags."""
    n = len(flags)
    k = sum(1 for f in flags if f)
    low, high = wilson_interval(k, n)
    return Accuracy(n=n, correct=k, accuracy=k / n if n else 0.0, low=low, high=high)


def binomial_two_sided(k: int, n: int) -> float:
    """Exact two-sided p-value of ``k`` successes in ``n`` fair coin flips (p = 1/2).

    Twice the smaller tail, capped at 1 (the tails are symmetric at p = 1/2).
    """
    if n == 0:
        return 1.0
    k = min(k, n - k)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Exact McNemar p-value for paired items.

    ``only_a``: items A got right and B wrong; ``only_b``: the reverse.  Under the null
    hypothesis (no difference) each discordant pair is a fair coin.
    """
    if only_a < 0 or only_b < 0:
        raise ValueError("discordant counts must be >= 0")
    return binomial_two_sided(only_a, only_a + only_b)


def two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """Pooled two-proportion z-test; returns ``(z, two-sided p)``.

    For unpaired results (different items).  Degenerate inputs (an empty side, or a pooled
    proportion of exactly 0 or 1) give ``(0.0, 1.0)``.
    """
    if n1 <= 0 or n2 <= 0:
        return 0.0, 1.0
    pooled = (k1 + k2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return 0.0, 1.0
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (k1 / n1 - k2 / n2) / se
    return z, math.erfc(abs(z) / math.sqrt(2.0))
