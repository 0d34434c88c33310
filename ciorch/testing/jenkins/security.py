"""Authentication and CSRF protection as a Jenkins with "deny anonymous read" has them.

- API token basic auth (``jenkins.security.BasicHeaderApiTokenAuthenticator``): no session, no
  crumb needed (API tokens are exempt from CSRF protection since 2.96).
- Password basic auth or a form login (``/j_spring_security_check``) creates an HTTP session;
  POSTs then need the crumb issued for that session.
- ``hudson.security.csrf.DefaultCrumbIssuer``: the crumb is a salted hash of the user name and
  the session id (``excludeClientIPFromCrumb``; bound to the session since 2.176).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass

__all__ = ["ANONYMOUS", "CRUMB_FIELD", "Principal", "Security"]

ANONYMOUS = "anonymous"
CRUMB_FIELD = "Jenkins-Crumb"
SESSION_COOKIE = "JSESSIONID.ciorch"


@dataclass(frozen=True)
class Principal:
    """Who sent a request and how."""

    user: str
    by_token: bool = False
    session: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.user == ANONYMOUS


class BadCredentials(Exception):
    """401: ``Invalid password/token for user: x``."""


class Security:
    """One admin user with an API token (and a password, for session logins)."""

    def __init__(self, user: str, token: str, password: str, salt: bytes) -> None:
        self.user = user
        self.token = token
        self.password = password
        self.salt = salt
        self.sessions: dict[str, str] = {}
        self._lock = threading.Lock()

    def authenticate(self, authorization: str | None, session: str | None) -> Principal:
        session_user = self.sessions.get(session or "")
        if authorization and authorization.lower().startswith("basic "):
            try:
                raw = base64.b64decode(authorization[6:].strip()).decode("utf-8")
            except ValueError as exc:
                raise BadCredentials("malformed basic auth") from exc
            user, _, secret = raw.partition(":")
            if user == self.user and _same(secret, self.token):
                return Principal(user, by_token=True, session=session if session_user else None)
            if user == self.user and _same(secret, self.password):
                return Principal(user, session=self.new_session(user, session))
            raise BadCredentials(f"Invalid password/token for user: {user}")
        if session_user:
            return Principal(session_user, session=session)
        return Principal(ANONYMOUS, session=session if session in self.sessions else None)

    def new_session(self, user: str, existing: str | None = None) -> str:
        with self._lock:
            if existing and existing in self.sessions:
                self.sessions[existing] = user
                return existing
            sid = secrets.token_hex(16)
            self.sessions[sid] = user
            return sid

    def login(self, user: str, password: str) -> str | None:
        if user == self.user and (_same(password, self.password) or _same(password, self.token)):
            return self.new_session(user)
        return None

    def crumb(self, principal: Principal) -> str:
        material = f"{principal.user};{principal.session or ''}".encode()
        return hmac.new(self.salt, material, hashlib.sha256).hexdigest()

    def crumb_ok(self, principal: Principal, crumb: str | None) -> bool:
        """``CrumbFilter``: token-authenticated requests pass; others need the session's crumb."""
        if principal.by_token:
            return True
        if not crumb or principal.session is None:
            return False
        return _same(crumb, self.crumb(principal))


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison of any text (``compare_digest`` refuses non-ASCII str)."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
