"""When a classified complaint goes to the office's triage queue although the citizen picked an
area (SPEC §4.2, §6: "low-confidence cases" are part of the triage queue; issue 14).

The rule, on the plan's own classifier settings (``[classifier] threshold`` and ``min_margin``,
the same two that make the dialog ask the citizen to pick):

- no classifier result (an office finding), or no pick ("not sure": triaged already): nothing
  to add;
- the classifier was sure (confidence >= threshold and, when known, margin >= min_margin, the
  opposite of ``Classification.needs_choice``): the case routes as picked;
- the classifier was unsure: the case routes only when the citizen picked the classifier's best
  guess *and* that guess stood clear, its margin over the runner-up at least ``min_margin`` and
  its confidence at most ``min_margin`` under the threshold; anything else goes to the office.

Why an agreeing pick is not always enough: the area list shows the classifier's guesses first,
so a citizen who does not know the areas tends to press the first; agreement carries weight only
when the classifier itself was close to sure and not torn between two areas. ``min_margin`` is
the plan's measure of "close" already, so no new setting is added. A margin of None (a filing
that did not record it, such as the Open311 API's) is judged on the confidence alone.
"""

from __future__ import annotations


def low_confidence_needs_triage(
    *,
    picked: str | None,
    area_auto: str | None,
    confidence: float | None,
    margin: float | None,
    threshold: float,
    min_margin: float,
) -> bool:
    """True when the office should check the case before any unit sees it."""
    if confidence is None or picked is None:
        return False
    clear = margin is None or margin >= min_margin
    if confidence >= threshold and clear:
        return False
    agrees = area_auto is not None and picked == area_auto
    return not (agrees and clear and confidence >= threshold - min_margin)
