"""Domain errors. Each carries a catalogue key so handlers can tell the user what went wrong
without knowing the domain's internals."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    key = "error.domain"

    def __init__(self, message: str = "", **params: Any) -> None:
        self.params = params
        super().__init__(message or f"{self.key} {params}" if params else message or self.key)


class InvalidTransition(DomainError):
    key = "error.invalid_transition"


class ActionNotAllowed(DomainError):
    key = "error.not_allowed"


class NotFound(DomainError):
    key = "error.not_found"


class PermissionDenied(DomainError):
    key = "error.permission_denied"


class ValidationFailed(DomainError):
    key = "error.validation"


class RateLimited(DomainError):
    key = "error.rate_limited"
