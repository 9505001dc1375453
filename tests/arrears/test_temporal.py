"""The Temporal client and worker as the processes build them."""

from __future__ import annotations

import time
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest
from temporalio.client import Client
from temporalio.service import TLSConfig

from arrears.db import Database
from arrears.embedded import TemporalDevServer
from arrears.runtime import Endpoints, services, wait_for_temporal
from arrears.settings import Settings
from arrears.temporal import TemporalAccess, build_worker, connect
from tests.tls import Pki, TlsFront, make_pki

API_KEY = "an-api-key-that-must-never-travel-in-clear-text"


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


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _tls_settings(settings: Settings, address: str, **tls: object) -> Settings:
    """The test settings, pointed at `address` with TLS settings validated as the environment's would be."""
    fields = settings.model_dump(exclude={"temporal_address"}) | {"temporal_address": address} | tls
    return Settings(_env_file=None, **fields)


def test_the_access_carries_the_files_and_the_key(settings: Settings, pki: Pki) -> None:
    mtls = TemporalAccess.from_settings(
        _tls_settings(
            settings,
            "temporal.internal:7233",
            temporal_tls_cert=pki.client_cert,
            temporal_tls_key=pki.client_key,
            temporal_tls_ca=pki.ca,
            temporal_tls_server_name="temporal",
        )
    )
    assert mtls.tls == TLSConfig(
        server_root_ca_cert=pki.ca.read_bytes(),
        client_cert=pki.client_cert.read_bytes(),
        client_private_key=pki.client_key.read_bytes(),
        domain="temporal",
    )
    assert mtls.api_key is None

    keyed = TemporalAccess.from_settings(
        _tls_settings(settings, "ns.acct.tmprl.cloud:7233", temporal_api_key=API_KEY)
    )
    assert keyed.api_key == API_KEY
    assert keyed.tls == TLSConfig()  # on, with the system's CAs: the key never goes in clear text
    assert API_KEY not in repr(keyed)

    assert TemporalAccess.from_settings(settings) == TemporalAccess(tls=False, api_key=None)


async def test_mtls_reaches_the_cluster_only_with_a_client_certificate(
    settings: Settings, dev_server: TemporalDevServer, pki: Pki
) -> None:
    async with TlsFront(pki, dev_server.port, require_client_cert=True) as front:
        mtls = _tls_settings(
            settings,
            front.address,
            temporal_tls_cert=pki.client_cert,
            temporal_tls_key=pki.client_key,
            temporal_tls_ca=pki.ca,
        )
        client = await wait_for_temporal(front.address, "default", access=TemporalAccess.from_settings(mtls))
        await client.count_workflows()
        assert front.handshakes >= 1

        no_cert = TemporalAccess.from_settings(_tls_settings(settings, front.address, temporal_tls_ca=pki.ca))
        with pytest.raises(RuntimeError):
            await (await connect(front.address, "default", no_cert)).count_workflows()
        with pytest.raises(RuntimeError):  # and nobody gets through in clear text either
            await (await connect(front.address, "default")).count_workflows()


async def test_services_connect_the_worker_api_and_cli_over_tls(
    settings: Settings, dev_server: TemporalDevServer, pki: Pki
) -> None:
    async with TlsFront(pki, dev_server.port, require_client_cert=True) as front:
        mtls = _tls_settings(
            settings,
            front.address,
            temporal_tls_cert=pki.client_cert,
            temporal_tls_key=pki.client_key,
            temporal_tls_ca=pki.ca,
        )
        endpoints = Endpoints(database_url=settings.database_url or "", temporal_address=front.address)
        async with services(mtls, endpoints, run_migrations=False) as svc:
            await svc.client.count_workflows()
        assert front.handshakes >= 1


@pytest.mark.parametrize("what", ["mtls", "api key"])
async def test_tls_to_a_plain_text_frontend_fails_instead_of_falling_back(
    settings: Settings, dev_server: TemporalDevServer, pki: Pki, what: str
) -> None:
    tls: dict[str, object] = (
        {"temporal_tls_cert": pki.client_cert, "temporal_tls_key": pki.client_key, "temporal_tls_ca": pki.ca}
        if what == "mtls"
        else {"temporal_api_key": API_KEY}
    )
    access = TemporalAccess.from_settings(_tls_settings(settings, dev_server.address, **tls))
    with pytest.raises(RuntimeError, match="InvalidContentType"):  # a TLS record expected, HTTP/2 came
        await connect(dev_server.address, "default", access)
    began = time.monotonic()
    with pytest.raises(RuntimeError, match="TLS"):
        await wait_for_temporal(dev_server.address, "default", access=access)
    assert time.monotonic() - began < 10  # a TLS mismatch is not waited out like a server starting
