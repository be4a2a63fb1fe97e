"""Crawl speed from a real Samba share on loopback: files/s and MB/s, listing and reading every file.

Builds 20,000 small files and 200 larger ones on a Samba share started like the test fixture
(tests/servers/samba.py), then times the SMB crawler listing the share and reading each file to the end
(what the pipeline does before ingesting): the small files and the large ones separately, each with and
without asking the server for file owners, then a recrawl of the whole tree with nothing changed.
Target: at least 500 small files/s listed and read.

Run: .venv/bin/python bench/bench_smb.py [--small N] [--large N]   (as root: it starts smbd and adds a user)
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from crawler.base import Checkpoint, Collected, CollectionProblem  # noqa: E402
from crawler.credentials import Secret  # noqa: E402
from crawler.custodians import CustodianRules  # noqa: E402
from crawler.smb import SmbCrawler, SmbTarget  # noqa: E402
from servers.samba import SambaServer, start_samba, stop_samba  # noqa: E402

SMALL_BYTES = 2 * 1024
LARGE_BYTES = 2 * 1024 * 1024
FILES_PER_FOLDER = 200


@dataclass
class Measured:
    files: int
    problems: int
    bytes_read: int
    seconds: float
    cpu_seconds: float  # this process (crawler and the reading loop), not smbd
    state: dict[str, Any]

    def line(self, label: str) -> str:
        text = f"{label}: {self.files} files in {self.seconds:.2f} s = {self.files / self.seconds:,.0f} files/s"
        if self.bytes_read:
            text += f", {self.bytes_read / 1e6 / self.seconds:,.1f} MB/s"
        text += f" (crawler CPU {1000 * self.cpu_seconds / max(self.files, 1):.2f} ms/file"
        return text + (f"; {self.problems} problems)" if self.problems else ")")


def build_tree(share_dir: Path, small: int, large: int, uid: int, gid: int) -> int:
    """`bench/small/dept-NN/folder-NNNN/note-NNNNN.txt` and `bench/large/folder-NN/scan-NNNNN.pdf`; total bytes."""
    root = share_dir / "bench"
    total = 0
    payload = os.urandom(LARGE_BYTES)
    for number in range(small):
        folder = root / "small" / f"dept-{number // (FILES_PER_FOLDER * 10):02}" / f"folder-{number // FILES_PER_FOLDER:04}"
        folder.mkdir(parents=True, exist_ok=True)
        data = (f"Note {number}: minutes of the housing panel. " * 60).encode()[:SMALL_BYTES]
        (folder / f"note-{number:05}.txt").write_bytes(data)
        total += len(data)
    for number in range(large):
        folder = root / "large" / f"folder-{number // 50:02}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"scan-{number:05}.pdf").write_bytes(payload[number % 997 :] + payload[: number % 997])
        total += LARGE_BYTES
    for path in [root, *root.rglob("*")]:
        os.chown(path, uid, gid)
    return total


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def crawl_once(server: SambaServer, folder: str, read_owner: bool, state: dict[str, Any] | None = None) -> Measured:
    """One crawl, reading every collected file to the end as the pipeline would.

    Given the state of an earlier crawl, nothing is read: the pipeline opens no file whose fingerprint is unchanged.
    """
    crawler = SmbCrawler(
        target=SmbTarget.parse(server.target(folder)), username=server.user, password=Secret(server.password),
        rules=CustodianRules(explicit="Bench"), port=server.port, read_owner=read_owner,
    )
    files = problems = total = 0
    saved: dict[str, Any] = {}
    cpu = _cpu()
    started = time.perf_counter()
    for found in crawler.crawl(state or {}):
        if isinstance(found, Checkpoint):
            saved = found.state
        elif isinstance(found, CollectionProblem):
            problems += 1
        elif isinstance(found, Collected):
            files += 1
            if state is None:
                with found.opener() as stream:
                    while chunk := stream.read(1024 * 1024):
                        total += len(chunk)
    return Measured(files, problems, total, time.perf_counter() - started, _cpu() - cpu, saved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=20_000)
    parser.add_argument("--large", type=int, default=200)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="disclose-bench-samba-"))
    root.chmod(0o755)
    server, process = start_samba(root)
    try:
        started = time.perf_counter()
        size = build_tree(server.share_dir, args.small, args.large, server.uid, server.gid)
        print(f"tree: {args.small:,} small files of {SMALL_BYTES // 1024} KiB + {args.large} of {LARGE_BYTES // (1024 * 1024)} MiB, "
              f"{size / 1e6:,.1f} MB, built in {time.perf_counter() - started:.1f} s")
        print(f"load average before: {' '.join(f'{load:.2f}' for load in os.getloadavg())}; {os.cpu_count()} CPUs")
        for label, folder, owners in (
            ("small files, first crawl, list + read, no owners", "bench/small", False),
            ("small files, first crawl, list + read + owners", "bench/small", True),
            ("large files, first crawl, list + read, no owners", "bench/large", False),
            ("large files, first crawl, list + read + owners", "bench/large", True),
        ):
            print(crawl_once(server, folder, owners).line(label), flush=True)
        whole = crawl_once(server, "bench", True)
        print(whole.line("whole tree, first crawl, list + read + owners"), flush=True)
        again = crawl_once(server, "bench", True, whole.state)
        print(again.line("whole tree, recrawl with nothing changed (listing only, nothing opened)"))
        print(f"load average after: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
        print("target: >= 500 small files/s listed and read")
    finally:
        stop_samba(process)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
