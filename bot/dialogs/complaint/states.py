"""The complaint dialog's states and the constants its modules share (see the package's
docstring for the state machine)."""

from __future__ import annotations

from itertools import pairwise
from typing import Final

from telegram.ext import ConversationHandler

# States (persisted as these numbers: append, never renumber).
DESCRIBE, SCOPE, AREA, UNIT, PLACE, TIME, EVIDENCE, IDENTITY, SUMMARY, EDIT = range(10)
END: Final = ConversationHandler.END
TIMEOUT: Final = ConversationHandler.TIMEOUT

NAME: Final = "complaint"  # the conversation's name in the persistence tables
DRAFT_KEY: Final = "complaint"  # the draft's key in user_data
TIMEOUT_MINUTES: Final = 30
CALLBACK_PREFIX: Final = "cp"
MAX_SUGGESTIONS: Final = 4
MAX_CUES_SHOWN: Final = 5
MAX_TRAIL: Final = 24

# The order of a first pass; the summary's "back" walks it backwards.
LINEAR: Final = (DESCRIBE, AREA, UNIT, PLACE, TIME, EVIDENCE, IDENTITY, SUMMARY)
NEXT: Final = dict(pairwise(LINEAR))
EDIT_TARGETS: Final = {
    "description": DESCRIBE,
    "area": AREA,
    "unit": UNIT,
    "place": PLACE,
    "time": TIME,
    "evidence": EVIDENCE,
    "identity": IDENTITY,
}
