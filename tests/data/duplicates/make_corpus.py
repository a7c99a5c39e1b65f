#!/usr/bin/env python3
"""Build the labelled duplicate-petition (判重) corpus from ``sources.txt``.

    .venv/bin/python tests/data/duplicates/make_corpus.py

The hand-written petitions and the pairs they form are in ``sources.txt``; this
script adds the mechanical variants (resubmissions with other punctuation or
spacing; homophone typos, traditional characters and numbers written out), the
petitioners (masked names, resident numbers with a correct check digit), the
split of the topic groups into a development and a held-out half, and the
random pairs between groups (``same_category_unrelated``, ``unrelated``).
Everything is seeded: running it again writes the same ``pairs.dev.jsonl`` and
``pairs.test.jsonl`` and the same count tables in ``README.md``.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20241108

DUPLICATE_KINDS = (
    "resubmitted",
    "reworded",
    "escalated_repeat",
    "different_petitioner_same_matter",
    "partial_overlap",
    "typos_and_variants",
)
DISTINCT_KINDS = (
    "same_petitioner_other_matter",
    "same_subject_other_matter",
    "same_template_other_subject",
    "same_category_unrelated",
    "unrelated",
)
KINDS = DUPLICATE_KINDS + DISTINCT_KINDS
CATEGORIES = ("integrity", "fees", "teaching", "admissions", "safety", "other")
CATEGORY_ZH = {"integrity": "廉政", "fees": "收费", "teaching": "教学", "admissions": "招生",
               "safety": "安全", "other": "其他"}
# Pairs drawn between groups of the same split, per split.
RANDOM_PAIRS = {"same_category_unrelated": 18, "unrelated": 15}

# Administrative division codes: the first six digits of a resident number.
AREA_CODES = {
    "泗阳县": "321323", "沭阳县": "321322", "泗洪县": "321324", "宿豫区": "321311",
    "库尔勒市": "652801", "轮台县": "652822", "尉犁县": "652823", "焉耆县": "652826",
    "和静县": "652827", "博湖县": "652829", "涟水县": "320826", "盱眙县": "320830",
    "睢宁县": "320324", "丰县": "320321", "沛县": "320322", "东海县": "320722",
    "灌南县": "320724", "响水县": "320921", "滨海县": "320922", "阜宁县": "320923",
    "射阳县": "320924", "建湖县": "320925", "赣榆区": "320707",
}
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
            "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵")
GIVEN = "军华明红梅芳丽强伟静敏杰勇娟霞涛斌刚平辉英玲燕峰鹏磊超兰萍云龙海波林春秀凤建国志桂珍"

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def id_check_char(body17: str) -> str:
    """ISO 7064 MOD 11-2 check character of a resident identity number (GB 11643)."""
    return ID_CHECK[sum(int(c) * w for c, w in zip(body17, ID_WEIGHTS)) % 11]


# ---------------------------------------------------------------- variants --

HOMOPHONES = (
    ("反映", "反应"), ("已经", "以经"), ("根本", "跟本"), ("必须", "必需"), ("座位", "坐位"),
    ("账", "帐"), ("处理", "处里"), ("严肃", "严素"), ("希望", "稀望"), ("调查", "调察"),
    ("事情", "事请"), ("再次", "在次"), ("重视", "重事"), ("部门", "部们"), ("办理", "半理"),
    ("收费", "收废"), ("家长", "家常"), ("领导", "领到"), ("检查", "检察"), ("到底", "倒底"),
    ("而且", "而切"), ("公示", "公式"), ("违规", "违归"), ("老师", "老是"), ("其他", "其它"),
    ("补课", "补客"), ("一直", "一值"), ("上级", "上及"), ("什么", "神么"), ("收取", "收娶"),
    ("发票", "发漂"), ("查一查", "察一察"), ("工资", "工支"), ("名额", "名客"), ("核实", "核时"),
    ("班主任", "班主人"), ("理由", "里由"), ("合规", "合归"), ("截至", "截止"), ("交代", "交待"),
)
_TRAD_PAIRS = (
    "学學们們这這个個说說对對时時没沒还還过過后後让讓给給买買卖賣报報补補课課级級导導领領资資"
    "题題单單员員门門关關开開实實现現长長费費钱錢师師问問书書县縣处處为為经經里裡头頭来來发發"
    "办辦应應该該职職务務场場车車饭飯证證点點两兩间間听聽几幾样樣岁歲会會动動议議记記账賬认認"
    "识識东東从從种種乡鄉镇鎮区區贵貴价價质質检檢调調请請谁誰难難节節农農园園红紅轻輕线線组組"
    "纪紀终終结結统統续續网網罚罰骂罵脸臉药藥医醫养養饮飲馆館鸡雞鱼魚楼樓条條杂雜压壓历歷厂廠"
    "广廣庄莊库庫废廢张張强強当當录錄归歸态態总總户戶护護担擔择擇挂掛换換据據数數断斷无無旧舊"
    "术術机機权權标標桥橋毕畢气氣沟溝满滿灯燈炉爐烟煙热熱状狀独獨环環电電监監码碼确確礼禮离離"
    "积積称稱穷窮简簡类類紧緊纸紙练練细細绩績维維综綜联聯肃肅脑腦获獲营營虽雖装裝规規视視觉覺"
    "订訂讨討训訓讲講许許论論设設访訪评評诉訴试試话話询詢语語误誤读讀谈談谢謝负負财財责責货貨"
    "购購贴貼资資赔賠赶趕转轉轮輪载載较較辅輔辆輛输輸边邊达達运運进進远遠违違连連迟遲选選适適"
    "邻鄰钟鐘铁鐵银銀销銷锁鎖错錯闭閉闹鬧闻聞队隊阳陽际際陆陸陈陳险險随隨隐隱静靜须須顶頂项項"
    "顺順顾顧预預频頻饱飽马馬驶駛驾駕验驗齐齊龙龍亲親爷爺桌桌业業丢丟严嚴决決况況冻凍刘劉则則"
    "剧劇办辦务務动動劳勞势勢单單卫衛厕廁参參双雙变變叶葉号號吓嚇听聽响響员員围圍图圖块塊坏壞"
)
TRADITIONAL = {_TRAD_PAIRS[i]: _TRAD_PAIRS[i + 1] for i in range(0, len(_TRAD_PAIRS), 2)}
HALF_WIDTH = str.maketrans({"，": ",", "。": ".", "：": ":", "；": ";", "（": "(", "）": ")",
                            "！": "!", "？": "?"})
FULL_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
NUMBER_UNITS = "元|块|个|名|人|年|天|次|亩|间|套|台|分|岁|节|户|万|公里|点|多|本|辆|小时|平"
# A date (2024年3月1日, 10月17日, 7月) is written out as a whole; other numbers before a unit alone.
NUMBER = re.compile(
    r"(?<![\d.—-])(?:(?P<year>\d{4})年)?(?P<month>\d{1,2})月(?:(?P<day>\d{1,2})(?P<day_unit>[日号]))?"
    rf"|(?<![\d.—-])(?P<number>\d+)(?![\d.])(?=(?:{NUMBER_UNITS}))"
)
DIGITS_ZH = "零一二三四五六七八九"


def _cn_below_10000(n: int, leading: bool) -> str:
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d:
            if zero:
                out += "零"
                zero = False
            if not (value == 10 and d == 1 and not out and leading):
                out += DIGITS_ZH[d]
            out += unit
        elif out:
            zero = True
    return out


def cn_number(n: int) -> str:
    """180 -> 一百八十, 13000 -> 一万三千, 2500 -> 两千五百."""
    if n >= 10000:
        high, low = divmod(n, 10000)
        text = _cn_below_10000(high, True) + "万"
        if low:
            text += ("零" if low < 1000 else "") + _cn_below_10000(low, False)
    else:
        text = _cn_below_10000(n, True) or "零"
    if text[:2] in ("二千", "二万"):
        text = "两" + text[1:]
    return text


def _year_in_words(digits: str) -> str:
    return "".join("〇" if c == "0" else DIGITS_ZH[int(c)] for c in digits)


def _number_in_words(match: re.Match) -> str:
    if match.group("month"):
        words = cn_number(int(match.group("month"))) + "月"
        if match.group("year"):
            words = _year_in_words(match.group("year")) + "年" + words
        if match.group("day"):
            words += cn_number(int(match.group("day"))) + match.group("day_unit")
        return words
    digits = match.group("number")
    if len(digits) == 4 and match.string.startswith("年", match.end()):
        return _year_in_words(digits)
    return cn_number(int(digits))


def resubmission(title: str, content: str, rng: random.Random) -> tuple[str, str, str]:
    """The same petition sent again: only punctuation width, digits width or spacing differ."""
    ops = ["halfwidth", "linebreaks", "spaces"] + (["fulldigits"] if re.search(r"\d", content) else [])
    chosen = rng.sample(ops, k=rng.choice((1, 2)))
    done = []
    for op in chosen:
        if op == "halfwidth":
            content = content.translate(HALF_WIDTH)
            done.append("标点改为半角")
        elif op == "fulldigits":
            content = content.translate(FULL_DIGITS)
            done.append("数字改为全角")
        elif op == "linebreaks":
            content = re.sub(r"([。！？])(?=.)", lambda m: m.group(1) + rng.choice(("\n", "\n\n", "\r\n")), content)
            done.append("分段换行")
        else:
            content = re.sub(r"，", lambda m: "， " if rng.random() < 0.4 else "，", content)
            content = "  " + content + " "
            done.append("多出空格")
    if rng.random() < 0.4 and not title.startswith("关于"):
        title = f"关于{title}的问题"
        done.append("标题略改")
    return title, content, "原文再次提交，仅" + "、".join(done)


def typo_variant(title: str, content: str, rng: random.Random) -> tuple[str, str, str]:
    """Homophone typos, a sentence in traditional characters, numbers written in words."""
    homophones = [pair for pair in HOMOPHONES if pair[0] in content]
    sentences = [s for s in re.findall(r"[^。！？]+[。！？]", content)
                 if sum(ch in TRADITIONAL for ch in s) >= 5]
    numbers = list(NUMBER.finditer(content))
    ops = [op for op, ok in (("homophones", homophones), ("traditional", sentences), ("numbers", numbers)) if ok]
    chosen = rng.sample(ops, k=min(len(ops), rng.choice((2, 2, 3))))
    done = []
    if "numbers" in chosen:
        picked = set(rng.sample(range(len(numbers)), k=min(len(numbers), rng.choice((1, 2, 3)))))
        changes = []

        def replace(match: re.Match, counter=iter(range(len(numbers)))) -> str:
            if next(counter) not in picked:
                return match.group(0)
            words = _number_in_words(match)
            changes.append(f"{match.group(0)}→{words}")
            return words

        content = NUMBER.sub(replace, content)
        done.append("数字写法（" + "、".join(changes) + "）")
    if "traditional" in chosen:
        sentence = rng.choice(sentences)
        content = content.replace(sentence, "".join(TRADITIONAL.get(ch, ch) for ch in sentence), 1)
        done.append("一句繁体字")
    if "homophones" in chosen:
        picked_pairs = rng.sample(homophones, k=min(len(homophones), rng.choice((1, 2, 3))))
        for right, wrong in picked_pairs:
            content = content.replace(right, wrong, 1)
            title = title.replace(right, wrong, 1)
        done.append("同音错字（" + "、".join(f"{r}→{w}" for r, w in picked_pairs) + "）")
    return title, content, "同一内容，" + "；".join(done)


# ------------------------------------------------------------------ source --

@dataclass
class Petition:
    group: str
    label: str
    title: str
    content: str
    category: str
    subject_name: str | None
    region: str
    petitioner: dict | None

    def as_json(self) -> dict:
        return {"title": self.title, "content": self.content, "category": self.category,
                "subject_name": self.subject_name, "petitioner": self.petitioner, "region": self.region}

    def subject_key(self) -> tuple[str, str] | None:
        return (self.subject_name, self.region) if self.subject_name else None

    def petitioner_id(self) -> str | None:
        return self.petitioner["id_number"] if self.petitioner else None


class SourceError(ValueError):
    pass


OPTION = re.compile(r"^(subj|cat|region|subs|of)=(.*)$")


class GroupBuilder:
    """Reads one ``== gNN`` block: its petitions and the labelled pairs between them."""

    def __init__(self, name: str):
        self.name = name
        self.rng = random.Random(f"{SEED}/{name}")
        self.people: dict[str, dict] = {}
        self.items: dict[str, Petition] = {}
        self.pairs: list[dict] = []
        self.matter: Petition | None = None
        self.pending: dict | None = None  # the item whose T/C lines are being read

    def person(self, key: str, region: str) -> dict:
        if key not in self.people:
            rng = random.Random(f"{SEED}/{self.name}/{key}")
            birth = date(1952, 1, 1) + timedelta(days=rng.randrange(365 * 50))
            body = AREA_CODES[region] + birth.strftime("%Y%m%d") + f"{rng.randrange(1, 1000):03d}"
            self.people[key] = {
                "name": rng.choice(SURNAMES) + "某" + rng.choice(GIVEN),
                "id_number": body + id_check_char(body),
                "phone": rng.choice(("13", "15", "18")) + str(rng.randrange(10)) + f"{rng.randrange(10**8):08d}",
            }
        return self.people[key]

    def who(self, spec: str, region: str, base: Petition | None) -> dict | None:
        if spec == "anon":
            return None
        if spec == "same":
            if base is None:
                raise SourceError("'same' petitioner without a base petition")
            return base.petitioner
        if spec.startswith("P:"):
            return self.person(spec[2:], region)
        raise SourceError(f"bad petitioner {spec!r}")

    def add_pair(self, a: Petition, b: Petition, kind: str, note: str) -> None:
        if kind not in KINDS:
            raise SourceError(f"unknown kind {kind!r}")
        self.pairs.append({"a": a, "b": b, "duplicate": kind in DUPLICATE_KINDS, "kind": kind, "note": note})

    def line(self, text: str) -> None:
        head, _, rest = text.partition(" ")
        if head in ("T", "C"):
            if self.pending is None:
                raise SourceError(f"{head} line outside an item")
            self.pending[head] = rest.strip()
            return
        self.finish_pending()
        fields = [f.strip() for f in rest.split("|")]
        if head == "*":
            label, category, subject, region, who = fields
            self.pending = {"type": "matter", "label": label, "category": category,
                            "subject": None if subject == "-" else subject, "region": region, "who": who}
        elif head in (">", "~"):
            kind, _, label = fields[0].partition("@")
            options, notes = {}, []
            for field in fields[2:]:
                match = OPTION.match(field)
                if match:
                    options[match.group(1)] = match.group(2)
                else:
                    notes.append(field)
            base = self.items[options.get("of", self.matter.label if self.matter else "")]
            self.pending = {"type": head, "kind": kind, "label": label or None, "who": fields[1],
                            "options": options, "note": " ".join(notes), "base": base}
        elif head == "+":
            kind, ref, note = fields
            self.add_pair(self.items[ref], self.matter, kind, note)
        elif head == "=":
            kind, ref_a, ref_b, note = fields
            self.add_pair(self.items[ref_a], self.items[ref_b], kind, note)
        else:
            raise SourceError(f"cannot read line {text!r}")

    def finish_pending(self) -> None:
        item, self.pending = self.pending, None
        if item is None:
            return
        if item["type"] == "matter":
            if "T" not in item or "C" not in item:
                raise SourceError(f"{self.name}/{item['label']}: a matter needs T and C")
            petition = Petition(self.name, item["label"], item["T"], item["C"], item["category"], item["subject"],
                                item["region"], self.who(item["who"], item["region"], None))
            self.items[petition.label] = petition
            self.matter = petition
            return
        base: Petition = item["base"]
        options = item["options"]
        kind = item["kind"]
        region = options.get("region", base.region)
        subject = options.get("subj", base.subject_name)
        title, content, note = item.get("T"), item.get("C"), item["note"]
        if item["type"] == ">" and content is None:
            make = {"resubmitted": resubmission, "typos_and_variants": typo_variant}.get(kind)
            if make is None:
                raise SourceError(f"{self.name}: {kind} needs its own C line")
            title, content, auto_note = make(base.title, base.content, self.rng)
            note = note or auto_note
        elif item["type"] == "~" and content is None:
            content, derived_title = base.content, base.title
            for rule in options["subs"].split(";"):
                old, new = rule.split(">")
                if old not in content:
                    raise SourceError(f"{self.name}: {old!r} is not in the text it replaces")
                content = content.replace(old, new)
                derived_title = derived_title.replace(old, new)
            title = title or derived_title
        content = content.replace("{BASE}", base.content)
        petition = Petition(self.name, item["label"] or f"{base.label}.{len(self.pairs)}", title, content,
                            options.get("cat", base.category), None if subject == "-" else subject, region,
                            self.who(item["who"], region, base))
        self.items[petition.label] = petition
        self.add_pair(base, petition, kind, note)


def read_groups(path: Path) -> list[GroupBuilder]:
    groups: list[GroupBuilder] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        try:
            if text.startswith("== "):
                if groups:
                    groups[-1].finish_pending()
                groups.append(GroupBuilder(text[3:].strip()))
            else:
                groups[-1].line(text)
        except (SourceError, KeyError, ValueError) as error:
            raise SourceError(f"{path.name}:{number}: {error}") from error
    groups[-1].finish_pending()
    return groups


# ------------------------------------------------------------------ checks --

def check_pair(pair: dict) -> None:
    a, b, kind = pair["a"], pair["b"], pair["kind"]
    where = f"{a.group} {kind} {a.label}/{b.label}"
    for p in (a, b):
        if not 30 <= len(p.content) <= 400:
            raise SourceError(f"{where}: content of {p.label} is {len(p.content)} characters")
        if p.category not in CATEGORIES or p.region not in AREA_CODES:
            raise SourceError(f"{where}: category or region of {p.label}")
    if a.content == b.content and kind != "resubmitted":
        raise SourceError(f"{where}: identical contents")
    if kind == "different_petitioner_same_matter":
        if a.petitioner_id() == b.petitioner_id():
            raise SourceError(f"{where}: the petitioners must differ")
    if kind == "same_petitioner_other_matter":
        if a.petitioner is None or a.petitioner_id() != b.petitioner_id():
            raise SourceError(f"{where}: the petitioner must be the same person")
    if kind == "same_subject_other_matter":
        if a.subject_key() != b.subject_key():
            raise SourceError(f"{where}: the subject must be the same")
    if kind == "same_template_other_subject":
        if a.subject_key() == b.subject_key():
            raise SourceError(f"{where}: the subject must differ")


# ------------------------------------------------------------------- split --

def stable_hash(text: str) -> int:
    return int(hashlib.sha256(f"{SEED}/{text}".encode()).hexdigest()[:12], 16)


def split_groups(groups: list[GroupBuilder]) -> dict[str, list[GroupBuilder]]:
    """Whole topic groups to dev or test, greedily keeping every kind's counts level."""
    halves: dict[str, list[GroupBuilder]] = {"dev": [], "test": []}
    counts = {"dev": Counter(), "test": Counter()}
    order = sorted(groups, key=lambda g: (-len(g.pairs), stable_hash(g.name)))
    for group in order:
        kinds = Counter(p["kind"] for p in group.pairs)

        def imbalance(side: str) -> tuple[int, int]:
            other = "test" if side == "dev" else "dev"
            mine = counts[side] + kinds
            score = sum((mine[k] - counts[other][k]) ** 2 for k in KINDS)
            score += (sum(mine.values()) - sum(counts[other].values())) ** 2
            return score, stable_hash(group.name + side)

        side = min(("dev", "test"), key=imbalance)
        halves[side].append(group)
        counts[side] += kinds
    return halves


