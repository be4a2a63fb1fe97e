"""Crawl speed from a real Samba share on loopback: files/s and MB/s, listing and reading every file.

Builds 20,000 small files and 200 larger ones on a Samba share started like the test fixture
(tests/servers/samba.py), then times the SMB crawler listing the share and reading each file to the end
(what the pipeline does before ingesting), with and without asking the server for file owners.
Target: at least 500 small files/s. Run: /tmp/venv/bin/python bench/bench_smb.py [--small N] [--large N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from crawler.base import Checkpoint, Collected  # noqa: E402
from crawler.credentials import Secret  # noqa: E402
from crawler.custodians import CustodianRules  # noqa: E402
from crawler.smb import SmbCrawler, SmbTarget  # noqa: E402
from servers.samba import start_samba, stop_samba  # noqa: E402

SMALL_BYTES = 2 * 1024
LARGE_BYTES = 2 * 1024 * 1024
FILES_PER_FOLDER = 200


def build_tree(share_dir: Path, small: int, large: int, uid: int, gid: int) -> int:
    root = share_dir / "bench"
    total = 0
    payload = os.urandom(LARGE_BYTES)
    for number in range(small + large):
        folder = root / f"dept-{number // (FILES_PER_FOLDER * 10):02}" / f"folder-{number // FILES_PER_FOLDER:04}"
        folder.mkdir(parents=True, exist_ok=True)
        if number < small:
            data = (f"Note {number}: minutes of the housing panel. " * 60).encode()[:SMALL_BYTES]
            path = folder / f"note-{number:05}.txt"
        else:
            data = payload[number % 997 :] + payload[: number % 997]
            path = folder / f"scan-{number:05}.pdf"
        path.write_bytes(data)
        total += len(data)
    for path in [root, *root.rglob("*")]:
        os.chown(path, uid, gid)
    return total


def crawl_once(server, read_owner: bool, read: bool, state: dict | None = None) -> tuple[int, int, float, dict]:  # type: ignore[no-untyped-def]
    crawler = SmbCrawler(
        target=SmbTarget.parse(server.target("bench")), username=server.user, password=Secret(server.password),
        rules=CustodianRules(explicit="Bench"), port=server.port, read_owner=read_owner,
    )
    files = 0
    total = 0
    started = time.perf_counter()
    saved: dict = {}
    for found in crawler.crawl(state or {}):
        if isinstance(found, Checkpoint):
            saved = found.state
        if isinstance(found, Collected):
            files += 1
            if read:
                with found.opener() as stream:
                    while chunk := stream.read(1024 * 1024):
                        total += len(chunk)
    return files, total, time.perf_counter() - started, saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=20_000)
    parser.add_argument("--large", type=int, default=200)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="disclose-bench-samba-"))
    root.chmod(0o755)
    server, process = start_samba(root)
    try:
        started = time.perf_counter()
        size = build_tree(server.share_dir, args.small, args.large, server.uid, server.gid)
        print(f"tree: {args.small} small files of {SMALL_BYTES // 1024} KiB + {args.large} of {LARGE_BYTES // (1024 * 1024)} MiB, "
              f"{size / 1e6:.1f} MB, built in {time.perf_counter() - started:.1f} s")
        state: dict = {}
        for label, read_owner, read, previous in (
            ("first crawl, list + read, no owners", False, True, False),
            ("first crawl, list + read + owners", True, True, False),
            ("recrawl, nothing changed (listing only, nothing opened)", True, False, True),
        ):
            files, total, seconds, state = crawl_once(server, read_owner, read, state if previous else None)
            line = f"{label}: {files} files in {seconds:.1f} s = {files / seconds:.0f} files/s"
            if total:
                line += f", {total / 1e6 / seconds:.1f} MB/s read"
            print(line)
    finally:
        stop_samba(process)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
