"""A real Samba server for tests: its own smb.conf, passdb and user, on 127.0.0.1 and a free high port, stopped afterwards."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

SMBD = Path("/usr/sbin/smbd")
SMB_USER = "disclosesmb"
SMB_PASSWORD = "Crawl-Test-Pa55"
SHARE = "evidence"
SEALED_SHARE = "sealed"  # the same folder, shared again with encryption required
DFS_SHARE = "namespace"  # a DFS root: its folder `dfs` in the share, where links can be made (`dfs_link`)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _system_user(name: str) -> pwd.struct_passwd:
    """Samba authenticates against a Unix account; make one (tests run as root) the first time."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
        return pwd.getpwnam(name)


def _config(root: Path, share_dir: Path, port: int, extra: str = "") -> str:
    return f"""[global]
{extra}
    workgroup = DISCLOSETEST
    server role = standalone server
    smb ports = {port}
    interfaces = 127.0.0.1
    bind interfaces only = yes
    disable netbios = yes
    server min protocol = SMB2
    server signing = auto
    passdb backend = tdbsam:{root}/private/passdb.tdb
    private dir = {root}/private
    lock directory = {root}/lock
    state directory = {root}/state
    cache directory = {root}/cache
    pid directory = {root}/run
    ncalrpc dir = {root}/run/ncalrpc
    log file = {root}/log/smbd.log
    log level = 1
    load printers = no
    printing = bsd
    printcap name = /dev/null
    disable spoolss = yes
    map to guest = never
    usershare path =
    vfs objects =
    host msdfs = yes

[{SHARE}]
    path = {share_dir}
    read only = no
    browseable = yes
    valid users = {SMB_USER}
    create mask = 0644
    directory mask = 0755

[{SEALED_SHARE}]
    path = {share_dir}
    read only = yes
    valid users = {SMB_USER}
    server smb encrypt = required

[{DFS_SHARE}]
    path = {share_dir}/dfs
    msdfs root = yes
    read only = yes
    valid users = {SMB_USER}
"""


def _wait_for_port(port: int, process: subprocess.Popen, log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"smbd exited with status {process.returncode}: {detail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"smbd did not listen on port {port}")


@dataclass
class SambaServer:
    host: str
    port: int
    share: str
    user: str
    password: str
    share_dir: Path  # the folder behind the share, on this machine
    config: Path
    uid: int
    gid: int

    def unc(self, relative: str = "") -> str:
        tail = relative.strip("/").replace("/", "\\")
        return f"\\\\{self.host}\\{self.share}" + (f"\\{tail}" if tail else "")

    def target(self, relative: str = "", share: str = "") -> str:
        """The `//server/share/path` form the crawl command takes (`share`: another share than the usual one)."""
        tail = relative.strip("/")
        return f"//{self.host}/{share or self.share}" + (f"/{tail}" if tail else "")

    def folder(self, relative: str) -> Path:
        """A folder inside the share, owned by the share's user (as if they had saved into it)."""
        path = self.share_dir / relative
        path.mkdir(parents=True, exist_ok=True)
        for part in [path, *path.relative_to(self.share_dir).parents]:
            os.chown(self.share_dir / part, self.uid, self.gid)
        return path

    def write(self, relative: str, data: bytes, *, mtime: float | None = None) -> Path:
        path = self.share_dir / relative
        self.folder(str(Path(relative).parent))
        path.write_bytes(data)
        os.chown(path, self.uid, self.gid)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        return path

    def dfs_link(self, name: str, target_unc: str) -> None:
        """A DFS link `name` at the root of the DFS share, pointing at `\\\\server\\share[\\path]`."""
        link = self.folder("dfs") / name
        link.symlink_to("msdfs:" + target_unc.lstrip("\\"))

    def drop_connections(self) -> int:
        """Kill the smbd processes serving clients (not the listener), as a network failure would; how many."""
        listener = int((self.config.parent / "run" / "smbd.pid").read_text().split()[0])
        dropped = 0
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                if parent == listener and "smbd" in (entry / "comm").read_text(errors="replace"):
                    os.kill(int(entry.name), signal.SIGKILL)
                    dropped += 1
        return dropped

    def user_sid(self) -> str:
        """The SID Samba gives the share's user (what it reports as the owner of the user's files)."""
        listing = subprocess.run(
            ["pdbedit", "-s", str(self.config), "-L", "-v", "-u", self.user], check=True, capture_output=True, text=True
        ).stdout
        for line in listing.splitlines():
            if line.startswith("User SID:"):
                return line.split(":", 1)[1].strip()
        raise RuntimeError(f"pdbedit did not report a SID for {self.user}")


def start_samba(root: Path, extra_global: str = "") -> tuple[SambaServer, subprocess.Popen]:
    """smbd on 127.0.0.1 and a free port; `extra_global`: more `[global]` lines (e.g. `smb2 max credits = 16`)."""
    if not SMBD.exists():
        raise RuntimeError("smbd is not installed (Debian package: samba)")
    account = _system_user(SMB_USER)
    for name in ("private", "lock", "state", "cache", "run", "log", "share", "share/dfs"):
        (root / name).mkdir(parents=True, exist_ok=True)
    (root / "private").chmod(0o700)
    share_dir = root / "share"
    os.chown(share_dir, account.pw_uid, account.pw_gid)
    port = _free_port()
    config = root / "smb.conf"
    config.write_text(_config(root, share_dir, port, extra_global))
    subprocess.run(
        ["smbpasswd", "-c", str(config), "-a", "-s", SMB_USER],
        input=f"{SMB_PASSWORD}\n{SMB_PASSWORD}\n", text=True, check=True, capture_output=True,
    )
    log = root / "log" / "smbd.log"
    process = subprocess.Popen(
        [str(SMBD), "--foreground", "--no-process-group", "-s", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,  # smbd signals its whole process group when it stops; keep pytest out of it
    )
    try:
        _wait_for_port(port, process, log, time.monotonic() + 20)
    except Exception:
        process.kill()
        process.wait()
        raise
    server = SambaServer(
        host="127.0.0.1", port=port, share=SHARE, user=SMB_USER, password=SMB_PASSWORD,
        share_dir=share_dir, config=config, uid=account.pw_uid, gid=account.pw_gid,
    )
    return server, process


def stop_samba(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def samba() -> Iterator[SambaServer]:
    # Outside pytest's 0700 tmp folders: smbd touches the share as the share's user, who must reach it.
    root = Path(tempfile.mkdtemp(prefix="disclose-samba-"))
    root.chmod(0o755)
    server, process = start_samba(root)
    try:
        yield server
    finally:
        stop_samba(process)
        shutil.rmtree(root, ignore_errors=True)
