"""The page for an unexpected failure (500), inside the header and logging middleware.

Starlette's own handler for an unhandled exception sits outside every middleware: its page had none
of the security headers, and the server logged the traceback, whose messages may quote what was
being processed (a database error quotes its parameters: an e-mail, a password hash). Here the
failure is caught inside, so the page gets the headers and the request log line its 500, and the
one log line written names only the exception's class and where it was raised (files, lines,
functions), never its message.
"""

from __future__ import annotations

import json
import logging
import traceback
from html import escape

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("dxm.error")

PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>500</title><link rel="stylesheet" href="/static/app.css"></head>
<body><main class="container"><article>
<h1>Đã xảy ra lỗi</h1><p>Xin lỗi, hệ thống gặp sự cố. Thay đổi của bạn chưa được lưu; vui lòng thử lại sau ít phút.</p>
<h1 lang="en">Something went wrong</h1><p lang="en">Sorry, the server failed. Your change was not saved; please
try again in a few minutes.</p>
<p>Mã yêu cầu / Request id: <code>{request_id}</code></p><p><a href="/">Trang chủ / Home</a></p>
</article></main></body></html>"""


def where(exc: BaseException) -> list[str]:
    """The frames an exception passed through, as "file:line function", without any values."""
    return [f"{frame.filename.rsplit('/', 2)[-1]}:{frame.lineno} {frame.name}"
            for frame in traceback.extract_tb(exc.__traceback__)][-8:]


class ServerErrorPage:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            request_id = scope.get("state", {}).get("request_id", "")
            log.error(json.dumps({"request_id": request_id, "error": type(exc).__name__, "where": where(exc)}))
            if started:  # the response was on its way: nothing else can be sent
                return
            body = PAGE.format(request_id=escape(request_id)).encode()
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"text/html; charset=utf-8"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
