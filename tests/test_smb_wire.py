"""The hand-built SMB requests against a real Samba: big folders, big and growing files, encrypted shares."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from crawler.base import Collected, CollectionProblem
from crawler.credentials import Secret, SourceUnreachable
from crawler.custodians import CustodianRules
from crawler.smb import SmbCrawler, SmbTarget
from crawler.smb_wire import SmbChannel, SmbStatusError
from servers.samba import DFS_SHARE, SEALED_SHARE, SambaServer, samba, start_samba, stop_samba  # noqa: F401  (the fixture)


@pytest.fixture
def channel(samba: SambaServer) -> Iterator[SmbChannel]:
    opened = SmbChannel.open(samba.host, samba.port, samba.share, samba.user, samba.password, encrypt=None, timeout=30)
    try:
        yield opened
    finally:
        opened.close()


def _crawl(samba: SambaServer, folder: str, share: str = "") -> tuple[dict[str, Collected], dict[str, bytes], list[CollectionProblem]]:
    """What a crawl collected (by path relative to the folder), each one's content, and the problems."""
    crawler = SmbCrawler(
        target=SmbTarget.parse(samba.target(folder, share=share)), username=samba.user, password=Secret(samba.password),
        rules=CustodianRules(explicit="Jane Smith"), port=samba.port,
    )
    collected: dict[str, Collected] = {}
    contents: dict[str, bytes] = {}
    problems: list[CollectionProblem] = []
    for found in crawler.crawl({}):
        if isinstance(found, Collected):
            relative = found.metadata["relative_path"]
            collected[relative] = found
            with found.opener() as stream:  # as the pipeline does: before asking for the next one
                contents[relative] = stream.read()
        elif isinstance(found, CollectionProblem):
            problems.append(found)
    return collected, contents, problems


def test_a_folder_too_big_for_one_reply_is_listed_whole(samba: SambaServer, channel: SmbChannel) -> None:
    names = {f"minutes-{number:03}-{'x' * (number % 40)}.txt" for number in range(300)}
    for name in names:
        samba.write(f"bigfolder/{name}", name.encode())
    channel.listing_buffer = 2048  # about 20 entries a reply: the listing takes many round trips
    entries = channel.list_folder("bigfolder")
    assert {entry.name for entry in entries} == names
    on_disk = {path.name: path.stat() for path in (samba.share_dir / "bigfolder").iterdir()}
    assert all(entry.end_of_file == on_disk[entry.name].st_size for entry in entries)
    assert all(entry.file_id == on_disk[entry.name].st_ino for entry in entries)
    assert all(int(entry.last_write_time.timestamp()) == int(on_disk[entry.name].st_mtime) for entry in entries)


def test_large_files_stream_whole_in_any_read_size(samba: SambaServer, channel: SmbChannel) -> None:
    data = os.urandom(3 * 1024 * 1024 + 12345)
    samba.write("large/scan.pdf", data)
    channel.stream_chunk = 256 * 1024  # many reads in flight
    with channel.open_stream("large/scan.pdf") as stream:
        assert stream.read() == data
    with channel.open_stream("large/scan.pdf") as stream:
        pieces = []
        while piece := stream.read(7777):
            pieces.append(piece)
    assert b"".join(pieces) == data
    with pytest.raises(SmbStatusError) as missing:
        channel.open_stream("large/no-such-file.pdf")
    assert missing.value.status == 0xC0000034  # STATUS_OBJECT_NAME_NOT_FOUND


def test_a_file_that_grows_after_listing_is_read_to_its_new_end(samba: SambaServer, channel: SmbChannel) -> None:
    samba.write("growing/log.txt", b"first line\n")
    (entry,) = channel.list_folder("growing")
    grown = b"first line\n" + os.urandom(200 * 1024)
    samba.write("growing/log.txt", grown)
    (fetch,) = channel.fetch_many([("growing/log.txt", True, 64 * 1024)])
    owner, content = fetch.result()
    assert entry.end_of_file == 11 and content is None  # more than was asked for: left to stream
    assert owner == samba.user_sid()
    with channel.open_stream("growing/log.txt") as stream:
        assert stream.read() == grown


def test_crawl_collects_small_large_and_empty_files_with_their_exact_content(samba: SambaServer) -> None:
    files = {
        "mixed/empty.txt": b"",
        "mixed/small.txt": b"Small note about the Riverside estate.\n",
        "mixed/edge.bin": os.urandom(64 * 1024 - 1),  # the biggest file read with its owner
        "mixed/just-over.bin": os.urandom(64 * 1024),
        "mixed/large.bin": os.urandom(5 * 1024 * 1024 + 3),
    }
    for relative, data in files.items():
        samba.write(relative, data)
    collected, contents, problems = _crawl(samba, "mixed")
    assert not problems
    assert set(collected) == {relative.removeprefix("mixed/") for relative in files}
    for relative, data in files.items():
        item = collected[relative.removeprefix("mixed/")]
        assert hashlib.sha256(contents[relative.removeprefix("mixed/")]).hexdigest() == hashlib.sha256(data).hexdigest(), relative
        assert item.size == len(data)
        assert item.metadata["owner_sid"] == samba.user_sid()


