"""Each journey of the web application in a real browser (Chromium), as an officer would go through it,
with screenshots in tests/artifacts and axe-core run on every page."""

from __future__ import annotations

import io
import re
import zipfile

from conftest import HOSTILE_HOST, HOSTILE_SUBJECT, api, assert_accessible, pytestmark, screenshot  # noqa: F401
from playwright.sync_api import expect

from ui.demo.corpus import WHATSAPP


def test_requests_dashboard_creates_a_request_and_shows_its_deadline(page, server):
    page.goto("/requests")
    assert_accessible(page, "1-requests-empty")
    page.get_by_role("button", name="Create request").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter a reference for the request")
    expect(summary).to_contain_text("Select the type of request")
    assert page.title().startswith("Error:")
    assert_accessible(page, "1-requests-errors")
    summary.get_by_role("link", name="Enter a reference for the request").click()
    expect(page.locator("#ref")).to_be_focused()

    page.fill("#ref", "FOI-2024-001")
    page.select_option("#type", "foi")
    page.fill("#received", "2024-03-01")
    page.fill("#requester", "A. Journalist <script>alert(1)</script>")
    page.fill("#assignee", "Dana Officer")
    page.get_by_role("button", name="Create request").click()
    banner = page.locator(".govuk-notification-banner")
    expect(banner).to_contain_text("Request FOI-2024-001 created")
    expect(page.locator("#created-deadline")).to_contain_text("Due 3 April 2024 – overdue by")  # 20 working days, Good Friday and Easter Monday skipped

    page.fill("#ref", "SAR-NEW")
    page.select_option("#type", "sar")
    page.get_by_role("button", name="Create request").click()
    expect(page.locator("#created-deadline")).to_contain_text(re.compile(r"Due .* – \d+ days left"))  # a SAR counts calendar days

    table = page.locator("#requests-table")
    overdue = table.locator("tr", has_text="FOI-2024-001")
    expect(overdue.locator(".govuk-tag--red")).to_have_text("Overdue")
    expect(overdue).to_contain_text("working days late")
    expect(overdue).to_contain_text("Dana Officer")
    expect(overdue).to_contain_text("<script>alert(1)</script>")  # shown as text, not run
    fresh = table.locator("tr", has_text="SAR-NEW")
    expect(fresh).not_to_contain_text("Overdue")
    expect(fresh.locator("td").nth(2)).to_have_text(re.compile(r"^\s*\d+ days\s*$"))
    assert_accessible(page, "1-requests-dashboard")


def test_search_with_help_facets_sort_families_and_term_report(page, server):
    page.goto("/search")
    help_text = page.locator("#syntax-help .govuk-details__text")
    expect(help_text).to_be_hidden()
    page.get_by_text("How to write a search").click()
    expect(help_text).to_be_visible()
    expect(help_text).to_contain_text("within 5 words")
    assert_accessible(page, "2-search-empty")

    page.fill("#q", "housing")
    page.keyboard.press("Enter")
    expect(page.locator("#result-count")).to_contain_text("results")
    expect(page.locator("#results .disclose-snippet mark").first).to_have_text(re.compile("housing", re.I))
    expect(page.locator("#duplicates-hidden")).to_contain_text(re.compile(r"[1-9]\d* duplicates? hidden"))  # the briefing and its reply are in two mailboxes
    assert_accessible(page, "2-search-results")
    total = int(page.locator("#result-count strong").inner_text().split()[0])

    page.locator("[data-facet=custodian]").get_by_role("link", name="Sam Taylor").click()
    expect(page.locator("#q")).to_have_value(re.compile(r'custodian:"Sam Taylor"'))
    filtered = int(page.locator("#result-count strong").inner_text().split()[0])
    assert 0 < filtered < total
    for meta in page.locator("#results .disclose-meta").all_inner_texts():
        assert "Sam Taylor" in meta

    page.fill("#q", "housing")
    page.keyboard.press("Enter")
    page.select_option("#sort", "date")
    page.get_by_role("button", name="Sort").click()
    expect(page).to_have_url(re.compile("sort=date"))
    page.get_by_role("link", name="Show whole families").click()
    expect(page.locator("#results .govuk-tag", has_text="Family").first).to_be_visible()
    page.get_by_role("link", name="Show duplicates").click()
    expect(page.locator("#results .govuk-tag", has_text="Duplicate").first).to_be_visible()
    screenshot(page, "2-search-families")

    page.goto("/search/terms")
    page.fill("#terms", "housing\nEastgate\n# a comment\n\"damp and mould\"\nbroken (")
    page.get_by_role("button", name="Run report").click()
    report = page.locator("#terms-report")
    expect(report.locator("tbody tr")).to_have_count(5)  # four lines and the total
    expect(report.locator("tr", has_text="broken (")).to_contain_text("expected")
    assert_accessible(page, "2-term-report")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download as CSV").click()
    content = open(download.value.path(), encoding="utf-8").read()
    assert content.splitlines()[0].startswith("line,query,hits")
    assert "Eastgate" in content and "TOTAL" in content


