"""ciorch's own errors. Adapters translate library errors into these once, with the cause
chained; loops decide what to do by type (retry a TemporaryError, stop on a
PermanentError), never by matching message text."""

from __future__ import annotations

__all__ = [
    "CiorchError",
    "ConfigError",
    "ConfigProblem",
    "NotFoundError",
    "PermanentError",
    "StoreError",
    "TemporaryError",
]

from dataclasses import dataclass


class CiorchError(Exception):
    """Base of every error ciorch reports to a user. ``where`` names the file, field,
    request or object the error is about."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.message} ({self.where})" if self.where else self.message


class TemporaryError(CiorchError):
    """Worth retrying: the other side is down, busy or locked. ``delay`` is a hint in
    seconds before the next try."""

    def __init__(self, message: str, *, where: str | None = None, delay: float = 1.0) -> None:
        super().__init__(message, where=where)
        self.delay = delay


class PermanentError(CiorchError):
    """Retrying will not help: bad input, a missing image, a refused credential."""


class NotFoundError(PermanentError):
    """The named object does not exist."""


class StoreError(CiorchError):
    """The state store cannot be opened or is of an unknown schema version."""


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in one configuration file: ``file:line path: message``."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        loc = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{loc} {self.path}: {self.message}" if self.path else f"{loc}: {self.message}"


class ConfigError(PermanentError):
    """One or more configuration problems. Nothing was changed."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        first = str(problems[0]) if problems else "invalid configuration"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
