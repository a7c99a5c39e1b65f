"""Administrative divisions of China by their GB/T 2260 six-digit codes, for the form field of kind ``region``.

The data is ``xinfang/static/regions.json`` (the same file the browser's cascading selects read):
``{"650000": "新疆维吾尔自治区", "652800": "巴音郭楞蒙古自治州", "652801": "库尔勒市", ...}``, provinces
(``XX0000``), prefectures (``XXXX00``) and counties, 3,224 in all. It was made from the province,
prefecture and county tables of the public dataset "Administrative-divisions-of-China"
(github.com/modood/Administrative-divisions-of-China, data of the National Bureau of Statistics'
统计用区划代码 2023, licence WTFPL), leaving out the statistics-only codes ``XXXX71``–``XXXX79``
(development zones and the like, which GB/T 2260 does not list). To refresh it, rebuild the same
``{code: name}`` map from a newer release of that dataset.

A region answer is the code of the most precise division chosen: a county, or a prefecture that has
no counties (东莞市 441900). ``region_problem`` says in zh/en what is wrong with an answer.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parents[1] / "static" / "regions.json"


@functools.cache
def names() -> dict[str, str]:
    """Code -> name of every division."""
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


def level(code: str) -> str:
    """"province", "prefecture" or "county" (by the shape of the code)."""
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


@functools.cache
def _children() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"": []}
    for code in names():
        kind = level(code)
        parent = "" if kind == "province" else (code[:2] + "0000" if kind == "prefecture" else code[:4] + "00")
        if kind == "county" and parent not in names():  # a county straight under its province (none today)
            parent = code[:2] + "0000"
        out.setdefault(parent, []).append(code)
    return out


def children(code: str = "") -> list[tuple[str, str]]:
    """(code, name) of the divisions directly under ``code`` ("" for the provinces), in code order."""
    return [(c, names()[c]) for c in _children().get(code, [])]


def path(code: str) -> list[str]:
    """The codes from the province down to ``code`` (known codes only)."""
    if not isinstance(code, str) or code not in names():
        return []
    chain = [code[:2] + "0000"]
    if level(code) != "province":
        if code[:4] + "00" in names() and code[:4] + "00" != chain[0]:
            chain.append(code[:4] + "00")
        if level(code) == "county":
            chain.append(code)
    return [c for c in dict.fromkeys(chain) if c in names()]


def full_name(code: str) -> str:
    """"新疆维吾尔自治区 巴音郭楞蒙古自治州 库尔勒市" ("市辖区" and the like left out), or "" if unknown."""
    shown = [names()[c] for c in path(code)]
    return " ".join(n for n in shown if n not in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"))


def is_precise(code: str) -> bool:
    """A county, or a prefecture without counties."""
    return code in names() and not _children().get(code)


def region_problem(value) -> tuple[str, str] | None:
    """None for a good answer, else (zh, en) without the field name."""
    if not isinstance(value, str) or value not in names():
        return "请从列表中选择行政区划", "choose an administrative division from the list"
    if not is_precise(value):
        return "请选择到区县一级", "choose down to the county or district"
    return None
