"""The per-process cache of stored languages (bot/language_cache.py): fresh for ``ttl``,
bounded in size, updated at once by the process that changes a language."""

from __future__ import annotations

from bot.language_cache import LanguageCache


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_an_entry_is_fresh_for_its_ttl_then_must_be_read_again() -> None:
    clock = Clock()
    cache = LanguageCache(ttl=30, monotonic=clock)
    assert cache.get(1) == (False, None)

    cache.put(1, "en")
    cache.put(2, None)  # nothing stored yet is worth remembering too
    clock.t = 29.9
    assert cache.get(1) == (True, "en")
    assert cache.get(2) == (True, None)
    clock.t = 30.0
    assert cache.get(1) == (False, None)


def test_a_change_replaces_the_entry_and_forget_drops_it() -> None:
    cache = LanguageCache(monotonic=Clock())
    cache.put(1, "zh")
    cache.put(1, "en")
    assert cache.get(1) == (True, "en")
    cache.forget(1)
    assert cache.get(1) == (False, None)


def test_the_least_recently_used_user_is_forgotten_first() -> None:
    cache = LanguageCache(size=2, monotonic=Clock())
    cache.put(1, "zh")
    cache.put(2, "en")
    assert cache.get(1) == (True, "zh")  # 1 is now the most recently used
    cache.put(3, "zh")
    assert cache.get(2) == (False, None)
    assert cache.get(1) == (True, "zh")
    assert cache.get(3) == (True, "zh")
