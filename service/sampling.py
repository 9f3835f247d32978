"""Draw a season's 抽查 sample from the stored evaluations and record it in the audit chain.

The draw itself is `engine.sampling.draw` (seeded, stratified, documented). The `sampled` event
records the seed, the share, the strata and the whole population with each member's stratum,
and the ids drawn, so `jixiao audit verify` can recompute the draw and detect any change.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.sampling import ALL, NO_GRADE, draw
from service import audit
from service.audit import Actor
from service.store import Evaluation, Event, Store

Strata = Literal["grade"] | None
NO_RUBRIC = ("", "", "")  # a sample spans evaluations; its event names no one rubric


class SampleError(ValueError):
    """A sample that cannot be drawn as asked (bad share, empty seed, no evaluations)."""


def _stratum(ev: Evaluation, strata: Strata) -> str:
    if strata is None:
        return ALL
    total = json.loads(ev.current_report).get("total") or {}
    return str(total.get("grade") or NO_GRADE)


def population(session: Session, year: int, strata: Strata) -> list[tuple[str, str]]:
    """Every stored evaluation of the fiscal year, oldest first, with its stratum (withdrawn
    evaluations have left the season and are not drawn)."""
    rows = session.scalars(
        select(Evaluation)
        .where(Evaluation.fiscal_year == year, Evaluation.withdrawn_at.is_(None))
        .order_by(Evaluation.seq)
    )
    return [(ev.id, _stratum(ev, strata)) for ev in rows]


def draw_sample(
    store: Store, actor: Actor, at: str, *, year: int, share: str, seed: str, strata: Strata
) -> dict[str, Any]:
    """Draw and record the sample in one transaction; the event's payload is returned."""
    try:
        fraction = Decimal(share)
    except InvalidOperation:
        raise SampleError(f"share must be a number between 0 and 1, not {share!r}") from None
    with store.write() as session:
        members = population(session, year, strata)
        if not members:
            raise SampleError(f"no stored evaluations for fiscal year {year}")
        try:
            result = draw(seed, fraction, members)
        except ValueError as exc:
            raise SampleError(str(exc)) from None
        sample_id = str(uuid.uuid4())
        payload = {
            "fiscal_year": year,
            "share": str(fraction),
            "seed": seed,
            "strata": strata,
            "population": [list(m) for m in members],
            "quotas": {k: {"size": n, "drawn": q} for k, (n, q) in result.strata.items()},
            "drawn": result.drawn,
        }
        audit.append(
            session,
            evaluation_id=sample_id,
            kind="sampled",
            actor=actor,
            at=at,
            rubric=NO_RUBRIC,
            payload=payload,
        )
    return {"id": sample_id, "at": at, **payload}


def latest_sample(session: Session, year: int) -> dict[str, Any] | None:
    """The newest sample drawn for a fiscal year (its event payload and id), if any."""
    newest = None
    for event in session.scalars(
        # Lanes number their events separately: the newest draw is the latest `at`.
        select(Event).where(Event.kind == "sampled").order_by(Event.at.desc(), Event.seq.desc())
    ):
        payload = json.loads(event.payload)
        if payload.get("fiscal_year") == year:
            newest = {"id": event.evaluation_id, "at": event.at, **payload}
            break
    return newest
