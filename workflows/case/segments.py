"""The payer segment the score sets: a score run sends each case the segment it scored, and the
early stage's cadence follows it, within the pack's rules.

The pack's own segmentation stays the floor: a case the pack puts on the strict track (two broken
promises, or first seen 60 or more days late) stays on it whatever the score says. The segment
only picks which of the pack's cadences the reminders follow; the pack's `early_steps` still
decide every day and letter, so no legal minimum moves.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.enums import CaseStage, Segment
    from policies import Rule
    from workflows.dto import ScoredSegment

from workflows.case.context import Case
from workflows.case.effects import Effects
from workflows.case.patches import SCORED_SEGMENT_PATCH

SEGMENT_RULE = Rule(
    "strategy.scored_segment",
    "servicing policy: the score sets the segment within the pack's rules; the pack's strict track stays",
)
SET_SCORED_SEGMENT = "set_scored_segment"  # the update's name
# Refusals a score run tells apart (the error's type): nothing to change, or not allowed.
UNCHANGED = "SegmentUnchanged"
REFUSED = "SegmentRefused"


def pack_segment(c: Case) -> Segment:
    """The segment the pack's own rules give the case today."""
    return c.pack.segment(broken_promises=c.m.broken_promises, days_past_due_at_open=c.inp.days_past_due)


def after_broken_promise(c: Case) -> Segment:
    """The segment once a promise is broken: the pack's strict track if it says so, else the scored
    segment where a score set one, else the pack's."""
    pack = pack_segment(c)
    if pack is Segment.BAD or c.m.scored_segment is None:
        return pack
    return c.m.scored_segment


class Segments:
    """The scored segment: taken, refused, and kept through a broken promise."""

    def __init__(self, c: Case, fx: Effects) -> None:
        self.c = c
        self.fx = fx

    def validate(self, scored: ScoredSegment) -> None:
        """Refuse what the case cannot take: closed, past the early stage, off the pack's strict
        track, or already in that segment."""
        c = self.c
        c.require_open()
        if c.m.stage is not CaseStage.EARLY:
            raise ApplicationError(
                f"the segment sets the early stage's cadence; the case is in {c.m.stage.value}", type=REFUSED
            )
        if pack_segment(c) is Segment.BAD and scored.segment is not Segment.BAD:
            raise ApplicationError(
                f"the pack puts the case on the strict track ({SEGMENT_RULE.id}): it stays bad, "
                f"not {scored.segment.value}",
                type=REFUSED,
            )
        if scored.segment is c.m.segment:
            raise ApplicationError(
                f"the case is already in the {scored.segment.value} segment", type=UNCHANGED
            )

    async def set(self, scored: ScoredSegment) -> str:
        """Move the early stage to the scored segment's cadence; the trail records the change."""
        c = self.c
        if not workflow.patched(SCORED_SEGMENT_PATCH):  # pragma: no cover (no history predates it)
            return "unchanged"
        before = c.m.segment
        c.m.segment = c.m.scored_segment = scored.segment
        c.version += 1
        await self.fx.record(
            key=f"segment.{scored.segment.value}.{len(c.m.actions)}",
            kind="segment",
            status="done",
            rule=SEGMENT_RULE,
            detail=(
                f"segment {before.value} -> {scored.segment.value}: scored by {scored.model} "
                f"v{scored.model_version}, run {scored.run_id}"
            ),
            collection=False,
            actor=scored.by,
            role=scored.role or "system",
        )
        return f"{before.value} -> {scored.segment.value}"
