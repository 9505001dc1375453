"""`arrears score`, `arrears strategy`, `arrears experiment` and `arrears simulate strategy`."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table
from sqlmodel.ext.asyncio.session import AsyncSession

from arrears import audit, migrate
from arrears.analytics import loader
from arrears.analytics.behaviour import DEFAULT_MODEL, SCORECARD_MODEL, BehaviourModel, tilted
from arrears.db import Database, one_off_session
from arrears.embedded import EmbeddedPostgres
from arrears.runtime import Endpoints, embedded_stack, wait_for_temporal
from arrears.settings import Settings, get_settings
from arrears.strategy import (
    checks,
    experiments,
    results,
    scorecard,
    scoring,
    simulation,
    strategies,
)
from arrears.temporal import TemporalAccess
from models.enums import PolicyPack
from policies.strategy import Variant, VariantRefused

score_app = typer.Typer(help="The scorecard: train it, and score the open cases.", no_args_is_help=True)
strategy_app = typer.Typer(help="Strategies: versioned variants of a pack.", no_args_is_help=True)
experiment_app = typer.Typer(help="Champion/challenger experiments.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
ACTOR = audit.Actor("arrears-cli", "admin")
SEGMENT_ENGINE_WAIT = 10.0  # seconds `score run` waits for Temporal to send segments
T = TypeVar("T")


def _in_database(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction on the configured (or embedded) database."""
    settings = get_settings()
    with embedded_stack(settings, start_temporal=False) as endpoints:

        async def go() -> T:
            async with one_off_session(endpoints.database_url) as session:
                return await work(session)

        return asyncio.run(go())


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]{message}[/]")
    return typer.Exit(code)


# ---------------------------------------------------------------------------------- score
# The day a generated training portfolio ends on unless --until says otherwise: a fixed day, so
# the same size and seed rebuild the same model whenever they run.
GENERATED_UNTIL = date(2026, 11, 30)


