"""Scale mode: the same pipeline tasks on a real Celery worker over the Redis on 127.0.0.1:6379."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def worker_env(tmp_path: Path):  # type: ignore[no-untyped-def]
    try:
        redis.Redis.from_url(REDIS).ping()
    except redis.ConnectionError:
        pytest.fail("Redis on 127.0.0.1:6379 is required for this test")
    env = dict(os.environ)
    env.update(
        DISCLOSE_HOME=str(tmp_path / "workspace"),
        DISCLOSE_BROKER_URL=REDIS,
        DISCLOSE_QUEUE=f"disclose-test-{uuid.uuid4().hex[:8]}",  # never share a queue with another run
    )
    celery = shutil.which("celery", path=str(Path(sys.executable).parent)) or "celery"
    worker = subprocess.Popen(
        [celery, "-A", "indexer.tasks", "worker", "--pool=solo", "--loglevel=warning", "-Q", env["DISCLOSE_QUEUE"],
         "--hostname", f"{env['DISCLOSE_QUEUE']}@localhost", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=env, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    yield env
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
    redis.Redis.from_url(REDIS).delete(env["DISCLOSE_QUEUE"])


def test_ingest_runs_on_a_celery_worker(worker_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for number in range(3):
        (folder / f"note-{number}.txt").write_text(f"worker note {number} about the housing budget", encoding="utf-8")
    disclose = [sys.executable, "-m", "ui.cli"]
    started = time.monotonic()
    done = subprocess.run([*disclose, "ingest", str(folder), "--custodian", "Jane Smith", "--json"],
                          env=worker_env, capture_output=True, text=True, timeout=240, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["stored"] == 3 and report["items_added"] == 3
    assert time.monotonic() - started < 240
    local = {k: v for k, v in worker_env.items() if k not in ("DISCLOSE_BROKER_URL", "DISCLOSE_QUEUE")}
    found = subprocess.run([*disclose, "search", "housing", "--json"], env=local, capture_output=True, text=True,
                           timeout=60, cwd=Path(__file__).resolve().parents[1])
    assert json.loads(found.stdout)["total"] == 3
