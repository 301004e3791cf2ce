"""HTTP hardening: security headers (CSP without inline script), a body-size cap, CSRF tokens.

CSRF uses a double-submit token: a random value in an HttpOnly, SameSite=Lax cookie, rendered into
every form (hidden input) and into ``hx-headers`` on <body> for HTMX; every POST must echo it.
"""

from __future__ import annotations

import secrets

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "dxm_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityMiddleware:
    """Adds the headers, refuses oversized bodies with 413, and issues the CSRF cookie."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, cookie_secure: bool) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.cookie_secure = cookie_secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await _too_large(send)
            return
        token = Request(scope).cookies.get(CSRF_COOKIE)
        new_token = None
        if not token or len(token) != 43:
            token = new_token = secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf_token"] = token
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = list(HEADERS)
                if new_token:
                    cookie = f"{CSRF_COOKIE}={new_token}; Path=/; HttpOnly; SameSite=Lax"
                    extra.append((b"set-cookie", (cookie + ("; Secure" if self.cookie_secure else "")).encode()))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            await _too_large(send)


class BodyTooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), *HEADERS]})
    await send({"type": "http.response.body", "body": b"Request body too large."})


def csrf_ok(request: Request, submitted: str | None) -> bool:
    expected = request.cookies.get(CSRF_COOKIE)
    given = submitted or request.headers.get(CSRF_HEADER)
    return bool(expected and given and secrets.compare_digest(expected, given))