@score_app.command("train")
def score_train(
    name: Annotated[str, typer.Option(help="The model's name; each training adds a version.")] = "scorecard",
    generated: Annotated[
        int,
        typer.Option(
            help="Train on a portfolio of this many loans generated into a PostgreSQL of its own"
            " (arrears.analytics.behaviour.SCORECARD_MODEL) instead of the servicer's history."
        ),
    ] = 0,
    months: Annotated[int, typer.Option(help="Months of history of the generated portfolio.")] = 24,
    seed: Annotated[int, typer.Option(help="Seed of the generated portfolio and the held-out split.")] = 1,
    until: Annotated[
        str | None,
        typer.Option(
            help="Train on cases observed 60 days before this day (by default today; for a"
            f" generated portfolio, its last day, {GENERATED_UNTIL.isoformat()})."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Also write the model and its card into this folder.")
    ] = None,
    stem: Annotated[
        str | None, typer.Option(help="The written files' name without .json/.md (by default NAME-vN).")
    ] = None,
    store: Annotated[bool, typer.Option(help="Store the version in the database and make it active.")] = True,
) -> None:
    """Train the scorecard on the servicer's history, or on a generated portfolio; write a
    versioned model with its card."""
    try:
        day = date.fromisoformat(until) if until else None
        if generated:
            model = _train_generated(
                name=name, loans=generated, months=months, seed=seed, until=day or GENERATED_UNTIL
            )
            if store:
                model = _in_database(lambda s: _store_generated(s, model))
        else:
            today = day or datetime.now(UTC).date()
            model = _in_database(lambda s: _train_stored(s, name=name, until=today, seed=seed, store=store))
    except (scorecard.ScorecardError, ValueError) as exc:
        raise _fail(str(exc)) from None
    for target, t in model.targets.items():
        m = t.metrics
        console.print(
            f"{target}: AUC {m['auc']:.3f}  Gini {m['gini']:.3f}  KS {m['ks']:.3f}"
            f"  (event rate {m['event_rate']:.2f})"
        )
    if out is not None:
        body, card = scorecard.write(model, out, stem)
        console.print(f"written {body} and its card {card}")
    console.print(f"scorecard {model.name} v{model.version} trained on {model.training_rows} cases")


def _train_generated(*, name: str, loans: int, months: int, seed: int, until: date) -> scorecard.ScoreModel:
    """Generate a portfolio into an embedded PostgreSQL of its own (removed afterwards), and
    train on its history as on a servicer's."""
    loader.check(loans=loans, months=months, seed=seed)
    with tempfile.TemporaryDirectory(prefix="arrears-training-") as folder:
        postgres = EmbeddedPostgres(Path(folder) / "pgdata", delete_on_stop=True)
        postgres.start()
        try:
            migrate.upgrade(postgres.ensure_database("arrears_training"))
            model = asyncio.run(
                _generate_and_train(
                    postgres.app_url("arrears_training"),
                    name=name,
                    loans=loans,
                    months=months,
                    seed=seed,
                    until=until,
                )
            )
        finally:
            postgres.stop()
    return replace(
        model,
        source=f"a generated portfolio of {loans:,} loans over {months} months to {until.isoformat()},"
        f" seed {seed}",
    )


async def _generate_and_train(
    url: str, *, name: str, loans: int, months: int, seed: int, until: date
) -> scorecard.ScoreModel:
    db = Database(url)
    try:
        with Progress(console=err, transient=True) as bar:
            job = bar.add_task(f"generating {loans:,} loans over {months} months", total=loans)
            await loader.generate(
                db,
                loans=loans,
                months=months,
                seed=seed,
                as_of=until,
                model=SCORECARD_MODEL,
                progress=lambda n: bar.advance(job, n),
            )
        async with db.session() as session:
            return await scoring.train_from_history(session, name=name, until=until, seed=seed)
    finally:
        await db.dispose()


async def _store_generated(session: AsyncSession, model: scorecard.ScoreModel) -> scorecard.ScoreModel:
    version = await scoring.next_version(session, model.name)
    versioned = replace(model, version=version)
    await scoring.store(session, versioned, actor=ACTOR)
    return versioned


async def _train_stored(
    session: AsyncSession, *, name: str, until: date, seed: int, store: bool
) -> scorecard.ScoreModel:
    model = await scoring.train_from_history(session, name=name, until=until, seed=seed)
    if store:
        await scoring.store(session, model, actor=ACTOR)
    return model


@score_app.command("run")
def score_run() -> None:
    """Score every open case; set its segment and shade of red; send each case whose segment moved
    to its run, whose early stage then follows that segment's cadence; warn when the population
    drifts. Exit 1 when some segments could not be sent (the scores are stored either way)."""
    settings = get_settings()
    with embedded_stack(settings, start_temporal=False) as endpoints:
        result, sends = asyncio.run(_score_and_send(settings, endpoints))
    console.print(
        f"{result.cases} open cases scored with {result.model}; PSI cure {result.psi.get('cure', 0):.3f},"
        f" roll {result.psi.get('roll', 0):.3f}"
    )
    if result.drift == "act":
        err.print("[red]population drift above 0.25: retrain the scorecard (arrears score train)[/]")
    elif result.drift == "watch":
        err.print("[yellow]population drift above 0.1: watch it[/]")
    if isinstance(sends, str):
        raise _fail(
            f"{len(result.changes)} scored segments not sent: {sends}; run `arrears score run` again once"
            " the worker runs"
        )
    if sends is not None:
        console.print(
            f"{len(result.changes)} cases scored into another segment: {sends.moved} moved,"
            f" {sends.unchanged} already in it, {sends.refused_total} refused, {sends.unreached} not reached"
        )
        for reason, count in sends.refused.most_common():
            console.print(f"  refused ({count}): {reason}", markup=False, highlight=False)
        if sends.unreached:
            raise _fail(f"{sends.unreached} case runs did not answer; run `arrears score run` again")


async def _score_and_send(
    settings: Settings, endpoints: Endpoints
) -> tuple[scoring.RunResult, scoring.SegmentSends | str | None]:
    """Score and commit; then, outside any transaction, send the moved segments to the case runs."""
    async with one_off_session(endpoints.database_url) as session:
        result = await scoring.run(session, actor=ACTOR)
    if not result.changes:
        return result, None
    try:
        client = await wait_for_temporal(
            endpoints.temporal_address,
            settings.temporal_namespace,
            SEGMENT_ENGINE_WAIT,
            access=TemporalAccess.from_settings(settings),
        )
    except RuntimeError as exc:
        return result, str(exc)
    return result, await scoring.send_segments(client, result)


@score_app.command("card")
def score_card() -> None:
    """Print the active model's card."""
    model = _in_database(scoring.active)
    console.print(scorecard.card(model), markup=False, highlight=False)


# ---------------------------------------------------------------------------------- strategy
def _variant(source: str) -> Variant:
    path = Path(source)
    return strategies.read(path) if path.suffix == ".json" else strategies.builtin(source)


@strategy_app.command("check")
def strategy_check(source: Annotated[str, typer.Argument(help="A JSON file, or a built-in name.")]) -> None:
    """Check a variant against its pack's legal minimums; exit 1 with every violation."""
    try:
        variant = strategies.check(_variant(source))
    except (strategies.StrategyError, VariantRefused) as exc:
        raise _fail(str(exc)) from None
    console.print(f"{variant.label} for {variant.pack.value} keeps every legal minimum of the pack")


@strategy_app.command("add")
def strategy_add(source: Annotated[str, typer.Argument(help="A JSON file, or a built-in name.")]) -> None:
    """Store a lawful variant as a version of its strategy."""
    try:
        variant = strategies.check(_variant(source))
        row = _in_database(lambda s: strategies.store(s, variant, actor=ACTOR))
    except (strategies.StrategyError, VariantRefused) as exc:
        raise _fail(str(exc)) from None
    console.print(f"stored {row.name}@v{row.version} for {row.policy_pack.value} ({row.sha256[:12]})")


# ---------------------------------------------------------------------------------- experiment
@experiment_app.command("start")
def experiment_start(
    name: Annotated[str, typer.Argument(help="The experiment's name (up to 30 characters).")],
    pack: Annotated[PolicyPack, typer.Option(help="The pack whose new cases are drawn.")],
    champion: Annotated[str, typer.Option(help="The champion strategy (name or name@vN, stored).")],
    challenger: Annotated[list[str], typer.Option(help="A challenger strategy; repeat for more.")],
    seed: Annotated[int, typer.Option(help="The draw's seed: recorded, and enough to replay it.")],
    max_dispute_rate: Annotated[float, typer.Option(help="Stop an arm above this dispute rate.")] = 0.05,
    max_complaint_rate: Annotated[float, typer.Option(help="Stop an arm above this complaint rate.")] = 0.02,
) -> None:
    """Start drawing the pack's new cases into the champion's and the challengers' arms."""

    async def work(session: AsyncSession) -> str:
        champ = await strategies.find(session, pack, champion)
        others = [await strategies.find(session, pack, c) for c in challenger]
        exp = await experiments.start(
            session,
            name=name,
            pack=pack,
            champion=champ,
            challengers=others,
            seed=seed,
            max_dispute_rate=max_dispute_rate,
            max_complaint_rate=max_complaint_rate,
            actor=ACTOR,
        )
        return f"experiment {exp.name} running for {pack.value}, seed {seed}, blocks of {exp.block_size}"

    try:
        console.print(_in_database(work))
    except (strategies.StrategyError, experiments.ExperimentError) as exc:
        raise _fail(str(exc)) from None


def _pct(low: float, value: float, high: float) -> str:
    return f"{value:.1%} [{low:.1%}, {high:.1%}]"


@experiment_app.command("report")
def experiment_report(
    name: str, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """Per-arm KPIs with 95% intervals, each challenger tested against the champion."""

    async def work(session: AsyncSession) -> list[results.ArmResult]:
        return await results.report(session, await experiments.find(session, name))

    try:
        arms = _in_database(work)
    except experiments.ExperimentError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        console.print_json(json.dumps([_arm_json(a) for a in arms]))
        return
    table = Table(
        "arm",
        "strategy",
        "status",
        "cases",
        "cure rate",
        "p",
        "collected/case",
        "p",
        "disputes",
        "complaints",
    )
    for a in arms:
        table.add_row(
            a.name + (" (champion)" if a.champion else ""),
            a.strategy,
            a.status.value,
            str(a.cases),
            _pct(a.cure.low, a.cure.value, a.cure.high),
            "" if a.p_cure is None else f"{a.p_cure:.3f}",
            f"{a.collected.value:,.2f} [{a.collected.low:,.2f}, {a.collected.high:,.2f}]",
            "" if a.p_collected is None else f"{a.p_collected:.3f}",
            _pct(a.dispute.low, a.dispute.value, a.dispute.high),
            _pct(a.complaint.low, a.complaint.value, a.complaint.high),
        )
    console.print(table)


def _arm_json(a: results.ArmResult) -> dict[str, Any]:
    return {
        "arm": a.name,
        "strategy": a.strategy,
        "champion": a.champion,
        "status": a.status.value,
        "cases": a.cases,
        "cure_rate": [a.cure.value, a.cure.low, a.cure.high],
        "p_cure": a.p_cure,
        "collected_per_case": [a.collected.value, a.collected.low, a.collected.high],
        "p_collected": a.p_collected,
        "dispute_rate": [a.dispute.value, a.dispute.low, a.dispute.high],
        "complaint_rate": [a.complaint.value, a.complaint.low, a.complaint.high],
        "stopped_reason": a.stopped_reason,
    }


@experiment_app.command("guard")
def experiment_guard(name: str) -> None:
    """Stop every arm whose dispute or complaint rate crossed its threshold."""

    async def work(session: AsyncSession) -> list[str]:
        return await results.guard(session, await experiments.find(session, name), actor=ACTOR)

    stopped = _in_database(work)
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "every arm within its guardrails")


# ---------------------------------------------------------------------------------- simulation
def _responses(pairs: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for pair in pairs:
        name, _, factor = pair.partition("=")
        try:
            out[name] = float(factor)
        except ValueError:
            raise _fail(f"--response {pair!r}: write strategy=factor, e.g. us-mild=1.1", 2) from None
    return out


def _model(responses: dict[str, float]) -> BehaviourModel:
    """The portfolio's behaviour model, with the cure odds of each named strategy's cases scaled."""
    arms = {name: tilted(DEFAULT_MODEL.roll_rates, cure=f) for name, f in responses.items()}
    return replace(DEFAULT_MODEL, arm_roll_rates=MappingProxyType(arms))


async def _simulate(
    variants: list[Variant], portfolio: simulation.Portfolio, days: int, model: BehaviourModel
) -> list[checks.Outcome]:
    costs = get_settings().collection_costs
    outcomes = []
    with Progress(console=console, transient=True) as bar:
        for v in variants:
            task = bar.add_task(f"{v.label}: {portfolio.cases} cases", total=days)

            def advance(n: int, task: TaskID = task) -> None:
                bar.advance(task, n)

            run = await simulation.run_strategy(v, portfolio, days=days, model=model, progress=advance)
            outcomes.append(checks.summarise(run, costs))
    return outcomes


def _side_by_side(outcomes: list[checks.Outcome]) -> Table:
    table = Table("", *(o.strategy for o in outcomes), title="simulation, side by side")
    for name in outcomes[0].kpis:
        values = [o.kpis[name] for o in outcomes]
        table.add_row(name, *(f"{v:.1%}" if name.endswith("rate") else f"{v:,.2f}" for v in values))
    for name in outcomes[0].cost:
        table.add_row(f"cost: {name}", *(f"{o.cost.get(name, 0):,.2f}" for o in outcomes))
    for i, check in enumerate(outcomes[0].checks):
        table.add_row(
            f"{check.rule} ({check.citation})",
            *(f"{len(o.checks[i].violations)} of {o.checks[i].checked}" for o in outcomes),
        )
    table.add_row("legal violations", *(str(o.violations) for o in outcomes))
    table.add_row("seconds", *(f"{o.seconds:.1f}" for o in outcomes))
    return table


def simulate_strategy(
    champion: Annotated[str, typer.Option(help="The champion: a built-in name or a JSON file.")],
    challenger: Annotated[list[str], typer.Option(help="A challenger (repeat for more).")],
    portfolio: Annotated[
        str, typer.Option(help="Generated cases of the strategies' pack: N or N:SEED.")
    ] = "200:1",
    days: Annotated[int, typer.Option(min=1, max=730, help="Days to simulate.")] = 180,
    response: Annotated[
        list[str] | None,
        typer.Option(help="Scale a strategy's cure odds in the behaviour model: name=factor."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the results as JSON.")] = None,
) -> None:
    """Run a generated portfolio through the real case workflow on the time-skipping server, once
    per strategy; KPIs, cost and every legal check side by side. Exit 1 on any violation."""
    try:
        variants = [strategies.check(_variant(s)) for s in (champion, *challenger)]
        book = simulation.Portfolio.parse(portfolio, variants[0].pack)
    except (strategies.StrategyError, VariantRefused, simulation.SimulationError) as exc:
        raise _fail(str(exc), 2) from None
    try:
        outcomes = asyncio.run(_simulate(variants, book, days, _model(_responses(response or []))))
    except simulation.SimulationError as exc:
        raise _fail(str(exc), 2) from None
    console.print(_side_by_side(outcomes))
    if out is not None:
        out.write_text(json.dumps([_outcome_json(o) for o in outcomes], indent=1))
    if any(o.violations for o in outcomes):
        raise _fail("a strategy broke a legal rule in the simulation: it cannot be promoted")


def _outcome_json(o: checks.Outcome) -> dict[str, Any]:
    return {
        "strategy": o.strategy,
        "cases": o.cases,
        "days": o.days,
        "kpis": o.kpis,
        "cost": {k: str(v) for k, v in o.cost.items()},
        "checks": [
            {"rule": c.rule, "citation": c.citation, "checked": c.checked, "violations": c.violations}
            for c in o.checks
        ],
        "seconds": o.seconds,
    }


@experiment_app.command("promote")
def experiment_promote(
    name: Annotated[str, typer.Argument(help="The experiment.")],
    arm: Annotated[
        str | None, typer.Option(help="The arm to promote; default: the significant winner.")
    ] = None,
    portfolio: Annotated[str, typer.Option(help="The simulation's generated cases: N or N:SEED.")] = "200:1",
    days: Annotated[int, typer.Option(min=1, max=730, help="Days to simulate.")] = 180,
) -> None:
    """Promote the winner in one step: simulate it on the real workflow, refuse it on any legal
    violation, else make it the pack's champion and end the experiment."""
    settings = get_settings()
    with embedded_stack(settings, start_temporal=False) as endpoints:

        async def go() -> str:
            async with one_off_session(endpoints.database_url) as session:
                exp = await experiments.find(session, name)
                found = await results.report(session, exp)
                chosen = next((r for r in found if r.name == arm), None) if arm else results.winner_of(found)
                if chosen is None:
                    raise results.PromotionRefused(f"experiment {name} has no arm {arm!r}")
                row = await strategies.find(session, exp.policy_pack, chosen.strategy)
                variant = strategies.variant_of(row)
                pack = exp.policy_pack
            book = simulation.Portfolio.parse(portfolio, pack)
            outcomes = await _simulate([variant], book, days, DEFAULT_MODEL)
            console.print(_side_by_side(outcomes))
            async with one_off_session(endpoints.database_url) as session:
                exp = await experiments.find(session, name)
                promoted = await results.promote(
                    session,
                    exp,
                    arm=chosen.name,
                    violations=checks.violations_by_strategy(outcomes),
                    actor=ACTOR,
                )
            return f"{promoted.strategy} is now the champion for {pack.value}; experiment {name} ended"

        try:
            console.print(asyncio.run(go()))
        except (experiments.ExperimentError, results.PromotionRefused, simulation.SimulationError) as exc:
            raise _fail(str(exc)) from None
