"""The texts of the mails the web layer sends about accounts (a sign-up code, a reset link), in the
recipient's language, and the absolute links they carry.

Links start with ``DXM_PUBLIC_URL`` when it is set: the request's own address is named by its Host
header, which a stranger asking for somebody else's reset link could forge.
"""

from __future__ import annotations

from fastapi import Request
from sqlmodel import Session

from assessment import mail, resets, signup
from assessment.settings import Settings
from web.i18n import translate


def link(request: Request, settings: Settings, path: str) -> str:
    """An absolute link to ``path`` on this service, for a mail or a QR code."""
    base = settings.public_url or str(request.base_url)
    return base.rstrip("/") + path


def send_signup(request: Request, settings: Settings, session: Session, started: signup.Started) -> None:
    """The sign-up mail: the code, or (the address has an account) a note on how to get in."""
    lang = started.language
    if started.existing:
        subject = translate(lang, "You already have an account")
        body = translate(lang, "Somebody, maybe you, tried to create an account with this e-mail address, "
                               "but it has one already. Log in: %(login)s\nForgot the password? Reset it: "
                               "%(reset)s\nIf it was not you, you can ignore this mail.") % {
            "login": link(request, settings, "/login"), "reset": link(request, settings, "/password/forgot")}
    else:
        subject = translate(lang, "Your sign-up code: %(code)s") % {"code": started.code}
        body = translate(lang, "Your code to confirm this e-mail address is %(code)s. Type it on the sign-up "
                               "page within %(minutes)d minutes.\nIf you did not sign up, you can ignore this "
                               "mail.") % {"code": started.code, "minutes": signup.CODE_MINUTES}
    mail.send(session=session, settings=settings, to=started.email, subject=subject, body=body, kind="signup-code")


def send_reset(request: Request, settings: Settings, session: Session, requested: resets.Requested) -> None:
    """The reset mail: a link, or (no account uses the address) how to sign up."""
    lang = requested.language
    if requested.token is None:
        subject = translate(lang, "Password reset")
        body = translate(lang, "Somebody, maybe you, asked to reset the password of an account with this "
                               "e-mail address, but no account uses it. To create one: %(signup)s\nIf it was not "
                               "you, you can ignore this mail.") % {"signup": link(request, settings, "/signup")}
    else:
        subject = translate(lang, "Password reset")
        body = translate(lang, "To choose a new password, open this link within one hour (it works once): "
                               "%(link)s\nEvery device logged in to the account is logged out when you do.\nIf "
                               "you did not ask for it, you can ignore this mail: your password stays as it is.") % {
            "link": link(request, settings, f"/password/reset/{requested.token}")}
    mail.send(session=session, settings=settings, to=requested.email, subject=subject, body=body,
              kind="password-reset")

