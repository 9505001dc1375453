"""Temporal client and worker construction, configured from settings."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode, TLSConfig
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.cases import CaseActivities
from activities.messages import MessageActivities
from activities.printing import PrintActivities
from activities.reports import ReportActivities
from activities.tasks import TaskActivities
from arrears.channels import NO_CHANNELS, Channels
from arrears.db import Database
from arrears.settings import Settings
from workflows import search
from workflows.case import CaseWorkflow
from workflows.printing import PRINT_SCHEDULE_ID, PrintBatchWorkflow
from workflows.reports import REPORT_SCHEDULE_ID, MonthlyReportsWorkflow

# Sandbox-safe modules shared with workflows are imported once, not per workflow run.
PASSTHROUGH = (
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "models.enums",
    "policies",
    "workflows",
)


async def ensure_search_attributes(client: Client) -> list[str]:
    """Register any of our search attributes the namespace lacks; return the names added."""
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        known = set(existing.custom_attributes) | set(existing.system_attributes)
    except RPCError as exc:
        if exc.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        known = set()  # the time-skipping test server can add attributes but not list them
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type)
        for key in search.ALL
        if key.name not in known
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)


@dataclass(frozen=True, slots=True)
class TemporalAccess:
    """How a client reaches the frontend: TLS (mutual, with a client certificate) and an API key."""

    tls: TLSConfig | bool = False
    api_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> TemporalAccess:
        """The one place the TLS files and the API key are read; worker, API and CLI connect with it.

        An API key turns TLS on by itself (the system's CAs unless TEMPORAL_TLS_CA): a key sent in
        clear text would be a key given away. The settings refuse TEMPORAL_TLS=false beside one.
        """
        api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
        if not settings.temporal_tls_enabled:
            return cls(tls=False, api_key=None)

        def read(path: Path | None) -> bytes | None:
            return path.read_bytes() if path is not None else None

        return cls(
            tls=TLSConfig(
                server_root_ca_cert=read(settings.temporal_tls_ca),
                client_cert=read(settings.temporal_tls_cert),
                client_private_key=read(settings.temporal_tls_key),
                domain=settings.temporal_tls_server_name,
            ),
            api_key=api_key,
        )


PLAIN = TemporalAccess()  # the embedded dev server and the test servers


async def connect(address: str, namespace: str, access: TemporalAccess = PLAIN) -> Client:
    """A client that speaks pydantic models on the wire, over TLS when `access` says so."""
    return await Client.connect(
        address,
        namespace=namespace,
        data_converter=pydantic_data_converter,
        tls=access.tls,
        api_key=access.api_key,
    )


def sandbox_runner() -> SandboxedWorkflowRunner:
    """The workflow sandbox every worker runs, with the modules it shares with the host."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )


def build_worker(
    client: Client,
    db: Database,
    *,
    task_queue: str,
    channels: Channels = NO_CHANNELS,
    servicer: dict[str, str] | None = None,
    max_activities: int = 100,
    max_cached_workflows: int = 2000,
    max_workflow_tasks: int = 100,
) -> Worker:
    """One worker that runs every case workflow and activity; unset channels send letters."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[CaseWorkflow, PrintBatchWorkflow, MonthlyReportsWorkflow],
        activities=[
            *CaseActivities(db).all(),
            *TaskActivities(db).all(),
            *MessageActivities(db, channels, servicer=servicer).all(),
            *PrintActivities(db).all(),
            *ReportActivities(db, servicer=(servicer or {}).get("name", "Arrears Servicing")).all(),
        ],
        workflow_runner=sandbox_runner(),
        # A thread per activity slot: a smaller pool would queue sync activities behind each
        # other while their timeouts run (and the SDK warns about it).
        activity_executor=ThreadPoolExecutor(max_workers=max_activities, thread_name_prefix="activity"),
        max_concurrent_activities=max_activities,
        max_cached_workflows=max_cached_workflows,
        max_concurrent_workflow_tasks=max_workflow_tasks,
    )


async def ensure_schedules(client: Client, *, task_queue: str) -> list[str]:
    """Create the schedules the namespace lacks; return the IDs created.

    The daily print batch at 02:00 UTC, and the monthly reports at 04:00 UTC on the 1st (for the
    month just ended). Both show in the Temporal UI, where they can be paused or triggered.
    """
    wanted = {
        PRINT_SCHEDULE_ID: ScheduleActionStartWorkflow(
            PrintBatchWorkflow.run, id="print-batch", task_queue=task_queue
        ),
        REPORT_SCHEDULE_ID: ScheduleActionStartWorkflow(
            MonthlyReportsWorkflow.run, id="monthly-reports", task_queue=task_queue
        ),
    }
    cron = {PRINT_SCHEDULE_ID: "0 2 * * *", REPORT_SCHEDULE_ID: "0 4 1 * *"}
    created = []
    for schedule_id, action in wanted.items():
        try:
            await client.get_schedule_handle(schedule_id).describe()
            continue
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
        await client.create_schedule(
            schedule_id,
            Schedule(
                action=action,
                spec=ScheduleSpec(cron_expressions=[cron[schedule_id]]),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            ),
        )
        created.append(schedule_id)
    return created
