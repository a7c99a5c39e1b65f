"""Writes the labelled search corpus (issue 13, "Measure"): citizen messages, queries with their relevant
messages, and repeat pairs. Deterministic (seeded): run it again and the files come out the same.

    .venv/bin/python bench/make_search_corpus.py            # writes tests/data/search_corpus/

Every text is written here from templates and vocabulary made up for this purpose (no message is copied
from anywhere). Messages belong to *matters* (one estate's restaurant fumes, one school's fees ...): a
matter is written by several people (a cluster) or again by the same person in other words (a repeat).
Some messages are in traditional characters, some have full-width digits, some a typo.

Ground truth is exact because the generator knows what it wrote:
* a word / fragment / place query is relevant to every message whose *folded* text (traditional to
  simplified with the same table used to write them, full-width to half-width) contains one of the
  query's forms (its synonyms included); the rule is stored with the query, so a subset can re-derive it;
* a sentence query is relevant to the messages of the matter it describes.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import date, timedelta
from pathlib import Path

SEED = 13
OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "search_corpus"
FIRST_DAY = date(2024, 11, 1)
DAYS = 730

# simplified -> traditional, for the words the corpus writes in traditional characters (folding uses the inverse)
TRAD = {"物业": "物業", "违建": "違建", "违章建筑": "違章建築", "收费": "收費", "补课": "補課", "拆迁": "拆遷", "工资": "工資",
        "油烟": "油煙", "学校": "學校", "医院": "醫院", "小区": "小區", "问题": "問題", "网约车": "網約車", "噪音": "噪音",
        "噪声": "噪聲", "低保": "低保", "补偿": "補償", "施工": "施工", "扰民": "擾民", "餐馆": "餐館", "老板": "老闆",
        "业主": "業主", "处理": "處理", "反映": "反映", "严重": "嚴重", "希望": "希望", "电梯": "電梯", "停车": "停車",
        "这个": "這個", "没有": "沒有", "请": "請", "们": "們", "说": "說", "钱": "錢", "长": "長", "门": "門"}
TRAD_ORDER = sorted(TRAD, key=len, reverse=True)
FOLD = {v: k for k, v in TRAD.items() if v != k}
FOLD_ORDER = sorted(FOLD, key=len, reverse=True)
TYPOS = [("已经", "以经"), ("反映", "反应"), ("再次", "在次"), ("按时", "按事"), ("根本", "跟本"), ("一直", "一值"), ("部门", "部们")]
# the same thing said otherwise: each message takes one wording of each phrase it contains, at random
PARAPHRASES = [
    ("没人修", ["没人修", "一直没修", "也没人来修", "报修了没下文"]), ("根本睡不着", ["根本睡不着", "整晚睡不好", "孩子都被吵醒"]),
    ("窗户都不敢开", ["窗户都不敢开", "家里窗户常年关着", "衣服都不敢晾外面"]), ("没有收据", ["没有收据", "也不给发票", "收钱不开票"]),
    ("一直没发", ["一直没发", "拖到现在也没给", "到现在一分没拿到"]), ("老板电话也不接", ["老板电话也不接", "老板人都找不到", "老板把我们拉黑了"]),
    ("比周边低很多", ["比周边低很多", "比隔壁村少一大截", "明显偏低"]), ("很多没必要", ["很多没必要", "好多是重复检查", "明显过度检查"]),
    ("堵车严重", ["堵车严重", "天天堵", "上下班堵得要命"]), ("真正困难的没评上", ["真正困难的没评上", "困难户反而没有", "穷的评不上"]),
    ("河水发黑发臭", ["河水发黑发臭", "河水又黑又臭", "河里臭得不行"]), ("平台客服不处理", ["平台客服不处理", "客服一直推", "投诉了平台不理"]),
    ("态度恶劣", ["态度恶劣", "态度很凶", "说话难听"]), ("噪声扰民", ["噪声扰民", "吵得不行", "影响休息"]),
    ("老人咳嗽加重了", ["老人咳嗽加重了", "老人呛得直咳", "孩子老是咳嗽"]), ("城管来看过没下文", ["城管来看过没下文", "城管来了一次就走了", "城管说要走程序"]),
    ("每节课", ["每节课", "一节课", "一次课"]), ("绕路", ["绕路", "绕远路", "故意绕了一大圈"]), ("很不安全", ["很不安全", "太吓人了", "心里很慌"]),
]
FULL = str.maketrans("0123456789", "０１２３４５６７８９")

REGIONS = ["岳麓区", "雨花区", "开福区", "天心区", "芙蓉区", "望城区", "长沙县", "宁乡市"]
ESTATES = {  # estate -> region
    "梅溪湖畔小区": "岳麓区", "桐梓坡花园": "岳麓区", "麓谷林语小区": "岳麓区", "湘江世纪城": "开福区", "万家丽苑": "雨花区",
    "洋湖湾小区": "天心区", "星沙嘉园": "长沙县", "德润园": "芙蓉区", "枫林绿洲": "岳麓区", "金星小区": "望城区",
    "高桥新村": "雨花区", "白沙湾家园": "宁乡市",
}
ROADS = ["梅溪湖路", "桐梓坡路", "劳动东路", "五一大道", "芙蓉中路", "金星北路", "万家丽路", "黄花大道", "含浦大道"]
SCHOOLS = ["梅溪湖实验小学", "麓山外国语学校", "雨花区第三中学", "金星中学", "望城区育英小学", "星沙二中", "德润幼儿园"]
COMPANIES = ["鑫达建筑劳务公司", "湘顺装饰工程公司", "恒盛物业公司", "宏远机械厂", "新程快递站点", "蓝天餐饮管理公司"]
PLATFORMS = ["滴滴", "高德打车", "曹操出行", "花小猪"]
HOSPITALS = ["市第三医院", "岳麓区人民医院", "雨花区妇幼保健院", "望城区中医院"]
VILLAGES = ["白箬铺镇光明村", "莲花镇桐木村", "黄花镇新桥村", "坪塘街道山塘村", "乌山街道团山湖村"]
RESTAURANTS = ["湘味烧烤", "老刘家常菜", "川味火锅店", "夜宵大排档", "柳州螺蛳粉店"]
OPEN = ["", "", "你好，", "领导您好，", "您好！", "尊敬的领导：", "我要反映个事，", "请问一下，", "麻烦看一下，"]
FILLER = ["我们已经打了12345好几次，每次都说转给相关部门，然后就没下文了。", "这事拖了{n}个月了，附近很多居民都有意见。",
          "我是{estate}的住户，家里有老人和小孩。", "之前社区的人来看过一次，说会协调，结果还是老样子。",
          "街道说不归他们管，让我们找区里，区里又让找街道，到底归谁管？", "大家在业主群里都在说这个事，很多人都很气愤。",
          "说实话我们老百姓也不想到处投诉，实在是没办法了。", "上个月{month}号我还专门去了一趟{region}政府，接待的人说回去研究。",
          "这个情况不是一天两天了，去年就有人反映过。", "请领导派人实地来看看就知道有多严重。"]
CLOSE = ["", "希望有关部门管一管！", "请尽快处理，谢谢。", "已经反映过好几次了，一直没人管。", "盼回复。", "希望政府重视这个问题。",
         "恳请领导帮忙解决。", "不要再踢皮球了！", "谢谢！"]

# topic -> (title templates, sentence templates, topic words). Slots: {estate} {road} {school} {company} {platform}
# {hospital} {village} {restaurant} {amount} {n} {month} {region}
TOPICS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "物业管理": (
        ["{estate}物业不作为", "投诉{estate}物业公司", "{estate}物业管理混乱", "物业乱收停车费"],
        ["{estate}的物业公司收了物业费什么都不管，电梯坏了{n}天没人修。", "我们{estate}物业管理太差，垃圾堆在楼道好几天没人清。",
         "物业擅自把停车费涨到每月{amount}元，没开业主大会。", "{estate}物业公司不公示公共收益，业主问了也不答复。",
         "小区电梯经常困人，找物业只说在报修。", "物业保安态度恶劣，还动手推了业主。", "物业把小区绿地改成停车位收费。"],
        ["物业", "物业公司", "物业费", "电梯", "停车费", "业主", "物业管理", "小区"]),
    "噪音扰民": (
        ["{estate}附近噪音扰民", "晚上噪声太大", "投诉{road}工地夜间噪音", "广场舞噪音扰民"],
        ["{road}的工地每天晚上施工到凌晨{n}点，噪音太大根本睡不着。", "{estate}楼下的广场舞音响开得很大，噪声扰民。",
         "{estate}旁边的KTV半夜还在唱，噪音扰民严重。", "楼上装修天天电钻，早上七点不到就开始，噪声受不了。",
         "家里有老人小孩，夜里的噪音吵得人没法休息。"],
        ["噪音", "噪声", "扰民", "施工", "广场舞", "夜间", "音响", "装修"]),
    "餐饮油烟": (
        ["{estate}楼下餐馆油烟扰民", "{restaurant}油烟问题", "投诉{estate}底商油烟", "油烟直排"],
        ["{estate}楼下的{restaurant}油烟直接往楼上排，窗户都不敢开。", "{restaurant}没有装油烟净化器，整栋楼都是油烟味。",
         "{estate}底商开了{restaurant}，排烟管道对着住户窗户，油烟熏得家里发黄。", "{restaurant}晚上营业到凌晨，油烟加上噪音，住户苦不堪言。",
         "我家就在{restaurant}楼上，油烟大，老人咳嗽加重了。"],
        ["油烟", "餐馆", "排烟", "油烟净化器", "底商", "烧烤", "住户"]),
    "违章建筑": (
        ["{estate}有人搭违建", "举报违章建筑", "顶楼违建", "{estate}一楼私搭乱建"],
        ["{estate}{n}栋顶楼业主在楼顶搭了彩钢棚，属于违章建筑。", "{estate}一楼住户把院子围起来盖了房子，违建占用公共绿地。",
         "举报{estate}有人私自加建阁楼，是违建，城管来看过没下文。", "违章建筑越盖越大，已经挡住了消防通道。",
         "{village}有人在基本农田上建房，是违建。"],
        ["违建", "违章建筑", "私搭乱建", "城管", "彩钢棚", "加建", "拆除"]),
    "学校乱收费": (
        ["{school}乱收费", "学校违规收取资料费", "反映{school}收费问题", "学校强制收费"],
        ["{school}以资料费名义每人收{amount}元，没有收据。", "{school}要求学生统一买校服，{amount}元一套，不买不行。",
         "学校乱收费，班主任在群里通知交{amount}元班费。", "{school}午托收费太高，还强制参加。", "学校收了{amount}元的学习资料费，说是自愿其实是强制。"],
        ["收费", "乱收费", "资料费", "学校", "班主任", "校服", "班费"]),
    "有偿补课": (
        ["{school}老师有偿补课", "举报在职教师有偿补课", "老师暗示学生去补课", "有偿家教问题"],
        ["{school}的数学老师周末在家里给学生有偿补课，每节课{amount}元。", "老师上课不讲重点，暗示学生去他开的补习班补课。",
         "在职教师有偿补课，不去补课的学生座位被排到后面。", "{school}有老师寒假组织补课，每人收{amount}元。"],
        ["补课", "有偿补课", "在职教师", "补习班", "老师", "家教"]),
    "网约车": (
        ["{platform}网约车乱收费", "投诉网约车司机", "网约车绕路", "网约车平台不处理投诉"],
        ["在{platform}打网约车，司机故意绕路多收了{amount}元。", "网约车司机态度差，还把我扔在{road}半路。",
         "{platform}网约车取消订单还扣我钱，平台客服不处理。", "网约车车牌和软件上显示的不一样，很不安全。"],
        ["网约车", "司机", "平台", "绕路", "打车", "订单", "客服"]),
    "拖欠工资": (
        ["{company}拖欠工资", "农民工讨薪", "讨要被拖欠的工资", "老板跑路不发工资"],
        ["我在{company}干了{n}个月，工资{amount}元一直没发。", "{company}拖欠我们{n}个农民工的工资，老板电话也不接。",
         "{company}以各种理由克扣工资，已经欠了三个月。", "包工头说{company}没给钱，所以发不了工资，我们找谁？"],
        ["工资", "拖欠", "农民工", "讨薪", "老板", "包工头", "克扣"]),
    "征地拆迁补偿": (
        ["{village}拆迁补偿不合理", "征地补偿款没到位", "拆迁补偿问题", "强拆"],
        ["{village}征地，补偿标准每亩只有{amount}元，比周边低很多。", "我家房子被拆了{n}个月，拆迁补偿款还没到账。",
         "{village}拆迁安置房一直没建好，过渡费也停了。", "拆迁办没谈好就来强拆，家里东西都没搬出来。"],
        ["拆迁", "补偿", "征地", "安置房", "补偿款", "强拆", "过渡费"]),
    "医疗": (
        ["{hospital}乱收费", "投诉{hospital}医生", "看病难", "医疗纠纷"],
        ["在{hospital}看病，医生开了{amount}元的检查，很多没必要。", "{hospital}急诊等了{n}个小时没人管。",
         "家人在{hospital}做手术后感染，医院推卸责任。", "{hospital}医保报销手续太麻烦，跑了好几趟。"],
        ["医院", "医生", "看病", "医保", "手术", "急诊", "检查"]),
    "道路施工": (
        ["{road}施工影响出行", "道路施工围挡太久", "{road}修路扬尘大", "施工占道"],
        ["{road}施工围挡了{n}个月，一直没完工，堵车严重。", "{road}修路扬尘太大，路边店铺都是灰。",
         "道路施工挖断了水管，{estate}停水{n}天。", "{road}施工没有警示标志，晚上有人摔倒。"],
        ["施工", "道路", "围挡", "修路", "扬尘", "堵车", "占道"]),
    "低保评定": (
        ["低保评定不公平", "{village}低保问题", "申请低保被拒", "低保优亲厚友"],
        ["{village}村干部把低保给了自己亲戚，真正困难的没评上。", "我家有残疾人，申请低保{n}次都没批。",
         "{village}有人开小车住新房还吃低保，评定不公平。", "低保评定不公示，村里人都不知道谁吃了低保。"],
        ["低保", "评定", "村干部", "困难", "残疾", "公示", "救助"]),
    "环境污染": (
        ["{company}排污", "河道污染", "{village}垃圾焚烧", "工厂偷排废水"],
        ["{company}晚上偷偷往河里排废水，河水发黑发臭。", "{village}有人露天焚烧垃圾，烟很大。",
         "{company}的烟囱冒黑烟，附近居民呼吸都困难。", "河道污染{n}年了，鱼都死光了。"],
        ["污染", "排污", "废水", "河道", "焚烧", "黑烟", "环保"]),
}
TOPIC_KEYS = list(TOPICS)
AMOUNTS = {"物业管理": [150, 200, 260, 300], "学校乱收费": [80, 120, 150, 200, 380], "有偿补课": [100, 150, 200, 2400],
           "网约车": [18, 25, 36, 60], "拖欠工资": [8600, 12000, 23000, 46500], "征地拆迁补偿": [18000, 26000, 32000],
           "医疗": [380, 860, 1200, 3500]}
# misspelt place names (a wrong character of the same sound), written in some messages, looked for by the "typo" queries
PLACE_TYPOS = {"梅溪湖": "梅西湖", "桐梓坡": "桐子坡", "麓谷": "鹿谷", "万家丽": "万佳丽", "白箬铺": "白若铺", "洋湖湾": "杨湖湾"}


def fold(text: str) -> str:
    """What the corpus's ground truth compares: traditional words back to simplified, full-width digits to half-width."""
    for word in FOLD_ORDER:
        text = text.replace(word, FOLD[word])
    return text.translate({ord(f): ord(h) for f, h in zip("０１２３４５６７８９", "0123456789")})


