"""The classifier report page (issue 14, office only): where the classifier and the office
disagree, as a confusion matrix (the classifier's pick in rows, the area the case ended with
in columns), the most frequent corrections and the phrases most often in disagreement, with
the chat's workbook as a download.

The figures are ``/classifier``'s (``bot.reports.classifier``) for the same period; the rows
carry tracking numbers only, never who complained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.reports.classifier import area_name, classifier_workbook, matrix_rows, read_classifier, stem
from core.services.classifier_report import TOP_CONFUSIONS, TOP_PHRASES, ClassifierResult
from web.reports.common import ReportContext, filter_form
from web.reports.filters import ReportFilter


@dataclass(frozen=True, slots=True)
class MatrixCell:
    count: int
    agreed: bool  # on the diagonal: the office kept the classifier's area


async def result(ctx: ReportContext, flt: ReportFilter, campaign: str | None) -> ClassifierResult:
    """``campaign``: the viewer's (``Viewer.campaign``), as for the exports."""
    return await read_classifier(ctx.read_only, ctx.deps.plan, flt.period, ctx.reports.tz, campaign=campaign)


async def page_context(
    ctx: ReportContext, flt: ReportFilter, lang: str, campaign: str | None = None
) -> dict[str, Any]:
    labels = ctx.labels(lang)
    found = await result(ctx, flt, campaign)
    r = found.report
    # areas nobody picked and no case ended in would be an empty row and column: left out
    used = [a for a in r.areas if any(r.cell(a, b) or r.cell(b, a) for b in r.areas)]
    index = {a: i for i, a in enumerate(r.areas)}
    rows = []
    for auto, full in zip(r.areas, matrix_rows(found, labels), strict=True):
        if auto not in used:
            continue
        cells = [MatrixCell(full[1 + index[final]], auto == final) for final in used]
        rows.append({"area": full[0], "cells": cells, "total": full[-1]})
    return {
        **filter_form(ctx, labels, flt, units=False),
        "labels": labels,
        "with_area": False,
        "total": r.total,
        "summary": labels.p(
            "web.reports.classifier.summary", total=r.total, agreed=r.agreed, percent=labels.percent(r.rate)
        ),
        "columns": [area_name(labels, a) for a in used],
        "rows": rows,
        "confusions": [
            {
                "classifier": area_name(labels, c.classifier),
                "office": area_name(labels, c.office),
                "count": c.count,
                "examples": "、".join(c.examples),
            }
            for c in found.top_confusions(TOP_CONFUSIONS)
        ],
        "phrases": list(found.phrases[:TOP_PHRASES]),
        "download_query": flt.query(),
    }


async def download(
    ctx: ReportContext, flt: ReportFilter, lang: str, campaign: str | None = None
) -> tuple[str, bytes]:
    """The workbook's file name and bytes (the chat's ``/classifier`` document)."""
    found = await result(ctx, flt, campaign)
    return f"{stem(flt.period)}.xlsx", classifier_workbook(found, ctx.labels(lang))
