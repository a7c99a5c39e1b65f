"""Precision and recall of duplicate detection on the labelled pairs in tests/data/duplicates/.

Every pair goes through the platform's own code: ``duplicates.fingerprint`` (jieba
words, TF-IDF keywords, MinHash signatures), ``petitions.service.petitioner_key``
(the keyed hash of the petitioner) and ``duplicates.pair_score``; a pair is
predicted "the same matter" when ``is_likely_duplicate(score)``. Baseline in the
same run: character-bigram Jaccard of the two texts >= 0.5 (what a quick
implementation without words would do).

"End to end" adds candidate generation: every pair's first petition goes into a
real FingerprintStore (SQLite), and the second finds it only if the store's
lookups (same petitioner, same subject, LSH bands) return it among the others.

The threshold was tuned on pairs.dev.jsonl only; pairs.test.jsonl is held out.
``--sweep`` prints precision/recall at other thresholds on dev (to re-tune).

    .venv/bin/python bench/duplicates_quality.py [--sweep] [--show-errors]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT / "search")]

from xinfang.crypto import KeyRing  # noqa: E402
from xinfang.petitions.service import petitioner_key  # noqa: E402
from xinfang_search import duplicates  # noqa: E402

DATA = ROOT / "tests" / "data" / "duplicates"
KEYRING = KeyRing(b"bench-duplicates-quality-key-32b")


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def fingerprint(petition: dict, pid: str):
    who = petitioner_key(KEYRING, petition["petitioner"]) if petition.get("petitioner") else None
    return duplicates.fingerprint(petition_id=pid, tenant_id="t", title=petition["title"], content=petition["content"],
                                  subject_name=petition.get("subject_name"), petitioner=who)


def char_bigrams(text: str) -> set[str]:
    text = "".join(ch for ch in text if ch.isalnum())
    return {text[i:i + 2] for i in range(len(text) - 1)}


def baseline_same(pair) -> bool:
    a, b = (char_bigrams(p["title"] + p["content"]) for p in (pair["a"], pair["b"]))
    return len(a & b) / max(1, len(a | b)) >= 0.5


def scores(pairs):
    out = []
    for pair in pairs:
        old, new = fingerprint(pair["a"], pair["id"] + "a"), fingerprint(pair["b"], pair["id"] + "b")
        score, similarity, reasons = duplicates.pair_score(new, old)
        out.append((pair, score, similarity, reasons))
    return out


def found_through_the_store(pairs) -> list[bool]:
    with tempfile.TemporaryDirectory() as folder:
        store = duplicates.FingerprintStore(Path(folder) / "fingerprints.sqlite3")
        store.put_many([fingerprint(p["a"], p["id"] + "a") for p in pairs])
        verdicts = []
        for pair in pairs:
            new = fingerprint(pair["b"], pair["id"] + "b")
            hits = {fp.petition_id: score for fp, score, _, _ in duplicates.scored_candidates(store, new, ["t"])}
            verdicts.append(duplicates.is_likely_duplicate(hits.get(pair["id"] + "a", 0.0)))
        store.close()
    return verdicts


def metrics(truths_predictions) -> dict:
    tp = sum(1 for t, p in truths_predictions if t and p)
    fp = sum(1 for t, p in truths_predictions if not t and p)
    fn = sum(1 for t, p in truths_predictions if t and not p)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def line(name: str, m: dict) -> str:
    return f"  {name:<38} precision {m['precision']:.3f}  recall {m['recall']:.3f}  F1 {m['f1']:.3f}  (tp {m['tp']}, fp {m['fp']}, fn {m['fn']})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sweep", action="store_true", help="precision/recall on dev at other thresholds")
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    print(f"duplicate detection quality; threshold LIKELY_SCORE = {duplicates.LIKELY_SCORE}")
    for name in ("pairs.dev.jsonl", "pairs.test.jsonl"):
        pairs = load(name)
        scored = scores(pairs)
        ours = metrics([(p["duplicate"], duplicates.is_likely_duplicate(s)) for p, s, _, _ in scored])
        base = metrics([(p["duplicate"], baseline_same(p)) for p in pairs])
        end_to_end = metrics(list(zip([p["duplicate"] for p in pairs], found_through_the_store(pairs))))
        print(f"\n{name} ({len(pairs)} pairs, {sum(p['duplicate'] for p in pairs)} duplicates)")
        print(line("ours (pair_score >= threshold)", ours))
        print(line("ours, end to end through the store", end_to_end))
        print(line("baseline (char-bigram Jaccard >= 0.5)", base))
        print(f"  ratio ours / baseline: F1 {ours['f1'] / base['f1'] if base['f1'] else float('inf'):.2f}")
        by_kind = defaultdict(Counter)
        for pair, score, _, _ in scored:
            by_kind[pair["kind"]]["right" if duplicates.is_likely_duplicate(score) == pair["duplicate"] else "wrong"] += 1
        print("  per kind (right/all): " + ", ".join(f"{k} {c['right']}/{c['right'] + c['wrong']}" for k, c in sorted(by_kind.items())))
        if args.show_errors:
            for pair, score, similarity, reasons in scored:
                if duplicates.is_likely_duplicate(score) != pair["duplicate"]:
                    print(f"    {pair['id']} {pair['kind']:<34} truth={pair['duplicate']!s:<5} score={score:.2f} sim={similarity:.2f} {reasons}")
        if args.sweep and name.startswith("pairs.dev"):
            print("  threshold sweep on dev:")
            for threshold in [x / 100 for x in range(20, 80, 5)]:
                m = metrics([(p["duplicate"], s >= threshold) for p, s, _, _ in scored])
                print(f"    {threshold:.2f}: precision {m['precision']:.3f} recall {m['recall']:.3f} F1 {m['f1']:.3f}")


if __name__ == "__main__":
    main()