def to_traditional(text: str) -> str:
    for word in TRAD_ORDER:
        text = text.replace(word, TRAD[word])
    return text


class Matter:
    def __init__(self, key: str, topic: str, facts: dict, region: str):
        self.key, self.topic, self.facts, self.region = key, topic, facts, region

    def render(self, rnd: random.Random, sentences: int) -> tuple[str, str]:
        titles, lines, _ = TOPICS[self.topic]
        title = rnd.choice(titles).format(**self.facts)
        body = rnd.sample(lines, min(sentences, len(lines)))
        extra = rnd.sample(FILLER, rnd.choice([0, 0, 1, 1, 2, 3]))
        parts = [s.format(**self.facts) for s in body]
        for sentence in extra:
            parts.insert(rnd.randint(0, len(parts)), sentence.format(**self.facts))
        text = rnd.choice(OPEN) + "".join(parts) + rnd.choice(CLOSE)
        return title, text


def new_matter(rnd: random.Random, key: str, topic: str) -> Matter:
    estate = rnd.choice(list(ESTATES))
    facts = dict(estate=estate, road=rnd.choice(ROADS), school=rnd.choice(SCHOOLS), company=rnd.choice(COMPANIES),
                 platform=rnd.choice(PLATFORMS), hospital=rnd.choice(HOSPITALS), village=rnd.choice(VILLAGES),
                 restaurant=rnd.choice(RESTAURANTS), amount=rnd.choice(AMOUNTS.get(topic, [150, 260, 380, 500])),
                 n=rnd.randint(2, 12), month=rnd.randint(1, 12), region=ESTATES[estate])
    region = ESTATES[estate] if "{estate}" in "".join(TOPICS[topic][0] + TOPICS[topic][1]) else rnd.choice(REGIONS)
    return Matter(key, topic, facts, region)


