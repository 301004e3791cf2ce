"""HTTP hardening: security headers (CSP without inline script), a body-size cap, CSRF tokens.

Every POST must echo a CSRF token, rendered into every form (hidden input) and into ``hx-headers`` on
<body> for HTMX. With a login, the token is derived from the login's own token (a SHA-256 of it): bound
to the server-side session, unknown to anybody who does not hold that HttpOnly cookie, and new at every
login, password change and logout. Before a login (the login and sign-up forms) it is a double-submit
token: a random value in an HttpOnly, SameSite=Lax cookie, dropped at logout.

Every response but the static files gets ``Cache-Control: no-store`` unless its route chose otherwise
(pages and downloads hold one person's data, and a shared computer's browser cache must not keep them);
``Strict-Transport-Security`` is sent when the cookies are HTTPS-only (``DXM_COOKIE_SECURE``).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "dxm_session"  # the login's token (assessment.accounts)
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
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
NO_STORE = (b"cache-control", b"no-store")


def csrf_token(cookies: Mapping[str, str]) -> str | None:
    """The token this browser's forms must echo: derived from its login token, else its CSRF cookie."""
    login = cookies.get(SESSION_COOKIE)
    if login and len(login) <= 200:
        return base64.urlsafe_b64encode(hashlib.sha256(b"csrf:" + login.encode()).digest()).rstrip(b"=").decode()
    token = cookies.get(CSRF_COOKIE)
    return token if token and len(token) == 43 else None


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
        token = csrf_token(Request(scope).cookies)
        new_token = None
        if token is None:
            token = new_token = secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf_token"] = token
        extra = list(HEADERS) + ([HSTS] if self.cookie_secure else [])
        private = not scope["path"].startswith("/static/")
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
                headers = list(message.get("headers", [])) + extra
                if private and not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append(NO_STORE)
                if new_token:
                    cookie = f"{CSRF_COOKIE}={new_token}; Path=/; HttpOnly; SameSite=Lax"
                    headers.append((b"set-cookie", (cookie + ("; Secure" if self.cookie_secure else "")).encode()))
                message["headers"] = headers
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
    expected = csrf_token(request.cookies)
    given = submitted or request.headers.get(CSRF_HEADER)
    return bool(expected and given and secrets.compare_digest(expected, given))
