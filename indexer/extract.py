"""Apache Tika text extraction in sandboxed worker processes, with a time and memory limit per file.

Tika (`iscc-tika`, Tika compiled to native code) launches tesseract several times per call when it
finds it on the PATH, so the workers run with tesseract hidden; OCR is done by `indexer.ocr`.
A worker that overruns its time is killed and replaced; one that exceeds its memory dies alone.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import resource
import shutil
import threading
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT = 120.0
DEFAULT_MEMORY_MB = 1536
DEFAULT_MAX_CHARS = 20_000_000


class ExtractionError(Exception):
    """Tika could not read the file; the message says why in words a reviewer understands."""


@dataclass(frozen=True)
class Extraction:
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def first(self, *keys: str) -> str:
        for key in keys:
            value = self.metadata.get(key)
            if isinstance(value, list):
                value = value[0] if value else None
            if value:
                return str(value)
        return ""


def path_without_tesseract(path: str) -> str:
    folders = [folder for folder in path.split(os.pathsep) if folder and not (Path(folder) / "tesseract").exists()]
    return os.pathsep.join(folders)


def _worker_main(conn: Connection, memory_bytes: int, max_chars: int) -> None:
    # RLIMIT_AS cannot be used: the Graal native VM reserves ~32 GiB of address space up front.
    resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    os.environ["PATH"] = path_without_tesseract(os.environ.get("PATH", ""))
    from iscc_tika import Extractor

    extractor = Extractor()
    extractor.set_extract_string_max_length(max_chars)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        try:
            text, metadata = extractor.extract_file_to_string(job)
            conn.send(("ok", text, dict(metadata)))
        except BaseException as error:  # noqa: BLE001  (Tika raises PanicException, a BaseException)
            conn.send(("error", f"{type(error).__name__}: {error}".strip(), {}))


class _Worker:
    def __init__(self, memory_bytes: int, max_chars: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, memory_bytes, max_chars), daemon=True)
        self.process.start()
        child.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, BrokenPipeError):
            pass
        self.process.join(timeout=2)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()


class TikaPool:
    def __init__(
        self,
        workers: int = 2,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        memory_mb: int = DEFAULT_MEMORY_MB,
        max_chars: int = DEFAULT_MAX_CHARS,
    ) -> None:
        self.timeout = timeout
        self._memory = memory_mb * 1024 * 1024
        self._max_chars = max_chars
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(max(1, workers)):
            self._idle.put(None)  # started on first use
        self._all: list[_Worker] = []
        self._lock = threading.Lock()

    def _fresh(self) -> _Worker:
        worker = _Worker(self._memory, self._max_chars)
        with self._lock:
            self._all.append(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)

    def extract(self, path: Path) -> Extraction:
        worker = self._idle.get() or self._fresh()
        try:
            worker.conn.send(str(path))
            if not worker.conn.poll(self.timeout):
                self._retire(worker)
                worker = None
                raise ExtractionError(f"extraction timed out after {self.timeout:.0f} s")
            try:
                status, text, metadata = worker.conn.recv()
            except EOFError:
                self._retire(worker)
                worker = None
                raise ExtractionError("extraction worker died (memory limit exceeded or crash)") from None
        finally:
            self._idle.put(worker)
        if status != "ok":
            raise ExtractionError(_readable(text))
        return Extraction(text=text or "", metadata=metadata)

    def close(self) -> None:
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:
            worker.stop()


def _readable(message: str) -> str:
    lowered = message.lower()
    if "encrypt" in lowered or "password" in lowered:
        return f"encrypted or password-protected: {message[:300]}"
    return message[:500]


def tesseract_binary() -> str | None:
    return shutil.which("tesseract")