def messages(rnd: random.Random, target: int = 660) -> tuple[list[dict], list[Matter]]:
    out: list[dict] = []
    matters: list[Matter] = []
    people = [f"p{i:04d}" for i in range(1, 900)]
    rnd.shuffle(people)
    next_person = iter(people)

    def write(matter: Matter, petitioner: str, day: date, in_cluster: bool) -> dict:
        title, text = matter.render(rnd, rnd.randint(1, 4))
        while len(text) < 40:
            text += rnd.choice(TOPICS[matter.topic][1]).format(**matter.facts)
        for phrase, wordings in PARAPHRASES:
            if phrase in text:
                text = text.replace(phrase, rnd.choice(wordings))
        text = text[:300]
        roll = rnd.random()
        if roll < 0.10:
            title, text = to_traditional(title), to_traditional(text)
        elif roll < 0.18:
            text = text.translate(FULL)
        if rnd.random() < 0.12:
            right, wrong = rnd.choice(TYPOS)
            text = text.replace(right, wrong, 1)
        if rnd.random() < 0.10:
            for right, wrong in PLACE_TYPOS.items():
                if right in text:
                    text = text.replace(right, wrong, 1)
                    break
        message = {"id": f"m{len(out) + 1:04d}", "title": title, "text": text, "topic": matter.topic,
                   "matter": matter.key if in_cluster else None, "petitioner": petitioner,
                   "received_on": day.isoformat(), "region": matter.region}
        out.append(message)
        return message

    # clusters: one matter, several people (one of them the 8-person restaurant-fumes cluster)
    cluster_sizes = [8, 8, 6, 6, 5, 5, 4, 4, 4, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2]
    for i, size in enumerate(cluster_sizes):
        topic = "餐饮油烟" if i == 0 else ("物业管理" if i == 1 else TOPIC_KEYS[i % len(TOPIC_KEYS)])
        matter = new_matter(rnd, f"c{i + 1:02d}", topic)
        if i == 0:
            matter.facts.update(estate="梅溪湖畔小区", restaurant="湘味烧烤")
            matter.region = "岳麓区"
        matters.append(matter)
        start = FIRST_DAY + timedelta(days=rnd.randint(0, DAYS - 60))
        for _ in range(size):
            write(matter, next(next_person), start + timedelta(days=rnd.randint(0, 45)), True)
    # the same person again, in other words (repeats)
    for i in range(40):
        matter = new_matter(rnd, f"r{i + 1:02d}", rnd.choice(TOPIC_KEYS))
        matters.append(matter)
        person = next(next_person)
        start = FIRST_DAY + timedelta(days=rnd.randint(0, DAYS - 90))
        for k in range(rnd.choice([2, 2, 3])):
            write(matter, person, start + timedelta(days=k * rnd.randint(7, 40)), True)
    # single messages on their own matter
    i = 0
    while len(out) < target:
        i += 1
        matter = new_matter(rnd, f"s{i:03d}", TOPIC_KEYS[i % len(TOPIC_KEYS)])
        write(matter, next(next_person), FIRST_DAY + timedelta(days=rnd.randint(0, DAYS - 1)), False)
    # received order, then ids in that order (so ids do not give the clusters away)
    out.sort(key=lambda m: (m["received_on"], m["id"]))
    for n, message in enumerate(out, 1):
        message["id"] = f"m{n:04d}"
    return out, matters


