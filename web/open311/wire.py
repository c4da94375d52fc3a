"""Open311 GeoReport v2 on the wire: JSON or XML bodies, and the error arrays.

Every answer, errors included, has the shape the specification gives, so an off-the-shelf
Open311 client can read our refusals as well as our data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any
from xml.etree import ElementTree

from starlette.responses import Response

Item = Mapping[str, Any]


class Format(StrEnum):
    JSON = "json"
    XML = "xml"


# the XML root and item element names of each kind of list, as the specification names them
_XML_NAMES = {
    "services": ("services", "service"),
    "requests": ("service_requests", "request"),
    "errors": ("errors", "error"),
}


class Open311Error(Exception):
    """An answer of ``status`` with one error whose description is the catalogue text
    ``web.open311.error.<key>``: the views raise it, the error handler renders it."""

    def __init__(
        self, status: int, key: str, headers: Mapping[str, str] | None = None, **params: Any
    ) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.params = params
        self.headers = dict(headers or {})


def render(
    kind: str,
    items: Sequence[Item],
    fmt: Format,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    if fmt is Format.XML:
        body = _xml(kind, items)
        media = "text/xml; charset=utf-8"
    else:
        body = json.dumps(list(items), ensure_ascii=False, separators=(",", ":")).encode()
        media = "application/json; charset=utf-8"
    return Response(body, status_code=status, media_type=media, headers=dict(headers or {}))


def _xml(kind: str, items: Sequence[Item]) -> bytes:
    root_name, item_name = _XML_NAMES[kind]
    root = ElementTree.Element(root_name)
    for item in items:
        element = ElementTree.SubElement(root, item_name)
        for name, value in item.items():
            child = ElementTree.SubElement(element, name)
            if isinstance(value, bool):
                child.text = "true" if value else "false"
            elif value is not None:
                child.text = str(value)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ElementTree.tostring(root, encoding="unicode").encode()
