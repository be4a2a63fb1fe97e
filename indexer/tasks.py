"""The pipeline's Celery tasks. Embedded: run in-process with no broker. Scale: workers over Redis.

Start workers with `celery -A indexer.tasks worker` and the same DISCLOSE_* environment as the
CLI (DISCLOSE_HOME on shared storage, DISCLOSE_DATABASE_URL, DISCLOSE_INDEX_URL, DISCLOSE_BROKER_URL).
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any

from celery import Celery

from disclose.workspace import open_workspace

celery_app = Celery("disclose")
_broker = os.environ.get("DISCLOSE_BROKER_URL", "")
celery_app.conf.update(
    broker_url=_broker or "memory://",
    result_backend=os.environ.get("DISCLOSE_RESULT_URL", _broker) or "cache+memory://",
    task_always_eager=not _broker,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_acks_late=True,  # a worker that dies mid-file leaves the task for another: ingestion is idempotent
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    task_default_queue=os.environ.get("DISCLOSE_QUEUE", "disclose"),
)

_runtime = None


def _worker_runtime():  # type: ignore[no-untyped-def]
    """One runtime per worker process, opened on first use."""
    global _runtime
    if _runtime is None:
        from indexer.pipeline import Runtime
        from indexer.services import open_services

        services = open_services(open_workspace())
        indexes_here = not services.workspace.index_url.startswith("tantivy")
        _runtime = Runtime(services, tika_workers=1, index_in_worker=indexes_here)
    return _runtime


@celery_app.task(name="disclose.ingest_root")
def ingest_root_task(spec: dict[str, Any]) -> dict[str, Any]:
    from indexer.pipeline import RootSpec, ingest_root

    outcome = ingest_root(_worker_runtime(), RootSpec(**spec))
    if _runtime is not None and _runtime.index_in_worker:
        _runtime.services.index.commit()
    return asdict(outcome)


@celery_app.task(name="disclose.index_items")
def index_items_task(ids: list[str]) -> int:
    from indexer.pipeline import index_items

    runtime = _worker_runtime()
    count = index_items(runtime.services, ids)
    runtime.services.index.commit()
    return count