def word_query(q: str, forms: list[str], kind: str) -> dict:
    return {"q": q, "kind": kind, "rule": {"any": forms}}


def queries(rnd: random.Random, corpus: list[dict], matters: list[Matter]) -> list[dict]:
    specs = [word_query(w, [w], "word inside longer words") for w in
             ["收费", "物业", "补课", "拆迁", "工资", "油烟", "违建", "施工", "低保", "网约车", "医院", "学校", "电梯", "补偿", "扰民",
              "排污", "老师", "停车费", "资料费", "安置房"]]
    specs += [word_query(w, [w] + [w.replace(r, t) for r, t in PLACE_TYPOS.items() if r in w], "place or name") for w in
              ["梅溪湖", "梅溪湖畔小区", "桐梓坡", "万家丽", "星沙嘉园", "金星中学", "湘味烧烤", "鑫达建筑劳务公司", "白箬铺镇", "含浦大道",
               "洋湖湾", "市第三医院"]]
    specs += [word_query(q, [fold(q)], "traditional") for q in ["物業", "違建", "收費", "補課", "拆遷", "油煙", "網約車", "工資"]]
    specs += [word_query(q, forms, "synonym") for q, forms in
              [("噪音", ["噪音", "噪声"]), ("噪声", ["噪音", "噪声"]), ("违章建筑", ["违章建筑", "违建"]),
               ("讨薪", ["讨薪", "欠薪", "拖欠"]), ("乱收费", ["乱收费", "收费"])]]
    # a place name typed with a wrong character: relevant are the messages naming the place (rightly or wrongly)
    specs += [word_query(wrong, [right, wrong], "typo in a place name") for right, wrong in list(PLACE_TYPOS.items())[:4]]
    # fragments a person pastes: 4-6 characters cut from a message's text
    for message in rnd.sample(corpus, 16):
        text = fold(message["text"])
        chars = [c for c in text]
        for _ in range(50):
            length = rnd.randint(4, 6)
            start = rnd.randint(0, max(0, len(chars) - length))
            piece = text[start:start + length]
            if all("\u4e00" <= c <= "\u9fff" for c in piece):
                break
        specs.append(word_query(piece, [piece], "pasted fragment"))
    # whole sentences describing a matter (relevant: the matter's messages)
    sentences = {"c01": "梅溪湖畔小区楼下烧烤店油烟很大晚上还吵", "c02": "{estate}物业公司不管事电梯坏了没人修"}
    for matter in matters:
        if matter.key in sentences or (matter.key.startswith("c") and len(sentences) < 10):
            f = matter.facts
            sentences.setdefault(matter.key, {
                "物业管理": f"{f['estate']}物业收费不管事", "噪音扰民": f"{f['road']}晚上施工噪音太大",
                "餐饮油烟": f"{f['estate']}楼下{f['restaurant']}油烟扰民", "违章建筑": f"{f['estate']}有人搭违章建筑",
                "学校乱收费": f"{f['school']}乱收资料费", "有偿补课": f"{f['school']}老师有偿补课",
                "网约车": f"{f['platform']}网约车司机绕路多收钱", "拖欠工资": f"{f['company']}拖欠农民工工资",
                "征地拆迁补偿": f"{f['village']}拆迁补偿太低", "医疗": f"{f['hospital']}看病乱开检查",
                "道路施工": f"{f['road']}施工围挡太久堵车", "低保评定": f"{f['village']}低保评定不公平",
                "环境污染": f"{f['company']}偷排废水污染河道"}[matter.topic])
    facts = {m.key: m.facts for m in matters}
    for key, sentence in sentences.items():
        specs.append({"q": sentence.format(**facts[key]), "kind": "sentence", "rule": {"matter": key}})
    out = []
    for n, spec in enumerate(specs, 1):
        spec["id"] = f"q{n:03d}"
        spec["relevant"] = [m["id"] for m in corpus if relevant(spec["rule"], m)]
        spec["split"] = "dev" if n % 2 else "held_out"
        out.append(spec)
    return out