def test_a_share_that_requires_encryption_is_crawled_encrypted(samba: SambaServer) -> None:
    samba.write("sealedfolder/notes.txt", b"Sealed notes on the Hillcrest retrofit.\n")
    large = os.urandom(300 * 1024)
    samba.write("sealedfolder/scan.pdf", large)
    crawler = SmbCrawler(
        target=SmbTarget.parse(samba.target("sealedfolder", share=SEALED_SHARE)), username=samba.user,
        password=Secret(samba.password), rules=CustodianRules(explicit="Jane Smith"), port=samba.port,
    )
    crawler.connect()
    try:
        assert crawler.channel.tree.encrypt_data  # the server asked for it, and every request was sealed
    finally:
        crawler.close()
    collected, contents, problems = _crawl(samba, "sealedfolder", share=SEALED_SHARE)
    assert not problems
    assert contents["notes.txt"] == b"Sealed notes on the Hillcrest retrofit.\n"
    assert contents["scan.pdf"] == large
    assert collected["notes.txt"].display_path == rf"\\127.0.0.1\{SEALED_SHARE}\sealedfolder\notes.txt"


def test_a_folder_behind_a_dfs_link_is_crawled_on_its_target_under_the_name_given(samba: SambaServer) -> None:
    samba.write("dfstarget/minutes.txt", b"Minutes kept on the file server behind the namespace.\n")
    samba.write("dfs/local/agenda.txt", b"Agenda kept in the namespace itself.\n")
    samba.dfs_link("housing", samba.unc("dfstarget"))

    collected, contents, problems = _crawl(samba, "housing", share=DFS_SHARE)
    assert not problems
    assert contents == {"minutes.txt": b"Minutes kept on the file server behind the namespace.\n"}
    item = collected["minutes.txt"]
    assert item.display_path == rf"\\127.0.0.1\{DFS_SHARE}\housing\minutes.txt"
    assert item.source == f"smb://127.0.0.1/{DFS_SHARE}/housing/minutes.txt"
    assert item.metadata["smb_file_id"] == (samba.share_dir / "dfstarget/minutes.txt").stat().st_ino

    # Crawling the namespace itself: its own folders are collected; links met on the way are reported, not followed.
    collected, contents, problems = _crawl(samba, "", share=DFS_SHARE)
    assert contents == {"local/agenda.txt": b"Agenda kept in the namespace itself.\n"}
    assert [(problem.source, problem.reason) for problem in problems] == [
        (rf"\\127.0.0.1\{DFS_SHARE}\housing", "link or reparse point not followed")
    ]


def test_a_lost_connection_stops_the_crawl_with_a_reason_instead_of_failing_every_file(samba: SambaServer) -> None:
    for number in range(60):
        samba.write(f"dropped/note-{number:02}.txt", f"Note {number}.\n".encode())
    crawler = SmbCrawler(
        target=SmbTarget.parse(samba.target("dropped")), username=samba.user, password=Secret(samba.password),
        rules=CustodianRules(explicit="Jane Smith"), port=samba.port, fetch_ahead=4,
    )
    seen: list[Collected | CollectionProblem] = []
    with pytest.raises(SourceUnreachable) as stopped:
        for found in crawler.crawl({}):
            if isinstance(found, (Collected, CollectionProblem)):
                seen.append(found)
            if len(seen) == 5:
                assert samba.drop_connections() >= 1
    assert "run the crawl again" in str(stopped.value)
    assert not [found for found in seen if isinstance(found, CollectionProblem)]  # not a problem with any file


def test_a_server_granting_few_credits_slows_the_crawl_but_every_file_arrives() -> None:
    # 24 credits: fewer than a window of 32 files asks for at once (four requests each), or than four 1 MiB reads.
    root = Path(tempfile.mkdtemp(prefix="disclose-samba-credits-"))
    root.chmod(0o755)
    server, process = start_samba(root, extra_global="    smb2 max credits = 24")
    try:
        files = {f"stingy/{number // 50}/note-{number:03}.txt": f"Note {number}.\n".encode() for number in range(120)}
        files["stingy/large.bin"] = os.urandom(5 * 1024 * 1024)
        for relative, data in files.items():
            server.write(relative, data)
        collected, contents, problems = _crawl(server, "stingy")
        assert not problems
        assert contents == {relative.removeprefix("stingy/"): data for relative, data in files.items()}
    finally:
        stop_samba(process)
        shutil.rmtree(root, ignore_errors=True)
