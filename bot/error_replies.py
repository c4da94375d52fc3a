"""What a user is told when a core service refuses (a ``DomainError``): the error's own
catalogue text, with the limits of a text too short or too long said in one way everywhere."""

from __future__ import annotations

from bot.context import Deps
from core.errors import DomainError, ValidationFailed


def error_text(deps: Deps, lang: str, error: DomainError) -> str:
    params = {k: v for k, v in error.params.items() if isinstance(v, str | int | float)}
    key = (
        error.key if deps.catalogue.has(error.key, lang) or deps.catalogue.has(error.key) else "error.domain"
    )
    if isinstance(error, ValidationFailed) and error.params.get("reason") == "too_short":
        key = "liaison.error_too_short"
    elif isinstance(error, ValidationFailed) and error.params.get("field") == "length":
        key = "liaison.error_too_long"
    return deps.catalogue.t(lang, key, **params)
