"""The indexer segments each petition's text once per batch (``analysis.shared_segmentation``): the index's fields,
the fingerprint and the word counts get exactly what each would get segmenting alone, and jieba runs once per text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xinfang_search import analysis
from xinfang_search.analysis import chinese_analyzer, segment, shared_segmentation
from xinfang_search.duplicates import fingerprint
from xinfang_search.terms import petition_terms

DATA = Path(__file__).parent / "data"
TENANT_WORDS = frozenset({"物业公司", "星沙二中", "午托收费", "网约车平台"})


def _corpus() -> list[tuple[str, str, str]]:
    """(title, content, subject) of the search corpus's messages and the duplicate pairs, and texts at the edges."""
    texts = []
    for line in (DATA / "search_corpus" / "messages.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        texts.append((row["title"], row["text"], ""))
    for line in (DATA / "duplicates" / "pairs.dev.jsonl").read_text(encoding="utf-8").splitlines()[:60]:
        row = json.loads(line)
        for side in ("a", "b"):
            texts.append((row[side].get("title", ""), row[side].get("content", ""), row[side].get("subject") or ""))
    texts += [
        ("", "只有正文，没有标题。", ""),
        ("只有标题", "", ""),
        ("", "", ""),
        ("小区物业", "公司乱收费", "物业公司"),  # a tenant word across title and content: never joined over the line
        ("标题里\n有换行", "正文\n也有换行\r\n第三行", "某某单位"),
        ("标题以回车结束\r", "\n正文以换行开始", ""),
        ("物業管理公司亂收費", "乾隆年間的房子，乾燥發黴，樓上漏水。", "業主委員會"),  # traditional: OpenCC by phrase
        ("ＡＢＣ１２３全角", "ｗｉｆｉ信号差，ＡＰＰ打不开", ""),
        ("表格_x000d_导出", "内容_x000D_里有转义_x000a_字符", ""),
    ]
    return texts


def _uses(title: str, content: str, subject: str, words: frozenset[str]):
    """What the drain computes of one petition, in its order: the index's three fields, the word counts, the
    fingerprint's weighted words and the words themselves."""
    analyzer = chinese_analyzer(words)
    fields = [[(t.text, t.pos, t.startchar, t.endchar) for t in analyzer(value, positions=True, chars=True, mode="index")]
              for value in (title, content, subject)]
    counted = petition_terms(title, content, words)
    fp = fingerprint(petition_id="p", tenant_id="t", title=title, content=content, subject_name=subject or None,
                     petitioner=None, tenant_words=words)
    return fields, counted, fp.terms, fp.places, sorted(fp.issues), analysis.words(f"{title}\n{content}", words)


@pytest.mark.parametrize("words", [frozenset(), TENANT_WORDS])
def test_each_use_gets_what_it_got_alone(words):
    corpus = _corpus()
    alone = [_uses(*texts, words) for texts in corpus]
    with shared_segmentation():  # one batch, as the drain runs it
        shared = [_uses(*texts, words) for texts in corpus]
    assert shared == alone


def test_the_combined_text_is_the_same_as_segmented_whole():
    """The joining of title and content's pieces, checked against jieba on the whole text, for every text."""
    for title, content, _ in _corpus():
        for words in (frozenset(), TENANT_WORDS):
            whole = analysis._segment(f"{title}\n{content}", words)
            with shared_segmentation():
                segment(title, words), segment(content, words)
                assert segment(f"{title}\n{content}", words) == whole, (title, content)


def test_jieba_runs_once_per_text_in_a_batch(monkeypatch):
    """A petition's title, content and subject are segmented once each for all three uses: the fingerprint and the
    word counts cost no segmentation of their own (that is the saving; without it this test fails)."""
    calls = []
    real = analysis._segment

    def counting(text, words):
        calls.append(text)
        return real(text, words)
    monkeypatch.setattr(analysis, "_segment", counting)
    title, content, subject = "小区物业乱收费", "梅溪湖畔小区物业公司乱收停车费，业主多次反映无人处理。", "某物业公司"
    with shared_segmentation():
        _uses(title, content, subject, TENANT_WORDS)
    assert sorted(calls) == sorted([title, content, subject])
    calls.clear()
    _uses(title, content, subject, TENANT_WORDS)  # outside a batch: each use segments for itself, nothing is kept
    assert len(calls) > 3


def test_nothing_kept_after_the_batch():
    with shared_segmentation():
        segment("物业公司乱收费")
        assert analysis._shared.get()
    assert analysis._shared.get() is None


def test_a_caller_changing_its_list_changes_no_other_use():
    with shared_segmentation():
        first = segment("物业公司乱收费")
        first.clear()
        assert segment("物业公司乱收费") == analysis._segment("物业公司乱收费", frozenset())


def test_issue_similarity_as_before():
    """``issue_similarity`` looks a word up in the places' names joined, not name by name: the same figure for every
    pair of the corpus (each place named, none, and words inside names)."""
    from xinfang_search import duplicates

    def one_by_one(new, old):  # the check as it was written first
        names = [name for _, name in new.places + old.places]

        def issue(terms):
            return {w: x for w, x in terms.items() if not any(w in name for name in names)}
        return duplicates.cosine(issue(new.terms), issue(old.terms))

    prints = [fingerprint(petition_id=str(i), tenant_id="t", title=title, content=content, subject_name=subject or None, petitioner=None)
              for i, (title, content, subject) in enumerate(_corpus()[:160])]
    assert sum(1 for fp in prints if fp.places) > 20  # the corpus names places: the joined lookup is exercised
    for new in prints[:40]:
        for old in prints:
            assert duplicates.issue_similarity(new, old) == one_by_one(new, old)


def test_minhash_signature_as_before():
    """The MinHash permutations are drawn once per process: a signature is what a MinHash drawn afresh gives."""
    import numpy as np
    from datasketch import MinHash

    from xinfang_search import duplicates

    for items in ([], ["物业"], ["物业", "收费", "停车", "梅溪湖畔"], [f"词{i}" for i in range(40)]):
        fresh = MinHash(num_perm=duplicates.NUM_PERM, seed=duplicates._SEED)
        fresh.update_batch([item.encode("utf-8") for item in items] or [b"\x00empty"])
        assert np.array_equal(duplicates._minhash(items), fresh.hashvalues.astype(np.uint64))


def test_a_fingerprint_row_read_again_is_the_same_fingerprint(tmp_path):
    """Rows are decoded once (keyed by every column): reading a row again gives an equal fingerprint, and storing the
    petition anew (other words) gives the new one, not the one decoded before."""
    from xinfang_search.duplicates import FingerprintStore

    store = FingerprintStore(tmp_path / "fingerprints.sqlite3")
    first = fingerprint(petition_id="p1", tenant_id="t", title="小区物业乱收费", content="梅溪湖畔小区物业公司乱收停车费。",
                        subject_name=None, petitioner="k1", created="2026-12-01T00:00:00+00:00")
    store.put(first)
    read = store.get("p1")
    assert store.get("p1") is read and store.get_many(["p1"])["p1"] is read  # decoded once
    assert (read.terms, read.places, read.issues, read.petitioner) == ({w: round(x, 3) for w, x in first.terms.items()},
                                                                      first.places, first.issues, "k1")
    changed = fingerprint(petition_id="p1", tenant_id="t", title="学校违规补课", content="县第五中学寒假组织补课，每人收费800元。",
                          subject_name="县第五中学", petitioner="k1", created="2026-12-01T00:00:00+00:00")
    store.put(changed)
    again = store.get("p1")
    assert again is not read and again.subject == "5中" and set(again.terms) == set(changed.terms)
