"""The 抽查 sample: a seeded, optionally stratified draw anyone can recompute.

Algorithm (docs/decisions.md): the population is a list of (evaluation id, stratum). Within
each stratum, members are ranked by HMAC-SHA256(key = seed, message = evaluation id) as hex,
ascending; the first round_half_up(share × stratum size) are drawn. The sample is the drawn ids,
sorted. The same seed, share and population give the same sample on any machine; each
stratum's share is exact to within half a package (so within one).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

ALL = "全部"  # the one stratum of an unstratified draw
NO_GRADE = "无等级"  # the stratum of a report without a grade


def rank_key(seed: str, evaluation_id: str) -> str:
    """HMAC-SHA256(seed, id) as hex: the order within a stratum."""
    return hmac.new(seed.encode("utf-8"), evaluation_id.encode("utf-8"), hashlib.sha256).hexdigest()


def stratum_quota(share: Decimal, size: int) -> int:
    """round_half_up(share × size): how many of a stratum are drawn."""
    return int((share * size).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Draw:
    """A drawn sample: per stratum its size and quota, and the ids drawn (sorted)."""

    strata: dict[str, tuple[int, int]]
    drawn: list[str]


def draw(seed: str, share: Decimal, population: list[tuple[str, str]]) -> Draw:
    """The sample of `population` [(id, stratum)], `share` in [0, 1]."""
    if not Decimal(0) <= share <= Decimal(1):
        raise ValueError(f"share must be between 0 and 1, not {share}")
    if not seed:
        raise ValueError("a sample needs a seed")
    ids = [i for i, _ in population]
    if len(set(ids)) != len(ids):
        raise ValueError("an evaluation appears twice in the population")
    members: dict[str, list[str]] = {}
    for evaluation_id, stratum in population:
        members.setdefault(stratum, []).append(evaluation_id)
    strata: dict[str, tuple[int, int]] = {}
    drawn: list[str] = []
    for stratum in sorted(members):
        ranked = sorted(members[stratum], key=lambda i: (rank_key(seed, i), i))
        quota = stratum_quota(share, len(ranked))
        strata[stratum] = (len(ranked), quota)
        drawn.extend(ranked[:quota])
    return Draw(strata, sorted(drawn))