def random_pairs(groups: list[GroupBuilder], rng: random.Random) -> list[dict]:
    """Pairs of petitions from different groups: same category, or not."""
    pool = [p for g in groups for p in g.items.values()]
    used: Counter = Counter()
    seen: set[tuple[str, str]] = set()
    pairs = []
    for kind, wanted in RANDOM_PAIRS.items():
        made = 0
        while made < wanted:
            a = rng.choice(pool)
            candidates = [
                b for b in pool
                if b.group != a.group
                and (b.category == a.category) == (kind == "same_category_unrelated")
                and (a.subject_key() is None or a.subject_key() != b.subject_key())
                and (a.petitioner is None or a.petitioner_id() != b.petitioner_id())
                and used[b.content] < 2
                and (a.content, b.content) not in seen and (b.content, a.content) not in seen
            ]
            if not candidates or used[a.content] >= 2:
                continue
            b = rng.choice(candidates)
            if rng.random() < 0.5:
                a, b = b, a
            seen.add((a.content, b.content))
            used[a.content] += 1
            used[b.content] += 1
            if kind == "same_category_unrelated":
                note = f"同属{CATEGORY_ZH[a.category]}类，但被反映对象和事实都不同"
            else:
                note = f"类别不同（{CATEGORY_ZH[a.category]}／{CATEGORY_ZH[b.category]}），事项无关"
            pairs.append({"a": a, "b": b, "duplicate": False, "kind": kind, "note": note})
            made += 1
    return pairs


