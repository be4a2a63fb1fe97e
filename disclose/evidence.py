"""The evidence store: every collected original kept once, addressed by SHA-256, never modified."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import threading
from pathlib import Path
from typing import BinaryIO, Iterator

CHUNK = 1024 * 1024


class EvidenceError(Exception):
    pass


class EvidenceStore:
    """Originals are written, renamed into place read-only, and made durable by `make_durable`,
    which the pipeline calls at every crawl checkpoint and at the end of a run: one flush of the
    file system instead of an fsync per file (which cost 6 ms a file, the larger part of ingesting
    a folder of small files). A crawl resumes from its last checkpoint, so nothing recorded as
    collected depends on a file that was not yet flushed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._unflushed = False
        # Fan-out folders known to exist, one byte per `ab/cd` pair: a fixed 64 KB, where a set of
        # Paths (about 320 bytes each) grew to some 20 MB as a large import touched all 65,536.
        self._folders = bytearray(256 * 256)

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise EvidenceError(f"not a SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        """Copy a stream in, hashing as it goes; returns (sha256, size)."""
        digest = hashlib.sha256()
        size = 0
        with tempfile.NamedTemporaryFile(dir=self.root, delete=False, prefix=".incoming-") as tmp:
            try:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    tmp.write(chunk)
                    size += len(chunk)
            except BaseException:
                tmp.close()
                os.unlink(tmp.name)
                raise
        sha = digest.hexdigest()
        target = self.path_for(sha)
        if target.exists():
            os.unlink(tmp.name)
        else:
            self._settle(Path(tmp.name), target)
        return sha, size

    def put_file(self, path: Path) -> tuple[str, int]:
        with open(path, "rb") as handle:
            return self.put_stream(handle)

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        """Store bytes already in memory (an mbox message, an attachment): the hash is known before
        writing, so the file is written beside its final name with plain os calls; a tempfile
        object, a mkdir and a stat per message were a quarter of an mbox import."""
        sha = hashlib.sha256(data).hexdigest()
        target = self.path_for(sha)
        if target.exists():
            return sha, len(data)
        self._ensure_folder(target.parent)
        incoming = target.parent / f".incoming-{os.getpid()}-{threading.get_ident()}-{sha[:16]}"
        descriptor = os.open(incoming, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view):]
        finally:
            os.close(descriptor)
        self._settle(incoming, target)
        return sha, len(data)

    def _ensure_folder(self, folder: Path) -> None:
        """`folder` is `root/ab/cd` for a hash starting `abcd` (as `path_for` gives)."""
        slot = int(folder.parent.name + folder.name, 16)
        if not self._folders[slot]:
            folder.mkdir(parents=True, exist_ok=True)
            self._folders[slot] = 1

    def _settle(self, incoming: Path, target: Path) -> None:
        """Move a fully written file into place under its hash, read-only."""
        self._ensure_folder(target.parent)
        incoming.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)  # read-only: originals are never modified
        os.replace(incoming, target)
        self._unflushed = True

    def make_durable(self) -> None:
        """Flush every original written since the last call to disk."""
        if self._unflushed:
            self._unflushed = False
            os.sync()

    def open(self, sha256: str) -> BinaryIO:
        path = self.path_for(sha256)
        if not path.exists():
            raise EvidenceError(f"no original with SHA-256 {sha256} in the evidence store")
        return open(path, "rb")

    def read(self, sha256: str) -> bytes:
        with self.open(sha256) as handle:
            return handle.read()

    def verify(self, sha256: str) -> bool:
        digest = hashlib.sha256()
        with self.open(sha256) as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest() == sha256

    def copy_out(self, sha256: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.path_for(sha256), target)

    def all_hashes(self) -> Iterator[str]:
        for path in self.root.glob("??/??/*"):
            if not path.name.startswith(".incoming-"):  # a write cut off by a crash is not an original
                yield path.name
