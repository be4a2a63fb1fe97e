"""Secrets for live sources: read from the environment or asked for, held in memory only, never printed."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Secret:
    """A password or client secret. Its repr and str are masked so it cannot leak into logs or reports."""

    value: str

    def reveal(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return "Secret('********')"

    def __str__(self) -> str:
        return "********"


class SourceLoginFailed(Exception):
    """The source refused the credentials given (wrong password, unknown app, no permission)."""


class SourceUnreachable(Exception):
    """The source could not be reached or spoke a protocol we did not expect."""


def secret_from_environment(variable: str) -> Secret | None:
    """The secret in `variable`, or None when it is unset or empty (the caller then prompts)."""
    value = os.environ.get(variable, "")
    return Secret(value) if value else None
