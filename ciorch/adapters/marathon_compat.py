"""Compatibility shim for the ``marathon`` client 0.13.0 on Python >= 3.10.

marathon 0.13.0 is the newest release on PyPI and it does not work as published on
Python 3.11. What breaks, read in the installed source:

1. ``marathon/util.py`` tests ``isinstance(obj, collections.Iterable)`` in both JSON
   encoders. ``collections.Iterable`` was removed in Python 3.10 (it lives in
   ``collections.abc``), so serialising any app with a nested object (container,
   healthChecks, upgradeStrategy, portDefinitions...) raises AttributeError before a
   request is sent. Upstream fixed it (``collections.abc``) but never released the fix;
   Debian's python3-marathon carries the same change as a patch. :func:`apply` points the
   ``collections`` name *inside* ``marathon.util`` at ``collections.abc``; the stdlib
   ``collections`` module itself is left untouched.
2. ``MarathonClient._do_sse_request`` logs ``e.message`` when a server cannot be reached;
   Python 3 exceptions have no ``message``, so :meth:`event_stream` raises AttributeError
   instead of trying the next server and then raising ``MarathonError``. :func:`apply`
   replaces that method with the same logic using ``str(e)``.
3. ``marathon.log.warn`` (3xx answers, dict health-check commands) is the deprecated alias
   of ``Logger.warning`` (DeprecationWarning today, removed in Python 3.13). :func:`apply`
   binds ``warn`` to ``warning`` on the ``marathon`` logger only.

Not fixed here, because it cannot be fixed from outside without rewriting the models:
the model classes reject unknown JSON keys with TypeError (``tty``, ``resourceLimits``,
``check``...). Servers and emulators must not send them.

:func:`apply` is idempotent and cheap; the Marathon adapter calls it once where it imports
``marathon``. Drop this module once a marathon release with the fixes exists.
"""

from __future__ import annotations

import collections.abc
import logging
from typing import Any

import marathon
import marathon.client
import marathon.util
from marathon.exceptions import MarathonError

__all__ = ["DEFAULT_TIMEOUT", "apply", "client", "is_applied"]

DEFAULT_TIMEOUT = 10.0
_MARK = "_ciorch_compat_applied"


def _do_sse_request(self: Any, path: str, params: Any = None) -> Any:
    """``MarathonClient._do_sse_request`` of 0.13.0 with ``str(e)`` for ``e.message``."""
    urls = ["".join([server.rstrip("/"), path]) for server in self.servers]
    while urls:
        url = urls.pop()
        try:
            response = self.sse_session.get(
                url,
                params=params,
                stream=True,
                headers={"Accept": "text/event-stream"},
                auth=self.auth,
                verify=self.verify,
                allow_redirects=False,
            )
        except Exception as e:
            marathon.log.error("Error while calling %s: %s", url, e)
        else:
            if response.is_redirect and response.next:
                urls.append(response.next.url)
                marathon.log.debug("Got redirect to %s", response.next.url)
            elif response.ok:
                return response.iter_lines()
    raise MarathonError("No remaining Marathon servers to try")


def is_applied() -> bool:
    """True once :func:`apply` has patched the loaded ``marathon`` package."""
    return bool(getattr(marathon.util, _MARK, False))


def apply() -> None:
    """Patch the loaded ``marathon`` package (see the module docstring). Idempotent."""
    if is_applied():
        return
    if not hasattr(marathon.util.collections, "Iterable"):
        marathon.util.collections = collections.abc
    marathon.client.MarathonClient._do_sse_request = _do_sse_request
    log: logging.Logger = marathon.log
    log.warn = log.warning  # type: ignore[method-assign]
    setattr(marathon.util, _MARK, True)


def client(
    url: str | list[str],
    username: str | None = None,
    password: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Any:
    """A ``marathon.MarathonClient`` for ``url`` (or a priority list of URLs), with the
    shim applied."""
    apply()
    return marathon.MarathonClient(url, username=username, password=password, timeout=timeout)
