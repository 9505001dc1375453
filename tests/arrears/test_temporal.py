"""The Temporal client and worker as the processes build them."""

from __future__ import annotations

import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest
from temporalio.client import Client

from arrears.db import Database
from arrears.temporal import build_worker


@pytest.mark.parametrize("limit", [None, 7, 250])
async def test_the_activity_pool_has_a_thread_for_every_activity_slot(
    dev_client: Client, db: Database, limit: int | None
) -> None:
    # A smaller pool would queue sync activities (PDF rendering) behind each other while their
    # start-to-close timeouts run, and the SDK warns about it at every start.
    queue = f"pool-{uuid.uuid4()}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if limit is None:
            worker = build_worker(dev_client, db, task_queue=queue)
        else:
            worker = build_worker(dev_client, db, task_queue=queue, max_activities=limit)
    config = worker.config()
    executor = config.get("activity_executor")
    assert isinstance(executor, ThreadPoolExecutor)
    slots = config.get("max_concurrent_activities")
    assert slots == (limit or 100)
    assert executor._max_workers >= slots
    assert not [w for w in caught if "max_workers" in str(w.message)]
