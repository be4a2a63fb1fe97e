"""Body text from HTML and RTF: sanitised with nh3, never script or style text."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import nh3

# Tags that start a new line when an HTML body becomes text.
BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "footer", "h1", "h2", "h3",
    "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre", "section", "table", "tr", "ul",
}  # fmt: skip
CELL_TAGS = {"td", "th"}
MAX_HTML = 20 * 1024 * 1024  # bigger bodies are cut: a 20 MB HTML mail is a bomb, not a letter


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCK_TAGS:
            self.parts.append("\n")
        elif tag in CELL_TAGS:
            self.parts.append("\t")

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """Readable text from hostile HTML: nh3 drops scripts, styles and comments first."""
    clean = nh3.clean(
        html[:MAX_HTML],
        tags=BLOCK_TAGS | CELL_TAGS | {"a", "b", "i", "u", "em", "strong", "span", "font", "img", "tbody", "thead", "sub", "sup"},
        clean_content_tags={"script", "style", "head", "title", "noscript", "template"},
        attributes={},
        link_rel=None,
        strip_comments=True,
    )
    collector = _TextCollector()
    collector.feed(clean)
    collector.close()
    return tidy_text(unescape("".join(collector.parts)))


def tidy_text(text: str) -> str:
    """Collapse runs of spaces and blank lines the conversion leaves behind."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def rtf_to_text(rtf: bytes | str) -> str:
    """Text from an RTF body. Outlook often wraps HTML or plain text in RTF; unwrap that first."""
    raw = rtf.encode("latin-1", "replace") if isinstance(rtf, str) else rtf
    if raw.startswith(b"LZFu") or raw[8:12] in (b"LZFu", b"MELA"):
        import compressed_rtf

        raw = compressed_rtf.decompress(raw)
    try:
        from RTFDE.deencapsulate import DeEncapsulator

        unwrapped = DeEncapsulator(raw)
        unwrapped.deencapsulate()
        if unwrapped.content_type == "html":
            return html_to_text(_as_str(unwrapped.html))
        if unwrapped.content_type == "text":
            return tidy_text(_as_str(unwrapped.text))
    except Exception:  # RTFDE refuses plain (non-encapsulated) RTF by raising; fall through to striprtf
        pass
    from striprtf.striprtf import rtf_to_text as strip

    return tidy_text(strip(raw.decode("latin-1"), errors="ignore"))


def _as_str(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
