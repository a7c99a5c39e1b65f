"""Open311 GeoReport v2 answers as XML, in the spec's own shape (wiki.open311.org/GeoReport_v2: XML is the required
format, JSON the optional one). The routes build one Python answer; this turns it into the spec's elements:

* services            -> ``<services><service>…</service></services>``
* service definition  -> ``<service_definition><service_code/><attributes><attribute>…<values><value><key/><name/>``
* requests (POST/GET) -> ``<service_requests><request>…</request></service_requests>``
* errors              -> ``<errors><error><code/><description/></error></errors>``
* discovery           -> ``<discovery>…<endpoints><endpoint>…<formats><format/>…``

Serialised by the standard library's ElementTree, which escapes every text (``<``, ``&``, quotes); characters XML 1.0
cannot carry at all (most C0 controls, lone surrogates, U+FFFE/U+FFFF) are dropped first so the answer always parses.
``true``/``false`` for booleans, an empty element for a missing value (the spec's ``<account_id/>``), UTF-8 with the
XML declaration the spec asks for.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

CONTENT_TYPE = "text/xml; charset=utf-8"
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'  # as the spec's "Encoding" section asks

# list element -> the element each item gets (the spec's plural/singular pairs)
ITEMS = {"services": "service", "attributes": "attribute", "values": "value", "service_requests": "request",
         "errors": "error", "endpoints": "endpoint", "formats": "format"}

_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: str) -> str:
    """Text XML 1.0 can hold (what it cannot is dropped, never sent as a broken document)."""
    return _NOT_XML.sub("", text)


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return clean(str(value))


def _fill(element: ET.Element, value) -> None:
    if isinstance(value, dict):
        for name, inner in value.items():
            _fill(ET.SubElement(element, name), inner)
    elif isinstance(value, list):
        item = ITEMS.get(element.tag, "item")
        for inner in value:
            _fill(ET.SubElement(element, item), inner)
    else:
        element.text = _text(value)


def to_xml(root: str, body) -> bytes:
    """``body`` (a list for the plural roots, a dict for service_definition and discovery) under ``root``."""
    element = ET.Element(root)
    _fill(element, body)
    return DECLARATION + ET.tostring(element, encoding="unicode").encode("utf-8")
