"""Duplicate detection against the held-out labelled pairs: precision and recall of at least 0.9,
end to end through a real fingerprint store (bench/duplicates_quality.py prints the details)."""

from __future__ import annotations

import importlib.util

from tests.conftest import REPO_ROOT


def quality_module():
    spec = importlib.util.spec_from_file_location("duplicates_quality", REPO_ROOT / "bench" / "duplicates_quality.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_repeat_petitions_are_found_with_precision_and_recall_of_at_least_0_9_on_held_out_pairs():
    quality = quality_module()
    pairs = quality.load("pairs.test.jsonl")
    end_to_end = quality.metrics(list(zip([p["duplicate"] for p in pairs], quality.found_through_the_store(pairs))))
    assert end_to_end["precision"] >= 0.9 and end_to_end["recall"] >= 0.9, end_to_end
    baseline = quality.metrics([(p["duplicate"], quality.baseline_same(p)) for p in pairs])
    assert end_to_end["f1"] > baseline["f1"]  # words, subjects and petitioners beat raw character overlap