def relevant(rule: dict, message: dict) -> bool:
    if "matter" in rule:
        return message["matter"] == rule["matter"]
    text = fold(message["title"] + "\n" + message["text"])
    return any(form in text for form in rule["any"])


def pairs(rnd: random.Random, corpus: list[dict]) -> list[dict]:
    by_matter: dict[str, list[dict]] = {}
    for m in corpus:
        if m["matter"]:
            by_matter.setdefault(m["matter"], []).append(m)
    out = []
    for key, group in sorted(by_matter.items()):
        if len(group) < 2:
            continue
        a, b = rnd.sample(group, 2)
        kind = "same person reworded" if a["petitioner"] == b["petitioner"] else "same matter, other person"
        out.append({"a": a["id"], "b": b["id"], "repeat": True, "kind": kind})
    by_topic: dict[str, list[dict]] = {}
    for m in corpus:
        by_topic.setdefault(m["topic"], []).append(m)
    trues = len(out)
    for _ in range(trues):  # as many false pairs: same topic, different matter (the hard negatives)
        topic = rnd.choice(sorted(by_topic))
        for _ in range(50):
            a, b = rnd.sample(by_topic[topic], 2)
            if a["matter"] is None or a["matter"] != b["matter"]:
                break
        out.append({"a": a["id"], "b": b["id"], "repeat": False, "kind": "same topic, other matter"})
    rnd.shuffle(out)
    for n, pair in enumerate(out):
        pair["split"] = "dev" if n % 2 == 0 else "held_out"
    return out


def main() -> int:
    check = "--check" in sys.argv[1:]  # regenerate in memory and compare with the files (what tests/test_benches.py runs)
    rnd = random.Random(SEED)
    corpus, matters = messages(rnd)
    labelled = queries(rnd, corpus, matters)
    repeat_pairs = pairs(rnd, corpus)
    files = {
        "messages.jsonl": "".join(json.dumps(message, ensure_ascii=False) + "\n" for message in corpus),
        "queries.json": json.dumps({"queries": labelled, "repeat_pairs": repeat_pairs, "topic_words": {k: v[2] for k, v in TOPICS.items()}},
                                   ensure_ascii=False, indent=1) + "\n",
    }
    summary = f"{len(corpus)} messages, {len(matters)} matters, {len(labelled)} queries, {len(repeat_pairs)} repeat pairs"
    if check:
        differ = [name for name, text in files.items() if not (OUT / name).exists() or (OUT / name).read_text(encoding="utf-8") != text]
        print(f"{summary}: " + (f"differ from {OUT}: {', '.join(differ)}" if differ else "files unchanged"))
        return 1 if differ else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (OUT / name).write_text(text, encoding="utf-8")
    print(f"{summary} -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
