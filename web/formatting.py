"""How numbers and dates read, wherever a person reads them: pages, charts and the PDF.

One rounding rule (half away from zero, one decimal, on the decimal value a person would write: 12.25
reads 12.3, where Python's float formatting gives 12.2) and the reader's locale through Babel
("38,0" and "02/12/2026" in Vietnamese, "38.0" and "2 Dec 2026" in English). Machine formats (CSV,
XLSX, the API) keep machine formats and never come here.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from babel.dates import format_date, format_datetime, format_timedelta
from babel.numbers import format_decimal

from assessment.access import HANOI

DASH = "—"
DATE_FORMATS = {"vi": "dd/MM/yyyy", "en": "d MMM yyyy"}  # 02/12/2026; 2 Dec 2026
DATETIME_FORMATS = {"vi": "dd/MM/yyyy HH:mm", "en": "d MMM yyyy, HH:mm"}


def rounded(value: float, digits: int = 1) -> Decimal:
    """``value`` rounded half away from zero to ``digits`` decimals (``ROUND_HALF_UP`` in the decimal
    module rounds half away from zero), from its shortest decimal form (``repr``), so 12.25 → 12.3."""
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def score(value: float | None, lang: str) -> str:
    """A score or a mean, one decimal: "38,0" (vi), "38.0" (en)."""
    return DASH if value is None else format_decimal(rounded(value), format="#,##0.0", locale=lang)


def change(value: float | None, lang: str) -> str:
    """A change in points, signed: "+4,5", "−2,0"."""
    if value is None:
        return DASH
    text = score(abs(value), lang)
    sign = "+" if rounded(value) > 0 else ("−" if rounded(value) < 0 else "±")
    return f"{sign}{text}"


def percent(value: float | None, lang: str) -> str:
    """A share 0-100 as a whole percentage: "25 %" (vi), "25%" (en)."""
    if value is None:
        return DASH
    number = format_decimal(rounded(value, 0), format="#,##0", locale=lang)
    return f"{number} %" if lang == "vi" else f"{number}%"


def number(value: float | Decimal | None, lang: str) -> str:
    """A count or any other number, as the locale writes it ("20.000" in vi, "20,000" in en)."""
    return DASH if value is None else format_decimal(value, locale=lang)


def day(value: date | datetime | None, lang: str) -> str:
    """A date, or a moment's date in Hanoi."""
    if value is None:
        return DASH
    if isinstance(value, datetime):
        value = value.astimezone(HANOI).date()
    return format_date(value, DATE_FORMATS.get(lang, "medium"), locale=lang)


def moment(value: datetime | None, lang: str) -> str:
    """A moment in Hanoi time, to the minute."""
    if value is None:
        return DASH
    return format_datetime(value.astimezone(HANOI), DATETIME_FORMATS.get(lang, "medium"), locale=lang)


def duration(seconds: int | None, lang: str) -> str:
    """A wait, in words: "30 giây", "15 phút" (vi); "30 seconds", "15 minutes" (en)."""
    return DASH if seconds is None else format_timedelta(seconds, threshold=1.5, locale=lang)