def open_first_hit(page, query: str) -> None:
    page.goto("/search")
    page.fill("#q", query)
    page.keyboard.press("Enter")
    page.locator("#results h2 a").first.click()


def test_document_views_email_chat_image_and_office_file(page, server):
    open_first_hit(page, 'subject:"cabinet briefing" NOT subject:RE kind:email')
    header = page.locator("#email-header")
    expect(header).to_contain_text("Alex Morgan <alex.morgan@northshire.gov.uk>")
    expect(header).to_contain_text("Priya Shah")
    expect(page.locator("#attachments")).to_contain_text("Cabinet briefing - Riverside.docx")
    expect(page.locator("#item-text")).to_contain_text("Attached is the cabinet briefing")
    expect(page.locator("#duplicates")).to_contain_text("Priya Shah")
    expect(page.locator("#thread")).to_contain_text("RE: Riverside housing budget")
    assert_accessible(page, "3-document-email")

    page.locator("#attachments").get_by_role("link", name="Cabinet briefing - Riverside.docx").click()
    expect(page.locator("#item-text")).to_contain_text("Recommendation: Cabinet approves a capital budget")
    expect(page.get_by_text("Attached to:")).to_be_visible()
    assert_accessible(page, "3-document-office-file")

    open_first_hit(page, "kind:chat_message Hillcrest")
    chat = page.locator("#chat")
    hit = chat.locator("#hit")
    expect(hit).to_contain_text("The Hillcrest retrofit is deferred")
    expect(hit).to_have_attribute("aria-current", "true")
    expect(chat.locator(".disclose-chat__day").first).to_contain_text("Monday 4 March 2024")
    texts = chat.locator(".disclose-chat__text").all_inner_texts()
    lines = [line.split(": ", 1)[1] for line in WHATSAPP.splitlines() if re.match(r"^\d\d/\d\d/\d{4}, \d\d:\d\d - [^:]+: ", line)]
    positions = [next(i for i, text in enumerate(texts) if line[:30] in text) for line in lines if "Media omitted" not in line]
    assert positions == sorted(positions), "messages are shown in the order they were sent"
    assert_accessible(page, "3-document-chat")

    open_first_hit(page, "filename:Screenshot_20240304")
    image = page.locator(".disclose-image img")
    expect(image).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    expect(page.locator(".disclose-ocr")).to_contain_text(re.compile("budget", re.I))
    assert_accessible(page, "3-document-image")
    native = page.request.get(image.get_attribute("src"))
    assert native.headers["x-content-type-options"] == "nosniff"
    assert native.headers["content-type"] == "image/png"
    assert "content-disposition" in native.headers


def whatsapp_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("WhatsApp Chat with Jo Bloggs.txt", WHATSAPP.replace("Hillcrest", "Larchfield"))
    return buffer.getvalue()


