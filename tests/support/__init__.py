"""Shared test support: an offline recording Bot API request, real Update builders, a local
Bot API stand-in for end-to-end tests. Imported by tests/bot, tests/e2e and later suites."""
