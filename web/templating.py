"""One Jinja environment (autoescaped, gettext installed) that renders pages or just a block.

A route renders the whole page, or, for an HTMX request, only the block that htmx swaps
(jinja2-fragments), from the same template. The language travels in the template context
(``lang_code``), so one environment serves every request and worker safely.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from jinja2_fragments import render_block
from sqlmodel import SQLModel

from assessment import models  # noqa: F401  (the tables maxlen reads)
from assessment.accounts import MAX_PASSWORD
from questionnaires.schema import Text
from web import formatting, i18n

environment = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "xml"], default_for_string=True),
    extensions=["jinja2.ext.i18n"],
    auto_reload=False,  # templates change with a deployment, not while it runs: no stat() per render
)
environment.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]


def maxlen(column: str) -> int:
    """The length of a text column ("user.email" → 254), for an input's ``maxlength``: the form stops
    where the database would (``assessment.text_input`` refuses longer values on the server too)."""
    table, name = column.split(".")
    length = getattr(SQLModel.metadata.tables[table].c[name].type, "length", None)
    if not isinstance(length, int):
        raise ValueError(f"{column} has no length")
    return length


environment.globals["maxlen"] = maxlen
environment.globals["max_password"] = MAX_PASSWORD


@pass_context
def in_language(context: Context, text: Text | None) -> str:
    return "" if text is None else text.get(context.get("lang_code", "vi"))


def _in_reader_locale(formatter: Callable[[Any, str], str]) -> Callable[..., str]:
    """A Jinja filter that formats a value in the reader's language (see ``web.formatting``)."""
    @pass_context
    def in_locale(context: Context, value: Any) -> str:
        return formatter(value, context.get("lang_code", "vi"))

    return in_locale


environment.filters["t"] = in_language
FORMATTERS: dict[str, Callable[[Any, str], str]] = {
    "score": formatting.score, "change": formatting.change, "percent": formatting.percent,
    "number": formatting.number, "date": formatting.day, "moment": formatting.moment,
    "duration": formatting.duration,
}
for name, formatter in FORMATTERS.items():
    environment.filters[name] = _in_reader_locale(formatter)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page, or one block of it; adds the request, user, language and CSRF token to the
    context. Straight from the environment into an HTMLResponse: Starlette's TemplateResponse adds
    only test hooks (its template and context on the response), which the tests here do not use."""
    state = request.state
    full = {
        "request": request,
        "user": getattr(state, "user", None),
        "lang_code": getattr(state, "lang", "vi"),
        "csrf_token": getattr(state, "csrf_token", ""),
        "centre_name": request.app.state.settings.centre_name,
        **(context or {}),
    }
    html = (render_block(environment, template, block, full) if block
            else environment.get_template(template).render(full))
    return HTMLResponse(html, status_code=status_code, headers={"Vary": "HX-Request", **(headers or {})})
