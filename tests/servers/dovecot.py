"""A real Dovecot IMAP server for tests: own config in tmp_path, 127.0.0.1 on free high ports, stopped afterwards."""

from __future__ import annotations

import imaplib
import os
import pwd
import grp
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from .tls import LocalCertificate, local_certificate

DOVECOT = Path("/usr/sbin/dovecot")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dovecot exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"dovecot did not listen on port {port}")


@dataclass
class DovecotServer:
    host: str
    imap_port: int  # plain IMAP, STARTTLS offered
    imaps_port: int  # implicit TLS
    user: str
    password: str
    certificate: LocalCertificate
    mail_root: Path

    def connect(self) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=str(self.certificate.ca_file))
        connection = imaplib.IMAP4_SSL(self.host, self.imaps_port, ssl_context=context)
        connection.login(self.user, self.password)
        return connection

    def append(self, folder: str, raw: bytes, flags: str = "") -> None:
        """Deliver a message the way a mail client files one: IMAP APPEND."""
        connection = self.connect()
        try:
            connection.create(f'"{folder}"')  # NO if it exists; harmless
            status, detail = connection.append(f'"{folder}"', flags or None, None, raw)
            assert status == "OK", detail
        finally:
            connection.logout()

    def delete_folder(self, folder: str) -> None:
        connection = self.connect()
        try:
            status, detail = connection.delete(f'"{folder}"')
            assert status == "OK", detail
        finally:
            connection.logout()

    def expunge(self, folder: str, uid: int) -> None:
        """Delete one message the way a mail client does: flag it \\Deleted, then EXPUNGE."""
        connection = self.connect()
        try:
            connection.select(f'"{folder}"')
            status, detail = connection.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)")
            assert status == "OK", detail
            status, detail = connection.expunge()
            assert status == "OK", detail
        finally:
            connection.logout()

    def flags_of(self, folder: str) -> list[str]:
        connection = self.connect()
        try:
            connection.select(f'"{folder}"', readonly=True)
            status, data = connection.uid("FETCH", "1:*", "(FLAGS)")
            return [line.decode() for line in data if line]
        finally:
            connection.logout()


def _service_users() -> tuple[str, str, str]:
    """(internal user, its group, login user): Dovecot refuses to run its login processes as root."""
    if os.getuid() != 0:
        me = pwd.getpwuid(os.getuid()).pw_name
        return me, grp.getgrgid(os.getgid()).gr_name, me
    internal = pwd.getpwnam("dovecot")
    return "dovecot", grp.getgrgid(internal.pw_gid).gr_name, "dovenull"


def _mail_owner() -> tuple[int, int]:
    """Dovecot will not access mail as uid 0, so under root the mail belongs to the dovecot user."""
    if os.getuid() != 0:
        return os.getuid(), os.getgid()
    internal = pwd.getpwnam("dovecot")
    return internal.pw_uid, internal.pw_gid


def _config(
    folder: Path, run_dir: Path, imap_port: int, imaps_port: int, certificate: LocalCertificate, passwd_file: Path
) -> str:
    user, group, login_user = _service_users()
    uid, gid = _mail_owner()
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {run_dir}
state_dir = {folder}/state
instance_name = disclose-test-{imap_port}
log_path = {folder}/dovecot.log
info_log_path = {folder}/dovecot.log
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {login_user}
first_valid_uid = {uid}
first_valid_gid = {gid}
ssl = yes
ssl_cert = <{certificate.cert_file}
ssl_key = <{certificate.key_file}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd_file}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={run_dir}/home/%u
}}
mail_location = maildir:{run_dir}/mail/%u
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0600
  }}
  unix_listener stats-writer {{
    mode = 0600
  }}
}}
"""


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[DovecotServer]:
    if not DOVECOT.exists() or shutil.which("doveconf") is None:
        pytest.fail("Debian package dovecot-imapd is not installed (bash deploy/bootstrap.sh test installs it)")
    folder = tmp_path / "dovecot"
    # The unprivileged login processes must reach the sockets, and pytest's tmp_path is private to us.
    run_dir = Path(tempfile.mkdtemp(prefix="disclose-dovecot-"))
    run_dir.chmod(0o755)
    (folder / "state").mkdir(parents=True)
    for sub in ("mail", "home"):
        (run_dir / sub).mkdir()
        os.chown(run_dir / sub, *_mail_owner())
    certificate = local_certificate(folder / "tls")
    user, password = "clerk@council.example", "correct horse battery"
    passwd_file = run_dir / "passwd"  # read by the unprivileged auth process
    passwd_file.write_text(f"{user}:{{PLAIN}}{password}::::::\n")
    imap_port, imaps_port = _free_port(), _free_port()
    config = folder / "dovecot.conf"
    config.write_text(_config(folder, run_dir, imap_port, imaps_port, certificate, passwd_file))
    process = subprocess.Popen(
        [str(DOVECOT), "-F", "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        _wait_for_port(imaps_port, process, time.monotonic() + 15)
        _wait_for_port(imap_port, process, time.monotonic() + 5)
        yield DovecotServer("127.0.0.1", imap_port, imaps_port, user, password, certificate, run_dir / "mail" / user)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(run_dir, ignore_errors=True)
