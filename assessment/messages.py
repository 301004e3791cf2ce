"""Marks user-facing messages raised by services; the web layer translates them with gettext.

``N_`` is one of Babel's default extraction keywords, so these strings reach the catalogues.
"""


def N_(message: str) -> str:  # gettext's conventional name
    return message


class Message(str):
    """A message id with the values its placeholders take ("Use at most %(max)d characters.", max=120):
    it reads as the id everywhere, and pages translate it, then fill it in."""

    params: dict[str, object]

    def __new__(cls, message: str, **params: object) -> "Message":
        made = super().__new__(cls, message)
        made.params = params
        return made


class FormErrors(ValueError):
    """Field name -> message id; a form re-renders with each message next to its field."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


class NotAllowed(ValueError):
    """A request that makes sense but cannot be done now (e.g. changing a submitted assessment)."""


#: words stored as codes and shown translated (roles, size classes, states of copies and rounds)
LABELS = (
    N_("owner"), N_("trainer"), N_("department"), N_("admin"),
    N_("micro"), N_("small"), N_("medium"), N_("large"),
    N_("draft"), N_("submitted"), N_("open"), N_("closed"), N_("respondent"),
    N_("service"), N_("cohort"), N_("statistics"), N_("reminders"),  # consent purposes
)
