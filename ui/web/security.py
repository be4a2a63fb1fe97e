"""Headers that keep hostile document content inert in the browser, and the same-origin check that
stands in for CSRF tokens on every state-changing request."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
        "frame-src 'self'",
    ]
)
# What an email's own HTML may do inside its sandboxed frame: show inline styles and embedded images.
EMAIL_FRAME_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        return response


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else "null"


def cross_site_reason(method: str, headers: dict[str, str], host: str, scheme: str) -> str:
    """Why a request must be refused as a cross-site forgery, or "" when it may go ahead.

    Browsers send Origin with every cross-origin POST (and with same-origin ones), so a state change
    whose Origin is another site is refused. A form post with neither Origin nor Referer cannot be
    told apart from a forged one, so it is refused too; JSON clients (the CLI, scripts) send no
    Origin and cannot be driven by another site without a CORS preflight, which this app never grants."""
    if method not in UNSAFE_METHODS:
        return ""
    ours = f"{scheme}://{host}".lower()
    claimed = headers.get("origin") or (_origin_of(headers["referer"]) if headers.get("referer") else "")
    if claimed:
        return "" if claimed.lower() == ours else f"cross-site request from {claimed} refused"
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in FORM_TYPES:
        return "form posted without an Origin header refused"
    return ""


class SameOriginOnly(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):  # type: ignore[no-untyped-def]
        reason = cross_site_reason(
            request.method, {k.lower(): v for k, v in request.headers.items()}, request.headers.get("host", ""), request.url.scheme
        )
        if reason:
            return PlainTextResponse(reason, status_code=403)
        return await call_next(request)
