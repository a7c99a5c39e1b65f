"""The labelled duplicate-petition corpus (tests/data/duplicates) is well formed.

Reads the two JSONL files only: no store, broker or app. The corpus is built by
tests/data/duplicates/make_corpus.py; README.md beside it has the rules.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data" / "duplicates"
SPLITS = {"dev": "d", "test": "t"}  # file name part -> id prefix

DUPLICATE_KINDS = {
    "resubmitted",
    "reworded",
    "escalated_repeat",
    "different_petitioner_same_matter",
    "partial_overlap",
    "typos_and_variants",
}
DISTINCT_KINDS = {
    "same_petitioner_other_matter",
    "same_subject_other_matter",
    "same_template_other_subject",
    "same_category_unrelated",
    "unrelated",
}
CATEGORIES = {"integrity", "fees", "teaching", "admissions", "safety", "other"}
PAIR_KEYS = {"id", "a", "b", "duplicate", "kind", "note"}
PETITION_KEYS = {"title", "content", "category", "subject_name", "petitioner", "region"}
PETITIONER_KEYS = {"name", "id_number", "phone"}

ID_NUMBER = re.compile(r"\d{17}[\dX]")
PHONE = re.compile(r"1[358]\d{9}")
HAN = re.compile(r"[\u4e00-\u9fff]")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

MIN_PAIRS = 180
MIN_CLASS_SHARE = 0.35


def id_number_is_valid(number: str) -> bool:
    """An 18-character resident number whose last character is its ISO 7064 MOD 11-2 check."""
    if not ID_NUMBER.fullmatch(number):
        return False
    return ID_CHECK[sum(int(c) * w for c, w in zip(number[:17], ID_WEIGHTS)) % 11] == number[17]


@cache
def load(split: str) -> tuple[dict, ...]:
    path = DATA / f"pairs.{split}.jsonl"
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not line and number > 1:  # the newline that ends the last record
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            pytest.fail(f"{path.name}:{number}: not a JSON object: {error}")
    return tuple(records)


def petitions(split: str):
    for record in load(split):
        yield record["id"], "a", record["a"]
        yield record["id"], "b", record["b"]


def test_the_check_digit_rule_itself():
    # The example number of GB 11643, and the same number with a wrong check character.
    assert id_number_is_valid("11010519491231002X")
    assert not id_number_is_valid("110105194912310021")
    assert not id_number_is_valid("11010519491231002")


@pytest.mark.parametrize("split", SPLITS)
def test_every_line_is_a_pair_with_the_schema(split):
    for record in load(split):
        where = f"{split} {record.get('id')}"
        assert isinstance(record, dict) and set(record) == PAIR_KEYS, where
        assert isinstance(record["duplicate"], bool), where
        assert record["kind"] in DUPLICATE_KINDS | DISTINCT_KINDS, where
        assert record["duplicate"] == (record["kind"] in DUPLICATE_KINDS), f"{where}: label and kind disagree"
        assert isinstance(record["note"], str) and record["note"].strip() and "\n" not in record["note"], where
        for side in ("a", "b"):
            petition = record[side]
            assert isinstance(petition, dict) and set(petition) == PETITION_KEYS, f"{where}.{side}"
            assert isinstance(petition["title"], str) and petition["title"].strip(), f"{where}.{side}"
            content = petition["content"]
            assert isinstance(content, str) and 30 <= len(content) <= 400, f"{where}.{side}: {len(content)} characters"
            assert len(HAN.findall(content)) >= 20, f"{where}.{side}: not Chinese text"
            assert petition["category"] in CATEGORIES, f"{where}.{side}"
            subject = petition["subject_name"]
            assert subject is None or (isinstance(subject, str) and subject.strip()), f"{where}.{side}"
            assert isinstance(petition["region"], str) and petition["region"].strip(), f"{where}.{side}"
            petitioner = petition["petitioner"]
            if petitioner is not None:
                assert isinstance(petitioner, dict) and set(petitioner) == PETITIONER_KEYS, f"{where}.{side}"
                assert isinstance(petitioner["name"], str) and petitioner["name"].strip(), f"{where}.{side}"
                assert PHONE.fullmatch(petitioner["phone"]), f"{where}.{side}: phone {petitioner['phone']!r}"


def test_ids_are_unique_and_name_their_file():
    seen = set()
    for split, prefix in SPLITS.items():
        for record in load(split):
            assert re.fullmatch(rf"{prefix}-\d{{3,}}", record["id"]), f"{split}: id {record['id']!r}"
            assert record["id"] not in seen, f"id {record['id']} twice"
            seen.add(record["id"])


@pytest.mark.parametrize("split", SPLITS)
def test_every_identity_number_has_a_valid_check_digit(split):
    numbers = [(pair_id, side, p["petitioner"]["id_number"]) for pair_id, side, p in petitions(split) if p["petitioner"]]
    assert numbers, "no named petitioner at all"
    bad = [(pair_id, side, number) for pair_id, side, number in numbers if not id_number_is_valid(number)]
    assert not bad, f"{split}: invalid identity numbers {bad[:5]}"


@pytest.mark.parametrize("split", SPLITS)
def test_each_file_is_large_enough_and_balanced(split):
    records = load(split)
    assert len(records) >= MIN_PAIRS
    duplicates = sum(r["duplicate"] for r in records)
    for name, count in (("duplicates", duplicates), ("non-duplicates", len(records) - duplicates)):
        assert count / len(records) >= MIN_CLASS_SHARE, f"{split}: {name} are {count} of {len(records)}"


@pytest.mark.parametrize("split", SPLITS)
def test_every_kind_is_present(split):
    kinds = {r["kind"] for r in load(split)}
    assert kinds == DUPLICATE_KINDS | DISTINCT_KINDS, f"{split} lacks {sorted((DUPLICATE_KINDS | DISTINCT_KINDS) - kinds)}"


@pytest.mark.parametrize("split", SPLITS)
def test_petitioner_kinds_mean_what_they_say(split):
    def who(petition):
        return petition["petitioner"]["id_number"] if petition["petitioner"] else None

    for record in load(split):
        a, b = who(record["a"]), who(record["b"])
        if record["kind"] == "same_petitioner_other_matter":
            assert a is not None and a == b, f"{split} {record['id']}: not the same petitioner"
        if record["kind"] == "different_petitioner_same_matter":
            assert a != b, f"{split} {record['id']}: the same petitioner"


def test_no_pair_is_in_both_files():
    def pairs(split):
        return {frozenset((r["a"]["content"], r["b"]["content"])) for r in load(split)}

    shared = pairs("dev") & pairs("test")
    assert not shared, f"{len(shared)} pairs are in both files, e.g. {next(iter(shared))}"


def test_no_petition_text_is_in_both_files():
    # Stronger than the pair rule: the split is by topic group, so no text leaks either way.
    def texts(split):
        return {p["content"] for _, _, p in petitions(split)}

    shared = texts("dev") & texts("test")
    assert not shared, f"{len(shared)} petition texts are in both files, e.g. {next(iter(shared))[:60]}"
