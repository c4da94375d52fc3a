"""Use cases. Each public coroutine is one unit of work: it opens ``async with uow:``, does its
work through repositories, writes outbox rows for what must be said, and commits."""
