"""Patch IDs and generation markers of the case workflow: recorded in histories, never renamed.

A run started on this code records one marker, the newest of `GENERATIONS`, and takes every
patch below as applied: each marker also upserts a search attribute, two history events a patch
per case. A run keeps the generation it started on (`Case.generation`) to its end.
"""

from __future__ import annotations

DOCUMENTS_PATCH = "documents-and-messages"
# Row writes (stage, action, task, payment, closure) run as local activities: one marker event
# each instead of three events and a workflow task of their own. Runs started before keep
# scheduling them as activities until the patch marker is recorded.
LOCAL_WRITES_PATCH = "row-writes-as-local-activities"
EBA_DEFAULT_PATCH = "eba-default-definition"
CCD2_ASSESSMENT_PATCH = "ccd2-forbearance-assessment"
OFFER_ACCEPTANCE_PATCH = "offer-acceptance-window"
AT_OPENING_PATCH = "reg-f-validation-and-continuity-of-contact"
ESCALATE_OVERDUE_PATCH = "escalate-overdue-task"
SCRA_RATE_CAP_PATCH = "scra-rate-cap"
# The 14-dagenbrief's last day from receipt on a delivery day, moved off weekends and holidays.
# Not in the generations' "every patch above": runs record it themselves (workflow.patched).
NL_LETTER_RECEIPT_PATCH = "nl-letter-period-from-receipt"

GENERATIONS = (
    "case-2026-11",  # 1: every patch above
    # 2: a step's send writes the step's audit record (no record_action of its own); search
    # attributes upserted only when one changed
    "case-2026-11.2",
    # 3: no change of its own: the line from which runs carry the due schedule, the Reg F call
    # log, early intervention in bankruptcy and the Belgian pack (each still marked below)
    "case-2026-12",
)
CURRENT_CODE_PATCH = GENERATIONS[-1]

# Patches after the generations: each marked by `workflow.patched` itself, where its change applies.
# 11 U.S.C. 362(c)(3) lapses a repeat filer's stay only in a chapter 7, 11 or 13 case; runs that
# recorded a chapter 12 filing before keep the 30-day lapse they scheduled.
STAY_CHAPTER_PATCH = "stay-lapse-by-chapter"
# The 60 kr påminnelseavgift, charged with the first reminder where the loan records the agreement.
REMINDER_FEE_PATCH = "se-reminder-fee-where-agreed"
# Days past due from the due schedule: payments to the oldest unpaid instalment, the delinquency
# from the oldest still unpaid (12 CFR 1024.31). Runs without the marker count from the reported day.
DUE_SCHEDULE_PATCH = "dpd-from-due-schedule"
# Reg F call frequency (12 CFR 1006.14(b)(2)): calls staff place are counted per case and the case
# row shows the next allowed call. Runs record the marker with the first contact after it.
REG_F_CALLS_PATCH = "reg-f-call-frequency"
# Early intervention in bankruptcy (12 CFR 1024.39(c)): the modified written notice during a
# chapter 12 or 13 stay, and the obligations resumed after the next due date once it is dismissed.
BANKRUPTCY_EARLY_INTERVENTION_PATCH = "early-intervention-in-bankruptcy"
# US early intervention keyed by due date (12 CFR 1024.39(a), (b)): a live contact by its payment due
# date, a written notice by the delinquency's start, planned again when a payment moves the start.
# Runs without the marker number them from the start and plan them once per stage.
EI_BY_DUE_DATE_PATCH = "early-intervention-by-due-date"
# A case started with a strategy variant (an experiment's arm) is worked under it: the variant's
# cadence, channel order, tone and letter days, within the pack's legal minimums.
STRATEGY_VARIANT_PATCH = "strategy-variant"
# The monthly reports workflow (workflows/reports.py) adds the KPI report after the regulator
# reports; runs that started before generate the four kinds they began with.
KPI_REPORT_PATCH = "monthly-kpi-report"
# Early intervention follows the bankruptcy case, not the stay (12 CFR 1024.39(c)): the written notice
# exempt or modified by the plan's and the court's facts whatever the chapter, live contact exempt
# until the case is dismissed, closed or discharged, and both resumed after the next due date then.
# Runs without the marker decide by chapter and resume at once after relief from the stay.
BANKRUPTCY_CASE_PATCH = "early-intervention-until-bankruptcy-case-ends"
# A call staff placed over the Reg F call frequency (12 CFR 1006.14(b)(2)) is recorded under that rule
# and flagged, not refused: it happened. Runs without the marker refused it (no history event).
REG_F_OVER_PRESUMPTION_PATCH = "reg-f-call-over-presumption-recorded"
# The Belgian pack as its text reads: the VII.106 penalty capped on the balance, the VII.105 notice
# only once the default reaches the threshold (checked again on its day), and the XIX.2 period from
# the working day after an e-mail. Runs without the marker keep what they planned.
BE_BY_THE_TEXT_PATCH = "be-consumer-by-the-text"
# A score run's segment (`set_scored_segment`) sets the early stage's cadence within the pack's rules:
# the remaining reminders planned again for it, a broken promise keeping it unless the pack says bad.
SCORED_SEGMENT_PATCH = "scored-segment"
# A strategy variant's reminder fee (below the pack's, or none) is what the first reminder charges.
# Runs without the marker charge the pack's own fee, as they did.
VARIANT_REMINDER_FEE_PATCH = "variant-reminder-fee"