# ------------------------------------------------------------------ output --

def write_split(path: Path, prefix: str, pairs: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for number, pair in enumerate(pairs, 1):
            record = {"id": f"{prefix}-{number:03d}", "a": pair["a"].as_json(), "b": pair["b"].as_json(),
                      "duplicate": pair["duplicate"], "kind": pair["kind"], "note": pair["note"]}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def count_table(splits: dict[str, list[dict]]) -> str:
    counts = {side: Counter(p["kind"] for p in pairs) for side, pairs in splits.items()}
    rows = ["| kind | duplicate | dev | test |", "| --- | --- | ---: | ---: |"]
    for kind in KINDS:
        label = "true" if kind in DUPLICATE_KINDS else "false"
        rows.append(f"| `{kind}` | {label} | {counts['dev'][kind]} | {counts['test'][kind]} |")
    for label, value in (("duplicates", True), ("non-duplicates", False)):
        cells = [sum(p["duplicate"] is value for p in splits[s]) for s in ("dev", "test")]
        rows.append(f"| **{label}** | {str(value).lower()} | {cells[0]} | {cells[1]} |")
    rows.append(f"| **all pairs** | | {len(splits['dev'])} | {len(splits['test'])} |")
    texts = [len({q.content for pair in splits[s] for q in (pair["a"], pair["b"])}) for s in ("dev", "test")]
    rows.append(f"| **distinct petition texts** | | {texts[0]} | {texts[1]} |")
    return "\n".join(rows)


def refresh_readme(splits: dict[str, list[dict]], halves: dict[str, list[GroupBuilder]]) -> None:
    readme = HERE / "README.md"
    text = readme.read_text(encoding="utf-8")
    groups = "\n".join(f"- {side}: " + ", ".join(sorted(g.name for g in halves[side])) for side in ("dev", "test"))
    for marker, body in (("counts", count_table(splits)), ("groups", groups)):
        start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
        before, _, tail = text.partition(start)
        _, _, after = tail.partition(end)
        text = f"{before}{start}\n{body}\n{end}{after}"
    readme.write_text(text, encoding="utf-8")


def main() -> None:
    groups = read_groups(HERE / "sources.txt")
    halves = split_groups(groups)
    rng = random.Random(SEED)
    splits = {}
    for side in ("dev", "test"):
        pairs = [p for g in sorted(halves[side], key=lambda g: g.name) for p in g.pairs]
        pairs += random_pairs(halves[side], rng)
        for pair in pairs:
            check_pair(pair)
        rng.shuffle(pairs)
        splits[side] = pairs
        write_split(HERE / f"pairs.{side}.jsonl", side[0], pairs)
    refresh_readme(splits, halves)
    print(count_table(splits))


if __name__ == "__main__":
    main()
