"""The office's reports (SPEC §4.3, §6): digest and scoreboard texts (``text``), charts
(``charts``), spreadsheets (``tables``), put together by ``build.Reports``; the scheduled
digests (``job``) and ``python -m bot report`` (``cli``). The figures come from SQL
aggregates in ``storage.stats``."""
