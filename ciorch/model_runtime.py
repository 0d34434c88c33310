"""Moved to ciorch.model.runtime; kept only until every import is updated."""

from ciorch.model.runtime import *  # noqa: F403
from ciorch.model.runtime import __all__  # noqa: F401
