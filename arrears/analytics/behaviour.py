"""The synthetic portfolio's behaviour model: the monthly roll rates it plants, by segment and
strategy arm, and the odds of every contact, promise and message outcome.

Tests and experiments plant signals here and read them back through the KPIs. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from arrears.analytics.types import BUCKETS, EXITED, FLOW_TO, Bucket
from models.enums import PolicyPack, Segment

# A row per origin bucket: the probability of each destination (a bucket's value or "exited")
# one month later. Every row sums to 1.
RollMatrix = Mapping[Bucket, Mapping[str, float]]


def roll_matrix(rows: Mapping[Bucket, Mapping[str, float]]) -> RollMatrix:
    """A checked, read-only roll matrix: every bucket has a row, every row sums to 1, every
    destination is a bucket or 'exited'; ValueError says which row is wrong."""
    checked: dict[Bucket, Mapping[str, float]] = {}
    for origin in BUCKETS:
        row = rows.get(origin)
        if row is None:
            raise ValueError(f"roll matrix: no row for bucket {origin.value}")
        unknown = set(row) - set(FLOW_TO)
        if unknown:
            raise ValueError(f"roll matrix: row {origin.value} has unknown destinations {sorted(unknown)}")
        if any(p < 0 for p in row.values()):
            raise ValueError(f"roll matrix: row {origin.value} has a negative probability")
        if abs(sum(row.values()) - 1.0) > 1e-9:
            raise ValueError(f"roll matrix: row {origin.value} sums to {sum(row.values()):.6f}, not 1")
        checked[origin] = MappingProxyType({to: float(row.get(to, 0.0)) for to in FLOW_TO})
    return MappingProxyType(checked)


B = Bucket
# Monthly roll rates of a consumer and mortgage book, as collections teams see them: most
# current loans stay current; the first missed payment mostly cures; each later bucket cures
# less and rolls on more; 120+ is worked out (foreclosure, charge-off, settlement).
BASE_ROLL_RATES: RollMatrix = roll_matrix(
    {
        B.CURRENT: {"current": 0.967, "1-29": 0.03, EXITED: 0.003},
        B.D1_29: {"current": 0.55, "1-29": 0.15, "30-59": 0.30},
        B.D30_59: {"current": 0.30, "1-29": 0.10, "30-59": 0.15, "60-89": 0.45},
        B.D60_89: {"current": 0.15, "30-59": 0.05, "60-89": 0.15, "90-119": 0.65},
        B.D90_119: {"current": 0.08, "90-119": 0.12, "120+": 0.78, EXITED: 0.02},
        B.D120_PLUS: {"current": 0.04, "120+": 0.86, EXITED: 0.10},
    }
)


def tilted(matrix: RollMatrix, *, cure: float) -> RollMatrix:
    """The matrix with every delinquent row's cure (to current) scaled by `cure`, the rest of
    the row rescaled to keep its sum: >1 a better-paying group, <1 a worse one."""
    rows: dict[Bucket, dict[str, float]] = {}
    for origin, row in matrix.items():
        if origin is Bucket.CURRENT:
            rows[origin] = dict(row)
            continue
        cured = min(1.0, row["current"] * cure)
        rest = 1.0 - row["current"]
        scale = (1.0 - cured) / rest if rest else 0.0
        rows[origin] = {to: (cured if to == "current" else p * scale) for to, p in row.items()}
        # keep the sum exact after floating-point scaling
        drift = 1.0 - sum(rows[origin].values())
        rows[origin]["current"] += drift
    return roll_matrix(rows)


@dataclass(frozen=True, slots=True)
class Outcomes:
    """Contact, promise and message odds per month of an open case."""

    calls_per_month: tuple[int, int] = (0, 3)  # attempts, inclusive range
    # a call's outcome: reached is a right-party contact; wrong_number reached someone else
    call_outcomes: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(
            {
                "reached": 0.35,
                "no_answer": 0.35,
                "left_message": 0.2,
                "wrong_number": 0.05,
                "not_connected": 0.05,
            }
        )
    )
    promise_given_reached: float = 0.45  # a right-party contact ends in a promise to pay
    messages_per_month: tuple[int, int] = (1, 2)
    message_failed: float = 0.03  # the channel refused it for good
    delivered: float = 0.95  # of e-mail and SMS sent
    clicked: Mapping[Segment, float] = field(
        default_factory=lambda: MappingProxyType(
            {Segment.GOOD: 0.3, Segment.FORGETFUL: 0.25, Segment.BAD: 0.1}
        )
    )
    viewed_given_clicked: float = 0.8
    loss_mitigation_per_month: float = 0.25  # a US mortgage 30-89 days past due applies
    acknowledgment_late: float = 0.1  # the acknowledgment goes out after 5 business days
    evaluation_late: float = 0.15  # the evaluation is decided after 30 days
    modified_given_cure_in_loss_mitigation: float = 0.6
    recovery_per_month: float = 0.1  # a payment after charge-off or settlement
    recovery_share: float = 0.03  # of the balance closed


@dataclass(frozen=True, slots=True)
class BehaviourModel:
    """What the generator plants. Roll rates: per segment (else `roll_rates`), overridden per
    strategy arm while a case in that arm is open."""

    roll_rates: RollMatrix = field(default_factory=lambda: BASE_ROLL_RATES)
    segment_roll_rates: Mapping[Segment, RollMatrix] = field(
        default_factory=lambda: MappingProxyType(
            {
                Segment.GOOD: tilted(BASE_ROLL_RATES, cure=1.25),
                Segment.FORGETFUL: BASE_ROLL_RATES,
                Segment.BAD: tilted(BASE_ROLL_RATES, cure=0.5),
            }
        )
    )
    segment_mix: Mapping[Segment, float] = field(
        default_factory=lambda: MappingProxyType(
            {Segment.GOOD: 0.6, Segment.FORGETFUL: 0.25, Segment.BAD: 0.15}
        )
    )
    pack_mix: Mapping[PolicyPack, float] = field(
        default_factory=lambda: MappingProxyType(
            {
                PolicyPack.US_MORTGAGE: 0.4,
                PolicyPack.NL_CONSUMER: 0.25,
                PolicyPack.SE_CONSUMER: 0.2,
                PolicyPack.BE_CONSUMER: 0.15,
            }
        )
    )
    # the buckets loans start in, the month before the first simulated month
    initial_buckets: Mapping[Bucket, float] = field(
        default_factory=lambda: MappingProxyType(
            {
                B.CURRENT: 0.9,
                B.D1_29: 0.04,
                B.D30_59: 0.02,
                B.D60_89: 0.015,
                B.D90_119: 0.01,
                B.D120_PLUS: 0.015,
            }
        )
    )
    # The share of the principal still owed when the first simulated month begins, drawn
    # uniformly from the segment's range (else `balance_left`). Equal ranges plant nothing; a
    # good segment that has repaid more than a bad one is a signal the scorecard's `paid_down`
    # can see (SCORECARD_MODEL below).
    balance_left: tuple[float, float] = (0.4, 0.95)
    segment_balance_left: Mapping[Segment, tuple[float, float]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    arms: tuple[str, ...] = ()  # strategy arms loans are assigned to, evenly at random; their cases carry it
    arm_roll_rates: Mapping[str, RollMatrix] = field(default_factory=lambda: MappingProxyType({}))
    outcomes: Outcomes = field(default_factory=Outcomes)

    def __post_init__(self) -> None:
        ranges = {
            "balance_left": self.balance_left,
            **{f"segment_balance_left[{s.value}]": r for s, r in self.segment_balance_left.items()},
        }
        for name, (lo, hi) in ranges.items():
            if not 0.0 <= lo <= hi <= 1.0:
                raise ValueError(f"{name}: a range of shares 0 <= low <= high <= 1, not ({lo}, {hi})")

    def owed_share(self, segment: Segment) -> tuple[float, float]:
        """The range a loan of `segment` draws the share of its principal still owed from."""
        return self.segment_balance_left.get(segment, self.balance_left)

    def matrix(self, segment: Segment, arm: str | None) -> RollMatrix:
        """The roll rates a loan of `segment` follows this month (its open case in `arm`)."""
        if arm is not None and arm in self.arm_roll_rates:
            return self.arm_roll_rates[arm]
        return self.segment_roll_rates.get(segment, self.roll_rates)

    def uniform(self, matrix: RollMatrix) -> BehaviourModel:
        """This model with one roll matrix for every segment (and no arm overrides)."""
        return replace(
            self,
            roll_rates=matrix,
            segment_roll_rates=MappingProxyType({s: matrix for s in Segment}),
            arm_roll_rates=MappingProxyType({}),
        )


DEFAULT_MODEL = BehaviourModel()


def falling_behind(matrix: RollMatrix, rate: float) -> RollMatrix:
    """The matrix with a current loan's monthly move to 1-29 days past due set to `rate` (its
    exits unchanged, staying current taking the rest)."""
    current = dict(matrix[Bucket.CURRENT])
    exits = current.get(EXITED, 0.0)
    if not 0.0 <= rate <= 1.0 - exits:
        raise ValueError(f"falling behind: a monthly rate between 0 and {1.0 - exits}, not {rate}")
    rows = {origin: dict(row) for origin, row in matrix.items()}
    rows[Bucket.CURRENT] = {**current, Bucket.D1_29.value: rate, Bucket.CURRENT.value: 1.0 - exits - rate}
    return roll_matrix(rows)


# The portfolio the shipped scorecard is trained on (arrears score train --generated): the
# segments stay hidden, as a servicer never sees them, but differ more than the default's and
# show in what the servicer does see. Good borrowers have repaid more of their loans, fall
# behind less often (2% a month) and cure 1.6x the base rates; bad ones owe nearly all of it,
# fall behind 6% a month and cure a quarter of the base rates.
SCORECARD_MODEL = replace(
    DEFAULT_MODEL,
    segment_roll_rates=MappingProxyType(
        {
            Segment.GOOD: falling_behind(tilted(BASE_ROLL_RATES, cure=1.6), 0.02),
            Segment.FORGETFUL: falling_behind(BASE_ROLL_RATES, 0.03),
            Segment.BAD: falling_behind(tilted(BASE_ROLL_RATES, cure=0.25), 0.06),
        }
    ),
    segment_balance_left=MappingProxyType({Segment.GOOD: (0.2, 0.7), Segment.BAD: (0.75, 1.0)}),
)
