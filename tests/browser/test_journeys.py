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
