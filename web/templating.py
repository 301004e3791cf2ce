"""One Jinja environment (autoescaped, gettext installed) that renders pages or just a block.

A route renders the whole page, or, for an HTMX request, only the block that htmx swaps
(jinja2-fragments), from the same template. The language travels in the template context
(``lang_code``), so one environment serves every request and worker safely.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from jinja2_fragments import render_block

from assessment.access import HANOI
from questionnaires.schema import Text
from web import i18n

environment = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "xml"], default_for_string=True),
    extensions=["jinja2.ext.i18n"],
    auto_reload=False,  # templates change with a deployment, not while it runs: no stat() per render
)
environment.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]


@pass_context
def in_language(context: Context, text: Text | None) -> str:
    return "" if text is None else text.get(context.get("lang_code", "vi"))


DATE_FORMATS = {"vi": "dd/MM/yyyy", "en": "d MMM yyyy"}  # 02/12/2026; 2 Dec 2026


@pass_context
def local_date(context: Context, value: date | datetime | None) -> str:
    """A date (a moment: its date in Hanoi) in the reader's language, through Babel."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.astimezone(HANOI).date()
    lang = context.get("lang_code", "vi")
    return format_date(value, DATE_FORMATS.get(lang, "medium"), locale=lang)


@pass_context
def local_number(context: Context, value: float | int | None) -> str:
    return "—" if value is None else format_decimal(value, locale=context.get("lang_code", "vi"))


environment.filters["t"] = in_language
environment.filters["date"] = local_date
environment.filters["number"] = local_number
environment.filters["score"] = lambda v: "—" if v is None else f"{v:.1f}"
environment.filters["change"] = lambda v: "—" if v is None else f"{v:+.1f}"


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
        **(context or {}),
    }
    html = (render_block(environment, template, block, full) if block
            else environment.get_template(template).render(full))
    return HTMLResponse(html, status_code=status_code, headers={"Vary": "HX-Request", **(headers or {})})