def test_ingest_uploads_shows_progress_per_file_and_the_exceptions_report(page, server, workspace, tmp_path):
    page.goto("/ingest")
    assert_accessible(page, "6-ingest")
    page.get_by_role("button", name="Add folder").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the custodian")
    page.fill("#folder_custodian", "Jo Bloggs")
    page.fill("#path", "/no/such/folder")
    page.get_by_role("button", name="Add folder").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("There is no folder /no/such/folder")
    assert_accessible(page, "6-ingest-errors")

    chat = {"name": "WhatsApp Chat with Jo Bloggs.zip", "mimeType": "application/zip", "buffer": whatsapp_zip()}
    page.fill("#custodian", "Jo Bloggs")
    # a damaged PST under a hostile client file name: it must not name a path outside the upload folder
    broken = {"name": "../../../mailbox.pst", "mimeType": "application/vnd.ms-outlook", "buffer": b"!BDN" + b"\0" * 600}
    page.set_input_files("#files", [chat, broken])
    page.get_by_role("button", name="Upload and ingest").click()
    expect(page.locator("h1")).to_have_text("Ingesting for Jo Bloggs")
    rows = page.locator("#files-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("WhatsApp Chat with Jo Bloggs.zip")
    screenshot(page, "6-ingest-progress")
    expect(page.locator("[data-run-status]")).to_have_text("done", timeout=120_000)  # the page follows the run by itself
    expect(rows.nth(0).locator("[data-field=status]")).to_have_text("done")
    assert int(rows.nth(0).locator("[data-field=items_added]").inner_text()) > 5
    expect(page.locator("#exceptions-table")).to_contain_text("mailbox.pst")
    assert_accessible(page, "6-ingest-done")

    run_url = page.url
    uploads = workspace / "uploads" / run_url.rsplit("/", 1)[1]
    assert sorted(p.name for p in uploads.iterdir()) == ["001-WhatsApp Chat with Jo Bloggs.zip", "002-mailbox.pst"]
    assert not (workspace.parent / "mailbox.pst").exists()
    page.reload()  # progress lives in the runs table, not in the page
    expect(page).to_have_url(run_url)
    expect(page.locator("[data-run-status]")).to_have_text("done")

    page.goto("/search?q=Larchfield")
    expect(page.locator("#results")).to_contain_text("Larchfield")
    expect(page.locator("#results .disclose-meta").first).to_contain_text("Jo Bloggs")


def test_hostile_email_html_runs_no_script_and_loads_nothing_remote(page, server):
    open_first_hit(page, f'subject:"{HOSTILE_SUBJECT}"')
    response = page.request.get(page.url, headers={"Accept": "text/html"})
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy
    page.get_by_text("Show the email as formatted").click()
    frame_element = page.locator("iframe.disclose-email-frame")
    expect(frame_element).to_have_attribute("sandbox", "")
    frame = frame_element.element_handle().content_frame()
    frame.wait_for_load_state()
    expect(frame.locator("body")).to_contain_text("newsletter is below")
    assert frame.locator("script, form, iframe, input").count() == 0
    assert all(not (src or "").startswith("http") for src in frame.locator("img").evaluate_all("els => els.map(e => e.getAttribute('src'))"))
    page.wait_for_timeout(500)
    assert page.title() != "pwned" and frame.evaluate("document.title") != "pwned"
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert frame.evaluate("typeof window.pwned") == "undefined"
    assert not [url for url in page.watch.foreign if HOSTILE_HOST in url], page.watch.foreign
    body = page.request.get(frame_element.get_attribute("src"), headers={"Accept": "text/html"})
    assert body.headers["content-security-policy"].startswith("default-src 'none'; img-src data:; style-src 'unsafe-inline'")
    assert "<script" not in body.text() and HOSTILE_HOST not in body.text()
    assert_accessible(page, "hostile-email")


def press(page, key: str) -> None:
    page.wait_for_selector("body.js-enabled", state="attached")  # the shortcuts are live once app.js has run
    page.locator("body").press(key)


def test_review_steps_through_decides_and_redacts(page, server):
    api(server, "POST", "/requests", json={"ref": "FOI-REVIEW", "type": "foi", "received": "2024-03-05"})
    page.goto("/requests/FOI-REVIEW/review")
    expect(page.locator("body")).to_contain_text("The review set is empty")
    page.fill("#query", '"Jordan Ellis"')
    page.get_by_role("button", name="Add hits").click()
    expect(page.locator("#review-progress")).to_contain_text("undecided")
    total = int(page.locator("#review-progress").inner_text().split()[0])
    assert total >= 3  # hits plus their families and chat context
    assert_accessible(page, "4-review")

    first = page.locator("#current-title").inner_text()
    first_id = page.locator(".disclose-review-text").get_attribute("data-item")
    press(page, "j")  # keyboard: next
    expect(page.locator("#current-title")).not_to_have_text(first)
    press(page, "k")  # and back
    expect(page.locator("#current-title")).to_have_text(first)
    press(page, "r")  # release: saved, and on to the next undecided item
    expect(page.locator("#current-title")).not_to_have_text(first)
    expect(page.locator(f'#review-list li:has(a[href$="item={first_id}"])')).to_contain_text("release")

    # withhold without an exemption is refused with an error summary, then accepted with one
    press(page, "w")
    page.get_by_role("button", name="Save decision").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("needs the exemption")
    assert_accessible(page, "4-review-error")

    # find the email that names the third party and work on its redactions
    page.locator("#review-list").get_by_role("link", name="Riverside housing budget – cabinet briefing", exact=True).first.click()
    text = page.locator("#item-text")
    expect(text).to_contain_text("Jordan Ellis")
    page.get_by_role("button", name="Suggest redactions of personal data").click()
    markers = page.locator("#markers-table tbody tr")
    expect(markers.first).to_be_visible()
    suggested = markers.count()
    expect(page.locator("#markers-table")).to_contain_text("suggested")
    expect(page.locator("#item-text .disclose-marker--suggested").first).to_be_visible()
    markers.first.get_by_role("button", name=re.compile("^Accept")).click()
    expect(page.locator("#markers-table tbody tr").first).to_contain_text("accepted")
    if suggested > 1:
        page.locator("#markers-table tbody tr").nth(1).get_by_role("button", name=re.compile("^Reject")).click()
        expect(page.locator("#markers-table tbody tr").nth(1)).to_contain_text("rejected")
    assert_accessible(page, "4-review-markers")

    # select words with the mouse (here: a DOM selection) and redact them with a code and reason
    page.evaluate("""() => {
        const page = document.querySelector('#item-text .disclose-page');
        const walker = document.createTreeWalker(page, NodeFilter.SHOW_TEXT);
        let node;
        while ((node = walker.nextNode())) {
            const at = node.textContent.indexOf('Director of Housing');
            if (at >= 0) {
                const range = document.createRange();
                range.setStart(node, at); range.setEnd(node, at + 'Director of Housing'.length);
                const selection = window.getSelection(); selection.removeAllRanges(); selection.addRange(range);
                page.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
                return;
            }
        }
        throw new Error('words to select not found');
    }""")
    expect(page.locator("#redact-text")).to_have_value("Director of Housing")
    start = int(page.locator("#redact-start").input_value())
    page.select_option("#redact-code", index=1)
    page.fill("#redact-reason", "job title of a junior officer")
    page.get_by_role("button", name="Redact", exact=True).click()
    row = page.locator("#markers-table tbody tr", has_text="Director of Housing")
    expect(row).to_contain_text("accepted")
    expect(row).to_contain_text("job title of a junior officer")
    item_id = page.url.split("item=")[1].split("#")[0]
    marker = next(m for m in api(server, "GET", f"/requests/FOI-REVIEW/markers?item_id={item_id}") if m["text"] == "Director of Housing")
    assert marker["start"] == start
    expect(page.locator("#item-text .disclose-marker--accepted", has_text="Director of Housing")).to_be_visible()

    # without JavaScript's offsets: exact text typed in the form
    page.fill("#redact-text", "not for publication")
    page.select_option("#redact-code", index=1)
    page.get_by_role("button", name="Redact", exact=True).click()
    expect(page.locator("#markers-table")).to_contain_text("not for publication")

    before = page.locator("#markers-table tbody tr").count()
    row.get_by_role("button", name=re.compile("^Remove")).click()
    expect(page.locator("#markers-table tbody tr")).to_have_count(before - 1)
    expect(page.locator("#markers-table")).not_to_contain_text("Director of Housing")
    assert_accessible(page, "4-review-redacted")


def test_bundle_builds_in_the_background_with_schedule_downloads_estimate_and_record(page, server):
    api(server, "POST", "/requests", json={"ref": "FOI-BUNDLE", "type": "foi", "received": "2024-03-05"})
    api(server, "POST", "/requests/FOI-BUNDLE/items", json={"query": "Eastgate"})
    for entry in api(server, "GET", "/requests/FOI-BUNDLE/review")["items"]:
        api(server, "PUT", f"/requests/FOI-BUNDLE/review/{entry['item_id']}", json={"decision": "release"})
    page.goto("/requests/FOI-BUNDLE/bundle")
    expect(page.locator("#search-record")).to_contain_text("Eastgate")
    assert_accessible(page, "5-bundle")
    page.get_by_role("button", name="Estimate the cost").click()
    expect(page.locator("#estimate-summary")).to_contain_text("Within the limit")
    page.get_by_role("button", name="Build the bundle").click()
    screenshot(page, "5-bundle-building")
    expect(page.locator("#download-pdf")).to_be_visible(timeout=180_000)  # the page follows the run and reloads when it ends
    expect(page.locator("#bundle-built")).to_contain_text("documents released")
    expect(page.locator("#schedule tbody tr").first).to_be_visible()
    assert_accessible(page, "5-bundle-built")
    page.reload()
    expect(page.locator("#download-pdf")).to_be_visible()
    with page.expect_download() as pdf:
        page.locator("#download-pdf").click()
    assert open(pdf.value.path(), "rb").read(5) == b"%PDF-"
    with page.expect_download() as bundle:
        page.locator("#download-zip").click()
    with zipfile.ZipFile(bundle.value.path()) as archive:
        names = archive.namelist()
    assert "schedule.csv" in names and "manifest.json" in names
