"""Languages: Babel/gettext catalogues compiled from ``web/locale/<lang>/LC_MESSAGES/messages.po``.

Message ids are English; Vietnamese is the default language. The catalogue is compiled in memory
when first needed, so a fresh checkout needs no build step and cannot serve a stale ``.mo``.
"""

from __future__ import annotations

import io
from functools import cache
from gettext import NullTranslations
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import pass_context
from jinja2.runtime import Context

LANGUAGES = ("vi", "en")
LOCALE_DIR = Path(__file__).parent / "locale"


@cache
def translations(lang: str) -> NullTranslations:
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def pick(lang: str | None) -> str:
    return lang if lang in LANGUAGES else "vi"


def translate(lang: str, message: str) -> str:
    return translations(pick(lang)).gettext(message)


@pass_context
def gettext(context: Context, message: str) -> str:
    """Jinja's newstyle gettext calls this with the template context, then fills in variables."""
    return translate(context.get("lang_code", "vi"), message)


@pass_context
def ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(pick(context.get("lang_code"))).ngettext(singular, plural, n)
