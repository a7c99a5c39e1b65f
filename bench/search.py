"""Search and duplicate detection at scale (issue 6), each next to a baseline in the same run.

What it does, in this process (plus worker processes for the fingerprint fill), on a
fresh temporary data directory; no store, no Redis, no running platform: the search
package is driven directly.

1. **Corpus**: N petitions (default 100,000) of one tenant, generated from a seed:
   title + content of 40-300 characters on education and discipline matters (fees,
   tutoring, canteens, admissions, construction, wages, school buses, officials'
   conduct, appointments), in many schools, towns and villages of the tenant's county,
   with masked names (王某某, 李老师), amounts, dates, companies, plates. A matter
   (topic + its facts) is rendered from template sentences chosen at random, so the
   same matter can be written again in other words (how repeats are made below).
2. **Index throughput**: the tenant's Whoosh index built the way ``service.rebuild``
   does (``TenantIndexDir``, ``writer_lock``, ``new_generation``, ``ix.writer(limitmb=256)``,
   ``add_document`` of ``petition_fields``-shaped dicts, ``commit``, ``switch_to``),
   against the baseline: an SQLite FTS5 table (``tokenize='unicode61'``) over the
   same words, pre-tokenised with ``analysis.words`` per field and joined by spaces.
   Both pay jieba: the baseline's docs/s includes its tokenisation, which is also
   printed alone (and Whoosh's time minus that is roughly what Whoosh itself costs).
   Then a few drain-sized batches (500 ``update_document`` + ``commit``), as the indexer
   writes new petitions.
3. **Queries**: ~200 fixed queries (single words, two words, quoted phrases, and
   filter / sort / date variants), after a warm-up, interleaved, several rounds:
   * ours: ``service._search_sync`` (the function the API calls): query parsing with
     ``spaced_words``, the cached searcher, filters and sort, total count, highlights, paging;
   * ours, bare: ``searcher.search(query, limit=20, filter, sortedby)`` on the same
     searcher with the stored fields of the hits, no highlights, query pre-parsed;
   * FTS5: ``MATCH`` (the same words: AND across columns, phrases as FTS5 phrases),
     ``ORDER BY rank`` (bm25 with the same field boosts) or ``received``, ``LIMIT 20``,
     stored columns and ``snippet()`` of title and text; and the same without snippets,
     next to bare Whoosh; and with ``count(*)`` of the matches (what ours also returns).
   p50 / p95 / p99 in ms, ratios to FTS5, and per kind of query.
4. **Duplicate check**: a ``FingerprintStore`` filled with M fingerprints (default
   1,000,000) of petitions spread over 16 tenants (a province, 3 cities, 12 counties),
   ~22 % of them repeats of earlier matters (re-sent, reworded, shortened, sent
   higher up, by the same petitioner, another one or anonymously; a few matters are
   "hot", with dozens of petitions). The fill's texts are rendered and tokenised in
   worker processes; the signatures are computed in batch with numpy using
   datasketch's own permutations (the script checks them bit for bit against
   ``duplicates.fingerprint`` on a sample and stops otherwise) and written with
   ``FingerprintStore.put_many`` (the fill is timed). Then, on a freshly opened store,
   K new petitions (default 500: half repeats of stored matters, half new matters)
   are fingerprinted with ``duplicates.fingerprint`` and checked against their
   tenant's hierarchy, interleaved:
   * baseline: the bare indexed lookups (band keys, petitioner, subject: the pids alone);
   * ``store.candidates`` (the join, tenant filter, sort, limit, rows to Fingerprints);
   * ours: ``duplicates.scored_candidates`` (the above plus ``pair_score``);
   * what-if (not platform code): the same, with band keys shared by more than 0.1 % of the store
     ("hub" keys: a frequent keyword such as a year that is the minimum of all four permutations of
     a band puts every petition containing it in one bucket) left out of the fingerprint's band keys.
   p50 / p95 / p99 in ms, ratios, candidates examined, the slowest checks, where the time goes.
   Before the fill, a calibration: how often two petitions on different matters share a band, for
   the generated texts and for the hand-written labelled corpus (tests/data/duplicates/sources.txt),
   with and without numbers among the words. The generated texts collide more often (the script
   says how much): the band hits, and so the check times at a given size, are pessimistic.

Goals (issue 6): query p95 under 50 ms at 100,000 petitions in one tenant; duplicate
check under 20 ms at 1,000,000 petitions.

    .venv/bin/python bench/search.py             # 100,000 petitions, 1,000,000 fingerprints
    .venv/bin/python bench/search.py --quick     # 10,000 petitions, 100,000 fingerprints
    .venv/bin/python bench/search.py --petitions 50000 --fingerprints 0   # search only
    .venv/bin/python bench/search.py --petitions 0 --fingerprints 300000  # duplicates only
    .venv/bin/python bench/search.py --petitions 100000 --fingerprints 0 --reuse /tmp/s100k --no-what-if
        # builds both indexes in /tmp/s100k the first time (no drain batches then), later runs only query them

The first pass over the queries (the warm-up) is timed too and printed as "first pass (cold)": ours reads each
term's postings then, and keeps the frequent ones per segment (``postings.term_cache``) for the rounds after.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import dataclasses
import hashlib
import json
import multiprocessing
import os
import platform as stdlib_platform
import pstats
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import jieba
import numpy as np
from datasketch import MinHash

from xinfang_search import duplicates
from xinfang_search.analysis import normalise, segment, stop_words, words
from xinfang_search.index import TenantIndexDir
from xinfang_search.querying import SearchRequest, _query, _search_sync

from _common import cpu_seconds, machine_busy_seconds  # bench/ is on sys.path when a script here runs

REPO = Path(__file__).resolve().parents[1]


def say(text: str = "") -> None:
    print(text, flush=True)


# -- the vocabulary ------------------------------------------------------------------------------

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔"
            "钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉力波宁斌浩凯鹏飞鑫宇晨欣怡婷雪琳佳慧俊峰亮成志海燕春梅"
TOWN_STEMS = (
    "众兴 爱园 王集 裴圩 新袁 李口 临河 穿城 高渡 卢集 庄圩 三庄 南刘集 八集 里仁 张家圩 城厢 来安 桃源 金锁 史集 洋河 仓集 龙河 新河 "
    "大兴 钱集 胡集 韩山 沭城 颜集 潼阳 马厂 扎下 周集 青伊湖 官墩 耿圩 塘沟 陇集 悦来 刘集 吴集 湖东 东小店 汤涧 西宋集 梅花 归仁 石集 "
    "魏营 孙园 界集 龙集 半城 双沟 上塘 车门 天岗湖 峰山 朱湖 四河 太平 瑶沟 草庙 曹集 蔡集 仰化 丁嘴 关庙 皂河 晓店 来龙 侍岭 新庄 "
    "保安 耿车 埠子 洋北 陆集 罗圩 中扬 屠园 洋南 蓝天 古城 顺河 龙庙 王官集 丁集 黄圩 大楼 杨集 徐溜 高作 涟城 岔庙 东胡集 南集 "
    "红窑 唐集 保滩 大东 五港 梁岔 朱码 郑梁 成集 义兴 石湖 黄花塘 桂五 管仲 旧铺 河桥 穆店 鲍集 铁佛 淮河 观音寺 马坝 官滩 "
    "塔什店 上户 哈拉玉宫 阿瓦提 恰尔巴格 英下 兰干 铁克其 和什力克 普惠 库尔楚 托布力其 西尼尔 策达雅 野云沟 轮南 群巴克 阳霞 "
    "哈尔巴克 墩阔坦 塔里木 喀拉乔克 四十里城 永宁 七个星 北大渠 包尔海 乃门莫墩 巴伦台 协比乃尔布呼 乌什塔拉 曲惠 本布图 查汗采开"
).split()
VILLAGE_TAILS = ["庄", "集", "圩", "湾", "营", "楼", "店", "河", "岗", "桥", "沟", "洼"]
SCHOOL_KINDS = [("中心小学", "primary"), ("中心幼儿园", "kinder"), ("初级中学", "junior"), ("第二小学", "primary"), ("实验学校", "junior"),
                ("中学", "junior")]
COUNTY_SCHOOLS = [("实验小学", "primary"), ("第二实验小学", "primary"), ("第一中学", "senior"), ("第二中学", "senior"), ("第三中学", "junior"),
                  ("实验初级中学", "junior"), ("城南小学", "primary"), ("城北初级中学", "junior"), ("职业教育中心", "senior"),
                  ("特殊教育学校", "primary"), ("实验幼儿园", "kinder"), ("高级中学", "senior"), ("外国语学校", "junior"), ("育才小学", "primary")]
GRADES = {"primary": ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级"], "junior": ["初一", "初二", "初三", "七年级", "八年级", "九年级"],
          "senior": ["高一", "高二", "高三"], "kinder": ["小班", "中班", "大班"]}
STAFF_ROLES = ["校长", "副校长", "党支部书记", "教务处主任", "政教处主任", "总务处主任", "会计", "班主任", "数学老师", "语文老师", "英语老师",
               "食堂负责人", "后勤主任", "年级主任", "中心校校长", "园长"]
OFFICE_ROLES = ["教育局副局长", "教育局基建科科长", "教育局计财科科长", "教育局人事科科长", "镇党委委员", "镇分管教育的副镇长", "中心校会计",
                "教育局招生办主任", "住建局工作人员", "督学"]
FEES = ["资料费", "辅导书费", "试卷费", "校服费", "住宿费", "午托费", "晚自习费", "班费", "保险费", "赞助费", "择校费", "空调费", "桶装水费",
        "社会实践费", "研学旅行费", "兴趣班费", "作业本费", "课后服务费", "伙食费", "校车费"]
PROJECTS = ["教学楼维修改造", "塑胶跑道", "食堂扩建", "学校围墙", "校门改造", "厕所改造", "学生宿舍楼", "风雨操场", "综合楼", "校园绿化",
            "运动场", "教室空调安装", "多媒体教室", "屋面防水", "消防改造", "校舍加固"]
COMPANY_WORDS = ["鑫源", "宏达", "顺达", "恒通", "金盛", "华建", "永兴", "瑞丰", "中信", "富民", "盛世", "天成", "佳和", "汇通", "昌隆", "万嘉", "新纪元", "锦程"]
COMPANY_KINDS = ["建筑工程有限公司", "建设工程有限公司", "餐饮管理有限公司", "劳务有限公司", "装饰工程有限公司", "商贸有限公司", "教育咨询有限公司", "校服厂"]
HOTELS = ["大酒店", "农家乐", "饭店", "酒楼", "宾馆", "渔庄", "土菜馆"]
GOODS = ["购物卡", "烟酒", "红包", "土特产", "茶叶", "礼金"]
DISHES = ["米饭夹生", "菜里有虫子", "肉是冻了很久的", "青菜没洗干净", "经常是土豆白菜", "菜量少得可怜", "汤里几乎看不到油花", "馒头发酸"]
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
CHINESE_NUMBERS = "一二三四五六七八九十"

COUNTIES = [  # (name, city, plate prefix)
    ("泗阳县", "宿迁市", "苏N"), ("沭阳县", "宿迁市", "苏N"), ("泗洪县", "宿迁市", "苏N"), ("宿豫区", "宿迁市", "苏N"),
    ("涟水县", "淮安市", "苏H"), ("盱眙县", "淮安市", "苏H"), ("金湖县", "淮安市", "苏H"), ("洪泽区", "淮安市", "苏H"),
    ("库尔勒市", "巴音郭楞蒙古自治州", "新M"), ("轮台县", "巴音郭楞蒙古自治州", "新M"), ("尉犁县", "巴音郭楞蒙古自治州", "新M"),
    ("和静县", "巴音郭楞蒙古自治州", "新M"),
]

# Categories of the petition form (form_schemas/petition.v1.json).
CATEGORIES = ["political", "organizational", "integrity", "mass", "work", "life", "legal", "other"]


# -- topics: title templates and sentence templates with {slots} -----------------------------------
# Slots: school, town, village, county, grade, klass, person (王某某), person2, surname, role, office, fee, amount,
# amount2, n, count, date, date2, company, project, hotel, goods, dish, plate, month, org


@dataclass
class Topic:
    key: str
    categories: list[str]
    subject: str  # "school" | "person" | "company" | "none": what the petition is about
    titles: list[str]
    facts: list[str]
    details: list[str]


TOPICS = [
    Topic("fees", ["integrity", "mass"], "school", [
        "{school}违规收取{fee}", "反映{school}乱收费问题", "{school}{grade}强制收取{fee}", "{school}巧立名目收费",
        "关于{school}收取{fee}的问题", "{town}{school}收费不开收据", "{school}变相收费，家长负担重", "举报{school}违规收费",
        "{school}{fee}去向不明", "请查处{school}乱收费",
    ], [
        "{date}，{school}以{fee}的名义向每名学生收取{amount}元",
        "班主任在家长群里通知每人交{amount}元{fee}，要求{count}天内交齐",
        "交钱后学校没有开具任何收据，也没有收费公示",
        "不交钱的学生不发资料，还被老师在班上点名",
        "据了解，全校{n}多名学生都交了，总数不是小数目",
        "这笔{fee}是由{role}{person}统一收取的，没有进学校账户",
        "学校说是自愿，实际上不交的孩子就不能参加",
        "{fee}比外面贵出一倍多，书店里同样的东西不到{amount2}元",
        "收费没有经过物价部门批准，也没有告知家长收费依据",
        "钱是让班长代收的，然后交给{role}",
        "{grade}{klass}的家长私下算过，一个班就要收好几千元",
        "学校还要求统一在指定商店购买，不让自己买",
    ], [
        "家长们敢怒不敢言，怕孩子在学校受刁难",
        "我们问过老师，老师说是学校的规定，有意见找校长",
        "有家长打过教育局的电话，到现在也没有回音",
        "家里条件不好，一下子拿出这么多钱很困难",
        "这种情况已经持续了好几个学期",
        "上级明文规定不准收取这类费用，学校却顶风违纪",
    ]),
    Topic("tutoring", ["work", "integrity"], "person", [
        "{school}{role}{person}有偿补课", "反映{school}教师违规有偿补课", "{person}利用周末组织学生有偿补课", "在职教师{person}办补习班",
        "{school}老师课上不讲课后收费补课", "举报{town}教师有偿补课", "{school}{grade}老师违规补课收费", "关于{person}开办补课班的问题",
    ], [
        "{school}{role}{person}在{village}租了一套民房，每到周末就给学生补课",
        "每个学生每月收费{amount}元，一个班二十多个孩子",
        "{person}上课时故意不把内容讲完，说剩下的到补习班再讲",
        "不去补课的学生在班上受到冷落，座位也被调到后面",
        "补课从{date}开始，寒暑假也不停",
        "{person}还让家长通过微信转账交费，不开任何票据",
        "补课的内容就是第二天要考的题目，对其他学生很不公平",
        "据说学校的{role}知道这件事，但一直没有管",
        "{person}和校外的培训机构合作，介绍学生过去，从中拿提成",
        "晚上放学后直接把学生带到家里补课，一直补到九点多",
        "一个学期下来，每个孩子光补课费就要交{amount2}元",
    ], [
        "上级三令五申禁止在职教师有偿补课，为什么还有人敢这样做",
        "孩子回家说不补课老师就不喜欢他，我们只能交钱",
        "我们担心反映以后孩子被报复，所以匿名反映",
        "其他几个班的老师也在效仿",
        "补课的房子里挤了三十多个孩子，消防安全也没有保障",
    ]),
    Topic("canteen", ["integrity", "mass"], "school", [
        "{school}食堂饭菜质量差", "{school}食堂承包问题", "反映{school}学生营养餐被克扣", "{school}食堂收费高、分量少",
        "{school}食堂卫生堪忧", "关于{school}食堂的问题", "{town}{school}营养改善计划资金使用不规范", "{school}食堂存在食品安全隐患",
    ], [
        "{school}的食堂承包给了{company}，老板据说是{role}的亲戚",
        "每顿饭收费{amount}元，可饭菜{dish}",
        "孩子们经常吃不饱，只好到校外小卖部买零食",
        "营养餐说好每天一个鸡蛋一盒奶，实际上一周只发两次",
        "{date}有{n}多名学生吃了食堂的饭后拉肚子，学校没有上报",
        "食堂的从业人员没有健康证，操作间苍蝇乱飞",
        "食材采购不公开，价格比市场高出很多",
        "学生每月伙食费交{amount2}元，但从来不公布账目",
        "食堂强制学生在校就餐，不准自带饭菜",
        "学校领导在食堂单独开小灶，吃的和学生完全不一样",
        "过期的牛奶还在发给学生喝",
    ], [
        "孩子正在长身体，天天吃这样的饭菜家长很心疼",
        "家委会提过多次意见，学校说合同签了改不了",
        "希望教育局和市场监管部门联合检查",
        "这样的承包方式明显存在利益输送",
        "照片和视频我们都保存着，可以提供",
    ]),
    Topic("admissions", ["work", "organizational"], "school", [
        "{school}违规招生", "{school}招生不公", "反映{county}学区划分不合理", "{school}收取择校费才让入学",
        "{school}违规招收插班生", "关于{school}{date}招生的问题", "{school}特长生招生弄虚作假", "孩子入学被{school}拒收",
    ], [
        "我家户口和房子都在{school}的学区内，孩子却没有被录取",
        "有人交了{amount}元“赞助费”就顺利入学，明显是花钱买学位",
        "{office}{person}的亲戚的孩子不在学区，照样进了{school}",
        "{date}公布的录取名单和实际入学的学生对不上",
        "学校以“名额已满”为由拒收，但随后又招了{n}多名插班生",
        "特长生测试走过场，录取的大多是有关系的",
        "学区划分每年都在变，不少家长买了学区房却上不了学",
        "{school}私下组织考试选拔学生，变相掐尖招生",
        "招生办的电话一直打不通，去现场问也说不清楚",
        "外地来的务工人员子女入学要交{amount2}元的借读费",
    ], [
        "入学是孩子的大事，请相关部门给个说法",
        "我们要求公开招生过程和录取名单",
        "孩子眼看就要开学了，我们非常着急",
        "这样下去教育公平从何谈起",
    ]),
    Topic("construction", ["integrity"], "company", [
        "{school}{project}工程质量差", "{school}{project}工程招标不规范", "反映{company}承建的校舍存在隐患", "{school}工程款被挪用",
        "{project}项目围标串标", "关于{school}{project}的问题", "{town}学校建设工程存在违规转包", "{school}新建{project}出现裂缝",
    ], [
        "{school}的{project}工程由{company}承建，合同价{amount}万元",
        "工程{date}才完工，不到半年就出现了多处裂缝",
        "招标前就已经内定了施工单位，其他公司只是陪标",
        "{office}{person}和施工老板关系密切，经常一起吃饭",
        "工程层层转包，实际施工的是一个没有资质的包工头",
        "使用的材料以次充好，钢筋明显比设计的细",
        "验收走过场，监理单位根本没有到现场",
        "工程款{amount2}万元已经拨付，可项目还有一半没做",
        "同样的工程，在邻近乡镇只花了一半的钱",
        "施工期间学生照常上课，工地没有围挡，存在安全隐患",
        "工程完工以后一直没有审计决算",
    ], [
        "学生每天在这样的楼里上课，家长很担心",
        "这样的豆腐渣工程必须彻查，追究相关人员责任",
        "我们有施工时的照片，可以配合调查",
        "反映到镇里，镇里说归教育局管",
    ]),
    Topic("wages", ["mass", "work"], "school", [
        "{school}拖欠教师工资", "{school}代课教师工资被克扣", "反映{town}拖欠乡村教师补贴", "{school}绩效工资分配不公",
        "{company}拖欠农民工工资", "关于{school}食堂工人工资的问题", "{county}教师工资长期拖欠", "{school}班主任津贴迟迟不发",
    ], [
        "{school}已经拖欠我们{count}个月的工资了，每人{amount}元左右",
        "代课教师每月只发{amount2}元，比当地最低工资标准还低",
        "乡村教师生活补助从{date}起就停发了，没有任何解释",
        "绩效工资分配由{role}{person}一个人说了算，领导拿得最多",
        "我们是{company}的工人，给{school}干完{project}工程后一直拿不到工钱",
        "一共有{n}多名工人被欠薪，总额{amount}元",
        "班主任津贴说好每月发放，结果一年只发了一次",
        "找学校要，学校说上面的钱没拨下来；找教育局，教育局说钱早就拨了",
        "{date}签了欠条，说好年底结清，到现在还是没给",
        "扣发的工资名目是“考勤扣款”，可我们从来没有缺勤",
    ], [
        "家里老人生病，孩子上学都要用钱，实在等不起了",
        "我们多次讨要，每次都被推来推去",
        "希望有关部门督促尽快兑现",
        "快过年了，工人们都等着这笔钱回家",
    ]),
    Topic("conduct", ["integrity", "life", "work"], "person", [
        "{school}{role}{person}公车私用", "反映{office}{person}违规吃喝", "{person}收受家长礼金", "{school}{role}{person}工作作风问题",
        "举报{role}{person}借子女升学收礼", "{person}上班时间打麻将", "关于{office}{person}的问题", "{school}{role}{person}体罚学生",
        "{person}违规操办宴席", "{role}{person}吃拿卡要",
    ], [
        "{school}{role}{person}经常把学校的公车开回家办私事，车牌号{plate}",
        "{date}，{person}在{hotel}宴请{count}桌，费用由学校报销",
        "{person}借女儿考上大学之机大摆升学宴，收受教师和家长礼金",
        "每逢节日，{person}都暗示老师们送{goods}",
        "上班时间{person}经常不在学校，有人看见在{village}的棋牌室打麻将",
        "{person}在评优评先中优亲厚友，名额都给了自己的亲戚",
        "{person}多次在课堂上体罚学生，有个孩子被打得耳朵出血",
        "{person}的妻子在学校挂名领工资，却从来不来上班",
        "学校的办公经费被{person}用来购买{goods}送人",
        "职称评审时{person}收了{amount}元，答应帮忙打招呼",
        "{person}在学校附近开了一家文具店，要求学生都去那里买",
        "{office}{person}到学校检查，每次都要学校安排吃喝",
    ], [
        "老师们敢怒不敢言，怕在评职称时被穿小鞋",
        "这种作风严重损害了教师队伍形象",
        "希望纪委监委介入调查",
        "我们有照片和转账记录可以证明",
        "群众对此议论纷纷，影响很坏",
    ]),
    Topic("bus", ["work", "mass"], "school", [
        "{school}校车严重超载", "反映{school}接送学生车辆无资质", "{town}校车存在安全隐患", "{school}校车收费过高",
        "关于{school}校车的问题", "黑校车接送{school}学生",
    ], [
        "接送{school}学生的校车核载{count}人，实际上每天要塞进去四十多个孩子",
        "车牌号{plate}的面包车没有校车资质，每天接送学生",
        "司机经常超速，在{village}路口差点出事",
        "每个学生每学期收校车费{amount}元，比规定的标准高",
        "校车是{role}{person}的亲戚开的，学校强制学生乘坐",
        "车辆年久失修，刹车不灵，车门也关不严",
        "{date}下雨天校车滑进路边沟里，幸好没有孩子受伤",
    ], [
        "孩子的安全是大事，出了事谁负责",
        "我们向交警反映过，查了两天又照旧",
        "请有关部门尽快整治，消除隐患",
    ]),
    Topic("appointment", ["organizational"], "person", [
        "{school}中层干部任用不公", "反映{person}违规提拔", "{county}教育系统选拔校长暗箱操作", "{person}靠关系当上{role}",
        "教师招聘中{person}弄虚作假", "关于{school}干部选拔的问题",
    ], [
        "{person}工作不到三年就被提拔为{role}，据说是{office}的亲戚",
        "竞聘时没有公开报名条件，结果早就定好了",
        "{date}的教师招聘考试中，{person}笔试成绩排名靠后，面试却得了最高分",
        "{person}的学历证明是假的，有人在网上查不到",
        "干部选拔没有经过民主推荐，也没有公示",
        "{person}在{school}任职期间账目不清，却又被调到更重要的岗位",
        "{n}名考生联名反映面试打分不公正",
    ], [
        "这样用人寒了一线教师的心",
        "请组织部门调查核实",
        "我们希望选人用人公开透明",
    ]),
    Topic("closure", ["mass"], "school", [
        "{village}小学被撤并，孩子上学难", "反对撤并{school}", "{school}撤并后校舍闲置", "{town}村小撤并问题",
    ], [
        "{date}，镇里决定把{village}小学并到{school}，事先没有征求村民意见",
        "撤并以后孩子们每天要走{count}里路去上学，路上要过一条大马路",
        "原来的校舍被租给了{company}，租金去向不明",
        "并校时说好的校车到现在也没有安排",
        "村里有{n}多个孩子，大部分是留守儿童，爷爷奶奶接送很困难",
        "学校的教学设备被人拉走变卖了",
    ], [
        "村民们意见很大，多次到镇政府反映",
        "希望上级重新考虑，给孩子们一个就近上学的地方",
    ]),
]
TOPIC_WEIGHTS = {"fees": 22, "tutoring": 14, "canteen": 12, "admissions": 9, "construction": 9, "wages": 12, "conduct": 14, "bus": 4,
                 "appointment": 3, "closure": 2}
OPENERS = [
    "我是{school}{grade}一名学生的家长。", "本人是{school}的一名教师，", "我们是{town}{village}的村民，", "尊敬的领导：", "实名反映：",
    "匿名反映：", "知情人反映，", "我是{school}的退休教师，", "我是{company}的工人，", "来电人称，", "来信反映：", "我要反映一个问题：",
    "我们几个{grade}的家长联名反映：", "", "", "",
]
HISTORY = [
    "此事{date2}已经反映过一次，至今没有答复", "我们曾经向学校和镇里反映过，没有任何结果", "这是我第二次反映这个问题", "去年就有人反映过，查了以后又恢复原样",
    "{date2}打过12345热线，说转给教育局了，之后就没有下文", "我已经多次反映，希望这次能够认真处理",
]
REQUESTS = [
    "请有关部门调查处理。", "请求上级部门核实并予以纠正。", "希望教育局认真查处，给群众一个交代。", "请纪委监委介入调查。", "请尽快调查并答复。",
    "恳请领导重视，早日解决。", "要求退还违规收取的费用。", "请依法依规严肃处理。", "希望有关部门能够重视。", "盼复。",
]
REPEAT_LINES = ["（第二次反映）", "再次反映：", "上次反映的问题至今没有解决，", "重复反映：", "此事已反映{count}次，"]
CHANNELS = [("online", 55), ("letter", 15), ("visit", 15), ("phone", 15)]
STATES = [("registered", 10), ("accepted", 20), ("handling", 25), ("replied", 15), ("closed", 20), ("archived", 5), ("not_accepted", 5)]
KINDS = [("petition", 70), ("report", 25), ("suggestion", 5)]


def weighted(rnd: random.Random, pairs):
    total = sum(w for _, w in pairs)
    x = rnd.random() * total
    for value, w in pairs:
        x -= w
        if x < 0:
            return value
    return pairs[-1][0]


# Ways of saying the same thing: template words are varied at every use (slots are filled afterwards, so names,
# schools and amounts stay as they are). Without this, unrelated petitions share template sentences word for word
# and their keyword sets overlap far more than hand-written ones (the script prints the comparison).
SYNONYMS = [line.split("|") for line in """
家长|家长们|学生家长|孩子家长|父母|监护人
收取|收|收缴|征收|收了|统一收
收费|要钱|收钱|收费用|摊派费用
没有开具任何|不开|拒不出具|从不开|没给开
收据|票据|收条|发票|收款凭证|单据
公示|公开|张榜公布|公开说明|告知
要求|让|要|责令|逼着|规定
强制|硬性|强行|变相强制|必须
反映|举报|投诉|反应|说明
调查处理|核查处理|查处|彻查|调查核实|查清楚
有关部门|相关部门|上级部门|主管部门|教育主管部门|县里
据了解|听说|据说|我们了解到|有人透露|了解到
经常|常常|时常|三天两头|总是|隔三岔五
每名|每个|每位|每一名|人均
一直|始终|长期|一向
多次|好几次|屡次|反复|三番五次|不止一次
至今|到现在|直到现在|到目前|迄今
工资|工钱|薪水|薪资|报酬
拖欠|欠着|拖着不发|欠发|压着
亲戚|亲属|远房亲戚|小舅子|侄子|表弟
家长群|班级群|微信群|家长微信群|QQ群
通知|发通知|告知|下通知|说
交钱|缴费|交费|掏钱|付钱|交款
交齐|交清|交上来|缴齐|交完
小数目|小数|一笔小钱|少数
好几千元|几千块|上千元|数千元|好几千块钱
走过场|流于形式|做样子|敷衍了事|糊弄
盼复|盼回复|望答复|请回复|等待答复
恳请|请求|希望|拜托|敬请
依规|依纪依规|按规定|依法|严肃
物价部门|价格主管部门|发改委|物价局
贵出|高出|多出|贵了
算过|算了一下|合计过|粗算
代收|帮着收|收齐|统一收取
全校|全年级|全体学生|整个学校
退还|退回|返还|退钱
补习班|辅导班|培训班|补课班
群里|群中|群内|微信上
寒暑假|假期|放假期间|暑假
伙食费|饭费|餐费|就餐费
升学|考学|考上|录取
校外|外面|社会上|学校外面
一个班|每个班|一个班级|每班
微信|手机|支付宝|微信红包
只发|仅发|只给|才发
走读|住校|寄宿
饭菜|伙食|饭食|饭|菜
承包|外包|包给|转包给|承揽
价格|价钱|售价|定价
账目|账|财务账目|收支情况|账本
检查|查|督查|排查|抽查
合同价|中标价|合同金额|总价
招标|招投标|比选|公开招标
内定|定好了|暗定|早有安排
关系密切|走得很近|来往密切|称兄道弟|关系不一般
一起吃饭|吃吃喝喝|在一起喝酒|一起吃喝
裂缝|裂纹|开裂|裂口
超载|超员|严重超员|挤满
安全隐患|安全风险|隐患|危险
宴请|请客|摆酒|大宴宾客
报销|入账|走公账|用公款报
暗示|示意|明里暗里要|提醒
评优评先|评先评优|评优|年终评优
优亲厚友|照顾亲友|给自己人|看关系
打麻将|打牌|赌博|玩牌
体罚|打骂|殴打|罚站
挂名|吃空饷|挂个名|挂靠
上班时间|工作时间|工作日|上班期间
提拔|重用|升任|任命
学历|文凭|学历证书
撤并|合并|撤掉|并校
留守儿童|留守孩子|爷爷奶奶带的孩子
村民|老百姓|乡亲们|群众
意见很大|怨声载道|很有意见|议论纷纷
欠条|欠据|白条|借条
年底|年前|春节前|年终
结清|付清|兑现|支付
""".strip().splitlines()]
_SYNONYM_RE = re.compile("|".join(sorted((re.escape(row[0]) for row in SYNONYMS), key=len, reverse=True)))
_SYNONYM_OF = {row[0]: row for row in SYNONYMS}


def vary(template: str, rnd: random.Random, clauses: bool = False) -> str:
    """Each template word of the table said one of its ways, chosen at every use; with ``clauses``, only some
    of a sentence's clauses (the first always), as people tell a part of what a template says."""
    if clauses and "，" in template:
        first, *rest = template.split("，")
        template = "，".join([first] + [c for c in rest if rnd.random() < 0.5])
    return _SYNONYM_RE.sub(lambda m: rnd.choice(_SYNONYM_OF[m.group(0)]), template)


# A matter's own details: what makes one story unlike another of the same kind (objects, places, events, how money
# moved, who saw it). Each matter draws 2-4 of these once; its repeats reuse them, other matters rarely share them.
DETAILS = [
    "{when}在{place}，{p2}当着很多人的面提到了这件事", "事情就发生在{event}前后，地点是学校的{place}", "{p2}说钱是通过{pay}转过去的，记录都还在",
    "孩子说{place}的{item}坏了很久也没人修", "学校又让每个学生交{n2}元买{item}", "有人看到{p2}把学校的{item}搬上了自己的车",
    "{event}那天，{p2}还让家长凑钱买{item}", "这件事{p2}和{p3}都知道，可以作证", "我手里有{doc}的照片，可以提供",
    "{when}我们去{office2}反映，接待的人让我们回去等消息", "孩子回家说{food}有一股怪味", "{place}旁边就是{landmark}，很多人都看见了",
    "{p2}在{landmark}附近还有一套房子，来历说不清", "{when}{p2}给每个班主任发了{gift}", "账上记的是买{item}，实际上根本没买",
    "{event}的费用每人{n2}元，比去年涨了一倍", "学校的{item}是从{p2}亲戚开的店里进的，价格高出一截", "{p2}的爱人在{landmark}开了一家{shop}",
    "{when}有家长在{place}拍了视频，后来被要求删掉", "{doc}上的签字不是本人签的", "孩子{when}在{place}摔伤了，学校一直推脱责任",
    "{p2}让学生利用{event}的时间去帮忙{chore}", "{p2}每天中午都在{place}喝酒", "我们{n3}户家长都在{doc}上签了名",
    "说是买{item}，收了钱以后一直没发下来", "{when}{p2}开着{car}到{landmark}吃饭，车就停在门口", "家长们建了一个群，已经有{n3}多人",
    "{p2}放话说谁反映就让谁的孩子转学", "学校的{item}和{item2}都是同一个老板供的货", "{food}一份要{n4}元，外面只要一半",
    "{item}是{when}才换的，质量很差", "{p2}把{place}改成了自己的{shop}", "{event}结束以后，{p2}让我们在{doc}上补签字",
    "{landmark}那边的{shop}老板是{p2}的同学", "{p2}说{item}的钱已经交给了{office2}", "孩子的{item}被{p2}没收了一直不还",
    "{place}里堆满了没用过的{item}", "每次{event}前都要重新买一批{item}", "{p2}和{p3}是一个村的，关系很好",
    "{when}起{place}就不让学生进了", "{p2}的儿子在{landmark}上班，也拿着学校的工资", "家长在{doc}上写了意见，后来{doc}找不到了",
    "{p2}要求每家出{n2}元搞{event}", "{food}和{item2}都是{p2}的亲戚送来的", "我们{n3}个人一起去过{office2}，有登记",
    "学校门口的{shop}专卖{item}，是{p2}家开的", "{item}的发票开的是{n4}00元", "听说{p2}{when}被{office2}约谈过，后来又没事了",
]
POOLS = dict(
    place=["操场", "宿舍楼", "实验室", "图书室", "厕所", "车棚", "食堂后厨", "校门口", "教学楼走廊", "小卖部", "会议室", "门卫室", "锅炉房",
           "多功能厅", "音乐教室", "篮球场", "校医室", "仓库", "办公室", "阅览室", "电脑教室", "升旗台", "围墙边", "停车场"],
    item=["课桌椅", "投影仪", "空调", "电脑", "校服", "练习册", "床铺", "热水器", "饮水机", "电子白板", "书包", "台灯", "护眼灯", "体育器材",
          "篮球架", "钢琴", "显微镜", "打印机", "监控设备", "消毒柜", "冰柜", "铁架床", "窗帘", "黑板", "学习机", "校牌", "雨伞", "被褥",
          "平板电脑", "跳绳", "足球", "课外读物", "试卷", "作文本", "英语磁带", "保温桶", "餐盘", "灭火器", "路灯", "垃圾桶"],
    item2=["面粉", "食用油", "大米", "矿泉水", "牛奶", "水果", "猪肉", "鸡蛋", "蔬菜", "调料"],
    event=["运动会", "家长会", "春游", "研学旅行", "军训", "期末考试", "升旗仪式", "元旦晚会", "开学典礼", "毕业典礼", "秋游", "体检",
           "中考体育测试", "校庆", "六一儿童节", "艺术节", "读书节", "期中考试", "国庆假期", "教师节"],
    pay=["微信", "支付宝", "现金", "银行卡", "班费账户", "老师的个人账户", "一个私人账户"],
    doc=["收费单", "合同", "发票", "账本", "通知单", "会议记录", "考勤表", "报名表", "工资条", "收条", "聊天记录", "公示名单", "验收单",
         "转账记录", "采购清单", "签到表", "评分表"],
    food=["米饭", "鸡腿", "青菜", "豆腐", "馒头", "牛奶", "鸡蛋", "红烧肉", "面条", "稀饭", "包子", "鱼", "冬瓜汤", "咸菜", "炒土豆丝"],
    landmark=["汽车站", "农贸市场", "加油站", "镇政府", "卫生院", "派出所", "邮政所", "超市", "饭店", "桥头", "老街", "新小区", "工业园",
              "高速路口", "文化广场", "水库", "敬老院", "供销社"],
    office2=["镇政府", "教育局", "信访局", "纪委", "中心校", "街道办", "县政府", "督导室"],
    gift=["购物卡", "月饼", "一箱酒", "两条烟", "茶叶", "红包", "水果"],
    shop=["文具店", "超市", "辅导机构", "饭店", "服装店", "打印店", "奶茶店", "书店"],
    chore=["打扫卫生", "搬砖", "摘果子", "布置会场", "拔草", "搬桌椅", "发传单"],
    car=["公车", "学校的面包车", "一辆黑色轿车", "越野车", "别人借的车"],
)


def own_details(rnd: random.Random, slots: dict) -> list[str]:
    picks = {name: rnd.choice(values) for name, values in POOLS.items()}
    picks.update(when=a_date(rnd), p2=masked(rnd), p3=masked(rnd), n2=rnd.choice([30, 50, 60, 80, 100, 120, 150, 200, 260, 300]),
                 n3=rnd.randint(5, 60), n4=rnd.randint(6, 25))
    return [t.format_map({**slots, **picks}) for t in rnd.sample(DETAILS, rnd.randint(2, 5))]


# -- matters and how they are written -------------------------------------------------------------


@dataclass
class Locale:
    """A county: its towns, villages and schools (deterministic per county)."""

    county: str
    city: str
    plate: str
    towns: list[str]
    villages: list[str]
    schools: list[tuple[str, str, str]]  # (name, level, town)

    @classmethod
    def of(cls, index: int, seed: int) -> Locale:
        county, city, plate = COUNTIES[index % len(COUNTIES)]
        rnd = random.Random(f"{seed}:locale:{index}")
        stems = rnd.sample(TOWN_STEMS, 18)
        towns = [s + rnd.choice(["镇", "镇", "镇", "乡", "街道"]) for s in stems]
        villages = sorted({rnd.choice(SURNAMES) + rnd.choice(VILLAGE_TAILS) + "村" for _ in range(160)})
        schools = [(f"{county}{name}", level, "城区") for name, level in COUNTY_SCHOOLS]
        short = county[:-1] if len(county) > 2 else county
        for town in towns:
            base = town.removesuffix("街道").removesuffix("镇").removesuffix("乡")
            for name, level in SCHOOL_KINDS:
                schools.append((f"{base}{name}" if rnd.random() < 0.6 else f"{short}{town}{name}", level, town))
            for village in rnd.sample(villages, 5):
                schools.append((f"{village.removesuffix('村')}小学", "primary", town))
        return cls(county, city, plate, towns, villages, schools)


def masked(rnd: random.Random) -> str:
    surname = rnd.choice(SURNAMES)
    return surname + rnd.choice(["某某", "某某", "某", "某某", "老师", "某某"])


def full_name(rnd: random.Random) -> str:
    return rnd.choice(SURNAMES) + rnd.choice(GIVEN) + (rnd.choice(GIVEN) if rnd.random() < 0.7 else "")


def a_date(rnd: random.Random, year_from: int = 2023) -> str:
    year = rnd.randint(year_from, 2026)
    month = rnd.randint(1, 12)
    style = rnd.random()
    if style < 0.35:
        return f"{year}年{month}月"
    if style < 0.6:
        return f"{year}年{month}月{rnd.randint(1, 28)}日"
    if style < 0.8:
        return rnd.choice(["今年", "去年"]) + f"{month}月"
    return rnd.choice(["上学期", "本学期开学以后", "去年暑假", "今年寒假", "上个月", "开学第二周", "国庆节前", "期中考试前后"])


def amount_for(rnd: random.Random, topic: str) -> tuple[int, int]:
    low, high = {"fees": (20, 3000), "tutoring": (200, 2000), "canteen": (4, 15), "admissions": (3000, 50000), "construction": (20, 900),
                 "wages": (1500, 60000), "conduct": (500, 50000), "bus": (200, 1500), "appointment": (1000, 100000), "closure": (1, 50)}[topic]
    first = rnd.randint(low, high)
    if first > 100:
        first = round(first, -1 if first < 1000 else -2)
    second = rnd.randint(low, high) if topic != "canteen" else rnd.randint(300, 900)
    if second > 100:
        second = round(second, -1 if second < 1000 else -2)
    return first, second


TOPIC_ROLES = {
    "tutoring": ["班主任", "数学老师", "语文老师", "英语老师", "物理老师", "化学老师", "年级主任", "教务处主任"],
    "appointment": ["副校长", "教务处主任", "政教处主任", "总务处主任", "年级主任", "中心校副校长", "团委书记"],
    "conduct": ["校长", "副校长", "党支部书记", "总务处主任", "会计", "中心校校长", "园长", "班主任", "教务处主任"],
}
TOPIC_COMPANIES = {"construction": ["建筑工程有限公司", "建设工程有限公司", "装饰工程有限公司", "劳务有限公司", "市政工程有限公司"],
                   "canteen": ["餐饮管理有限公司", "餐饮服务有限公司", "农产品配送中心", "食品有限公司"],
                   "fees": ["校服厂", "服饰有限公司", "文化用品有限公司", "图书发行有限公司", "教育咨询有限公司"],
                   "tutoring": ["教育咨询有限公司", "教育培训中心", "文化培训学校"]}
TOPIC_REQUESTS = {"fees": ["要求退还违规收取的费用。", "请责令学校退还收取的{fee}。"], "wages": ["请督促尽快发放拖欠的工资。"],
                  "canteen": ["请市场监管部门和教育局联合检查。"], "construction": ["请审计部门对工程进行审计。"],
                  "admissions": ["请公开招生结果。"], "bus": ["请交警和教育部门联合整治。"]}


@dataclass
class Matter:
    """What a petition is about: a topic, its facts (slot values) and the fact sentences that tell it.
    Rendering it again with other random choices writes the same matter in other words."""

    seed: str
    topic: Topic
    slots: dict
    facts: list[int]  # indices into topic.facts: the matter's own facts
    own: list[str]  # the matter's own details, written out
    category: str
    subject: str | None  # the subject's name (a person's full name, a school, a company) or None
    region: str


def make_matter(seed: str, locale: Locale) -> Matter:
    rnd = random.Random(seed)
    topic = TOPICS[[t.key for t in TOPICS].index(weighted(rnd, list(TOPIC_WEIGHTS.items())))]
    school, level, town = rnd.choice(locale.schools)
    if town == "城区":
        town = rnd.choice(locale.towns)
    person, person2 = masked(rnd), masked(rnd)
    amount, amount2 = amount_for(rnd, topic.key)
    plate = locale.plate + rnd.choice(PLATE_LETTERS) + "".join(rnd.choice("0123456789" + PLATE_LETTERS[:8]) for _ in range(4))
    company = (rnd.choice(["宿迁", "泗阳", "淮安", "江苏", "新疆", "巴州", "库尔勒", locale.county[:2]]) + rnd.choice(COMPANY_WORDS)
               + rnd.choice(TOPIC_COMPANIES.get(topic.key, COMPANY_KINDS)))
    slots = dict(
        school=school, town=town, village=rnd.choice(locale.villages), county=locale.county, grade=rnd.choice(GRADES[level]),
        klass=f"（{rnd.randint(1, 12)}）班", person=person, person2=person2, surname=person[0],
        role=rnd.choice(TOPIC_ROLES.get(topic.key, STAFF_ROLES)), office=rnd.choice(OFFICE_ROLES), fee=rnd.choice(FEES), amount=amount,
        amount2=amount2, n=rnd.choice([30, 50, 80, 100, 200, 300, 400, 500, 800, 1000]), count=rnd.randint(2, 12), date=a_date(rnd),
        date2=a_date(rnd, 2024), company=company, project=rnd.choice(PROJECTS),
        hotel=rnd.choice(locale.towns).removesuffix("镇").removesuffix("乡").removesuffix("街道") + rnd.choice(HOTELS),
        goods=rnd.choice(GOODS), dish=rnd.choice(DISHES), plate=plate,
    )
    facts = rnd.sample(range(len(topic.facts)), rnd.randint(1, 3))
    own = own_details(rnd, slots)
    if topic.subject == "person" and rnd.random() < 0.8:
        subject = full_name(rnd)
    elif topic.subject == "school" and rnd.random() < 0.5:
        subject = school
    elif topic.subject == "company" and rnd.random() < 0.5:
        subject = company
    else:
        subject = None
    category = rnd.choice(topic.categories) if rnd.random() < 0.9 else rnd.choice(CATEGORIES)
    return Matter(seed, topic, slots, facts, own, category, subject, f"{locale.county}{town}")


STYLES = ("new", "reworded", "resubmitted", "short")


def render(matter: Matter, rnd: random.Random | None = None, style: str = "new") -> tuple[str, str]:
    """(title, content of 40-300 characters). new: the matter's facts as first written (the same text for the
    same matter); reworded: another title, opener and order, some of the facts, maybe one more; resubmitted: the
    first text again, marked as a repeat; short: one or two facts (a note of a phone call)."""
    s, topic = matter.slots, matter.topic
    if style in ("new", "resubmitted"):
        title, content = _compose(matter, random.Random(matter.seed + ":text"), matter.facts)
        if style == "new":
            return title, content
        if rnd.random() < 0.5:
            title = rnd.choice(["再次反映", "重复反映：", "（再次）", "再次反映：", ""]) + title
        content = rnd.choice(REPEAT_LINES).format_map(s) + content
        if rnd.random() < 0.6:
            content = content.rstrip("。") + "。" + rnd.choice(HISTORY).format_map(s) + "。"
        return title, _cut(content)
    facts = list(matter.facts)
    rnd.shuffle(facts)
    if style == "short":
        return _compose(matter, rnd, facts[:rnd.randint(1, 2)], short=True)
    facts = facts[:max(2, len(facts) - rnd.randint(0, 2))]
    if rnd.random() < 0.5:
        facts.append(rnd.randrange(len(topic.facts)))
    return _compose(matter, rnd, list(dict.fromkeys(facts)))


def _compose(matter: Matter, rnd: random.Random, facts: list[int], short: bool = False) -> tuple[str, str]:
    s, topic = matter.slots, matter.topic
    title = vary(rnd.choice(topic.titles), rnd).format_map(s)
    target = rnd.randint(40, 90) if short else min(300, max(40, int(rnd.triangular(40, 300, 140))))
    details = rnd.sample(topic.details, rnd.randint(0, 2))
    opener = rnd.choice(["来电人称，", "来电反映：", "", "电话反映："]) if short else vary(rnd.choice(OPENERS), rnd).format_map(s)
    sentences = [vary(topic.facts[i], rnd, clauses=True) for i in facts]
    own = rnd.sample(matter.own, len(matter.own) if not short else 1)
    sentences = sentences[:1] + own + sentences[1:] if rnd.random() < 0.5 else sentences + own
    sentences += details
    if rnd.random() < 0.12:
        sentences.append(rnd.choice(HISTORY))
    request = "" if rnd.random() < 0.15 else vary(rnd.choice(REQUESTS + TOPIC_REQUESTS.get(topic.key, []) * 2), rnd).format_map(s)
    text = ""
    for i, sentence in enumerate(sentences):
        piece = vary(sentence, rnd).format_map(s) + ("。" if rnd.random() < 0.6 or i == len(sentences) - 1 else "，")
        if text and len(opener) + len(text) + len(piece) + len(request) > target and len(opener) + len(text) >= 40:
            break
        text += piece
    text = text.rstrip("，") + ("" if text.endswith("。") else "。")
    content = opener + text + request
    if len(content) < 40:
        content += rnd.choice(["情况属实，有知情人可以作证。", "以上情况请核实，反映人愿意配合调查。", "此事在当地影响很大，群众议论很多。"])
    return title, _cut(content)


def _cut(content: str) -> str:
    """At most 300 characters, cut at a sentence end."""
    if len(content) <= 300:
        return content
    cut = content[:300].rfind("。")
    return content[:cut + 1] if cut >= 40 else content[:299] + "。"


# -- the index corpus: one tenant ------------------------------------------------------------------

INDEX_TENANT = ("a1b2c3d4e5f6a7b8c9d0e1f2", "siyang-edu", {"zh": "泗阳县教育系统", "en": "Siyang education"})
FIRST_DAY = datetime(2023, 1, 3, 1, 0)  # UTC, naive (what petition_fields gives Whoosh)
LAST_DAY = datetime(2026, 11, 27, 9, 0)
REPEAT_STYLES = [("reworded", 40), ("resubmitted", 35), ("short", 25)]


def object_id(moment: datetime, n: int) -> str:
    """An ObjectId-like hex id, time-ordered like the store's, that carries n (the bench's own number)."""
    return f"{int(moment.replace(tzinfo=UTC).timestamp()):08x}{n:016x}"


def index_corpus(n: int, seed: int) -> list[dict]:
    """petition_fields-shaped dicts of n petitions of one tenant (about 15 % repeats of earlier matters)."""
    locale = Locale.of(0, seed)
    rnd = random.Random(f"{seed}:index")
    docs, matters = [], []
    span = (LAST_DAY - FIRST_DAY) / max(1, n)
    for i in range(n):
        if matters and rnd.random() < 0.15:
            matter = matters[max(0, len(matters) - 1 - int(rnd.expovariate(1 / 3000)))]
            title, content = render(matter, rnd, weighted(rnd, REPEAT_STYLES))
        else:
            matter = make_matter(f"{seed}:ix:{i}", locale)
            matters.append(matter)
            title, content = render(matter)
        received = FIRST_DAY + span * i + timedelta(seconds=rnd.randint(0, 600))
        docs.append(dict(
            id=object_id(received, i), tenant_id=INDEX_TENANT[0], number=f"SIYANG-EDU-{received.year}-{i + 1:06d}", title=title,
            text=content, subject=matter.subject if matter.subject and rnd.random() < 0.85 else "", category=matter.category,
            region=matter.region, channel=weighted(rnd, CHANNELS), status=weighted(rnd, STATES), kind=weighted(rnd, KINDS), received=received))
    return docs


# -- measuring -------------------------------------------------------------------------------------


@dataclass
class Usage:
    """Wall time of a timed part and the CPU used meanwhile by this bench (and its workers) and by everything else."""

    wall: float = 0.0
    ours: float = 0.0
    others: float = 0.0

    def text(self) -> str:
        if self.wall <= 0:
            return ""
        return f"CPU: bench {self.ours / self.wall:4.0%}, other processes {self.others / self.wall:4.0%} of a core"


@contextmanager
def measured(usage: Usage, pids: list[int] | None = None):
    def ours() -> float:
        total = 0.0
        for pid in [os.getpid(), *(pids or [])]:
            try:
                total += cpu_seconds(pid)
            except OSError:
                pass
        return total

    cpu0, busy0, t0 = ours(), machine_busy_seconds(), time.perf_counter()
    yield usage
    usage.wall = time.perf_counter() - t0
    usage.ours = ours() - cpu0
    usage.others = max(0.0, machine_busy_seconds() - busy0 - usage.ours)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def quantiles(values: list[float]) -> tuple[float, float, float]:
    return pct(values, 50), pct(values, 95), pct(values, 99)


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


WARN_OTHERS = 0.2


def warn_if_shared(name: str, usage: Usage) -> None:
    if usage.wall > 0 and usage.others / usage.wall > WARN_OTHERS:
        say(f"  !! other processes used {usage.others / usage.wall:.0%} of a core during {name}: the machine was shared, "
            "seconds are unreliable (ratios less so: the two sides are interleaved or measured back to back)")


# -- index throughput ------------------------------------------------------------------------------

FTS_COLUMNS = "title, text, subject, id UNINDEXED, number UNINDEXED, category UNINDEXED, region UNINDEXED, channel UNINDEXED, " \
              "status UNINDEXED, kind UNINDEXED, received UNINDEXED"


def build_whoosh(data_dir: Path, docs: list[dict]) -> dict:
    """The tenant's index as service.rebuild writes it: a new generation, one writer (limitmb=256), commit, switch."""
    index_dir = TenantIndexDir(data_dir, INDEX_TENANT[0])
    usage = Usage()
    with measured(usage), index_dir.writer_lock(wait=600):
        ix = index_dir.new_generation()
        writer = ix.writer(limitmb=256)
        started = time.perf_counter()
        for doc in docs:
            writer.add_document(**doc)
        added = time.perf_counter() - started
        writer.commit()
        index_dir.switch_to(Path(ix.storage.folder))
    return {"seconds": usage.wall, "add": added, "commit": usage.wall - added, "usage": usage,
            "bytes": dir_size(index_dir.current_generation())}


def tokenise(docs: list[dict]) -> tuple[list[tuple[str, str, str]], Usage]:
    """The same words the index's analyzer makes (jieba, lower case, no stop words), per field, joined by spaces."""
    usage = Usage()
    with measured(usage):
        out = [(" ".join(words(d["title"])), " ".join(words(d["text"])), " ".join(words(d["subject"]))) for d in docs]
    return out, usage


def fts_row(doc: dict, tokens: tuple[str, str, str]) -> tuple:
    return (*tokens, doc["id"], doc["number"], doc["category"], doc["region"], doc["channel"], doc["status"], doc["kind"],
            doc["received"].isoformat())


def build_fts(path: Path, docs: list[dict], tokens: list[tuple[str, str, str]]) -> tuple[sqlite3.Connection, dict]:
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    db.executescript(f"""
        PRAGMA journal_mode=WAL;
        PRAGMA synchronous=NORMAL;
        CREATE VIRTUAL TABLE petitions USING fts5({FTS_COLUMNS}, tokenize='unicode61');
        INSERT INTO petitions(petitions, rank) VALUES('rank', 'bm25(2.0, 1.0, 1.5)');
    """)
    usage = Usage()
    with measured(usage):
        db.execute("BEGIN")
        db.executemany("INSERT INTO petitions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (fts_row(d, t) for d, t in zip(docs, tokens)))
        db.execute("COMMIT")
        inserted = time.perf_counter()
        db.execute("INSERT INTO petitions(petitions) VALUES('optimize')")  # one b-tree, like Whoosh's merged segment
        optimise = time.perf_counter() - inserted
    return db, {"seconds": usage.wall, "optimize": optimise, "usage": usage, "bytes": path.stat().st_size}


def drain_batches(data_dir: Path, db: sqlite3.Connection, docs: list[dict], batch: int = 500) -> tuple[list[float], list[float]]:
    """New petitions as the indexer writes them (drain: one writer per batch of 500, update_document, commit),
    and the same batches into FTS5 (tokenise + insert, one transaction each)."""
    index_dir = TenantIndexDir(data_dir, INDEX_TENANT[0])
    ours, base = [], []
    for start in range(0, len(docs), batch):
        chunk = docs[start:start + batch]
        with index_dir.writer_lock():
            ix = index_dir.open_or_create_for_writing()
            started = time.perf_counter()
            writer = ix.writer()
            for doc in chunk:
                writer.update_document(**doc)
            writer.commit()
            ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        rows = [fts_row(d, (" ".join(words(d["title"])), " ".join(words(d["text"])), " ".join(words(d["subject"])))) for d in chunk]
        db.execute("BEGIN")
        db.executemany("INSERT INTO petitions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.execute("COMMIT")
        base.append(time.perf_counter() - started)
    return ours, base


# -- queries ---------------------------------------------------------------------------------------

CHINA_OFFSET = timedelta(hours=8)


@dataclass
class Query:
    kind: str  # word | broad word | two words | phrase | + category | + newest | + dates | page 2
    request: SearchRequest

    def label(self) -> str:
        extra = [f"{k}={v}" for k, v in self.request.filters.items()]
        if self.request.sort != "relevance":
            extra.append(self.request.sort)
        if self.request.received_from:
            extra.append(f"{self.request.received_from}..{self.request.received_to}")
        if self.request.page > 1:
            extra.append(f"page {self.request.page}")
        return self.request.q + (f" [{', '.join(extra)}]" if extra else "")


TOPIC_QUERIES = ["有偿补课", "补课", "食堂", "校服费", "资料费", "营养餐", "工程款", "拖欠工资", "校车", "超载", "招生", "择校费", "插班生",
                 "公车私用", "打麻将", "礼金", "红包", "体罚", "撤并", "裂缝", "转包", "陪标", "收据", "代课教师", "绩效工资", "升学宴",
                 "学区", "借读费", "补习班", "承包", "午托费", "住宿费", "赞助费", "欠薪", "职称评审", "优亲厚友", "围挡", "健康证",
                 "过期的牛奶", "棋牌室"]
BROAD_QUERIES = ["学校", "反映", "学生", "老师", "家长", "收费"]


def make_queries(docs: list[dict], seed: int, n: int = 200) -> list[Query]:
    """A fixed, realistic set: topic words, places, schools, names, amounts, plates; two words; quoted phrases
    taken from the texts; and variants of those with a category filter, newest first, a date range or page 2."""
    rnd = random.Random(f"{seed}:queries")
    locale = Locale.of(0, seed)
    sample = rnd.sample(docs, min(len(docs), 2000))
    places = locale.towns + [v for v in rnd.sample(locale.villages, 20)] + [s for s, _, _ in rnd.sample(locale.schools, 40)]
    names = [masked(rnd) for _ in range(10)]
    amounts = [f"{rnd.choice([180, 200, 300, 500, 1200, 2000])}元" for _ in range(5)]
    plates = []
    for doc in sample:
        plates += re.findall(r"[苏新][A-Z][0-9A-Z]{5}", doc["text"])
    companies = [m for doc in sample for m in re.findall(r"[\u4e00-\u9fff]{2,4}(?:鑫源|宏达|顺达|恒通|金盛|华建|永兴|瑞丰)[\u4e00-\u9fff]{2,8}公司", doc["text"])]
    single = ([Query("broad word", SearchRequest(q=w)) for w in BROAD_QUERIES]
              + [Query("word", SearchRequest(q=w)) for w in rnd.sample(TOPIC_QUERIES, 20)]
              + [Query("word", SearchRequest(q=w)) for w in rnd.sample(places, 14)]
              + [Query("word", SearchRequest(q=w)) for w in rnd.sample(names, 4) + rnd.sample(amounts, 2) + plates[:2] + companies[:2]])
    two = []
    while len(two) < 50:
        a = rnd.choice(TOPIC_QUERIES)
        b = rnd.choice([rnd.choice(locale.towns), rnd.choice(places), rnd.choice(names), rnd.choice(TOPIC_QUERIES), rnd.choice(FEES)])
        if a != b:
            two.append(Query("two words", SearchRequest(q=f"{a} {b}")))
    phrases = []
    for doc in sample:
        if len(phrases) >= 40:
            break
        clauses = [c for c in re.split(r"[，。：；、“”（）()\s]", doc["text"]) if len(c) >= 6]
        if not clauses:
            continue
        pieces = segment(rnd.choice(clauses))  # whole words, 2 to 4 of them, as someone would copy them
        if len(pieces) < 2:
            continue
        length = min(len(pieces), rnd.randint(2, 4))
        first = rnd.randrange(len(pieces) - length + 1)
        text = "".join(w for w, _, _ in pieces[first:first + length])
        if len(text) >= 4:
            phrases.append(Query("phrase", SearchRequest(q=f'"{text}"')))
    base = single + two + phrases
    variants = []
    for query in rnd.sample(base, 60):
        r = query.request
        choice = len(variants) % 12
        if choice < 4:
            variants.append(Query("+ category", SearchRequest(q=r.q, filters={"category": rnd.choice(["integrity", "mass", "work"])})))
        elif choice < 8:
            variants.append(Query("+ newest", SearchRequest(q=r.q, sort="newest")))
        elif choice < 11:
            day = (FIRST_DAY + (LAST_DAY - FIRST_DAY) * rnd.random()).date()
            variants.append(Query("+ dates", SearchRequest(q=r.q, received_from=day, received_to=day + timedelta(days=90),
                                                          sort=rnd.choice(["relevance", "newest"]))))
        else:
            variants.append(Query("page 2", SearchRequest(q=r.q, page=2)))
    return (base + variants)[:n]


def has_stopped_phrase(q: str) -> bool:
    """A quoted part with a stop word between two other words."""
    for part in q.split('"')[1::2]:
        stopped = [w.lower() in stop_words() for w, _, _ in segment(part)]
        kept = [i for i, s in enumerate(stopped) if not s]
        if kept and any(stopped[kept[0]:kept[-1]]):
            return True
    return False


def fts_match(q: str) -> str:
    """The FTS5 form of what _query asks: every word (outside quotes) in any column, quoted parts as phrases."""
    parts = q.split('"')
    terms = []
    for i, part in enumerate(parts):
        if i % 2:  # inside quotes
            tokens = words(part)
            if tokens:
                terms.append('"' + " ".join(tokens) + '"')
        else:
            for piece in part.split():
                terms += [f'"{w}"' for w in words(piece)]
    return " AND ".join(terms)


def fts_bounds(request: SearchRequest) -> tuple[str | None, str | None]:
    start = (datetime.combine(request.received_from, datetime.min.time()) - CHINA_OFFSET).isoformat() if request.received_from else None
    end = (datetime.combine(request.received_to + timedelta(days=1), datetime.min.time()) - CHINA_OFFSET).isoformat() \
        if request.received_to else None
    return start, end


def fts_search(db: sqlite3.Connection, request: SearchRequest, *, snippets: bool, count: bool) -> tuple[int, list]:
    where, args = ["petitions MATCH ?"], [fts_match(request.q)]
    for name, value in request.filters.items():
        where.append(f"{name} = ?")
        args.append(value)
    start, end = fts_bounds(request)
    if start:
        where.append("received >= ?")
        args.append(start)
    if end:
        where.append("received < ?")
        args.append(end)
    order = {"relevance": "rank", "newest": "received DESC", "oldest": "received"}[request.sort]
    columns = "id, number, title, subject, category, region, channel, status, received, rank"
    if snippets:
        columns += ", snippet(petitions, 0, '<mark>', '</mark>', '…', 12), snippet(petitions, 1, '<mark>', '</mark>', '…', 24)"
    sql = (f"SELECT {columns} FROM petitions WHERE {' AND '.join(where)} ORDER BY {order} "
           f"LIMIT {request.page_size} OFFSET {(request.page - 1) * request.page_size}")
    rows = db.execute(sql, args).fetchall()
    total = db.execute(f"SELECT count(*) FROM petitions WHERE {' AND '.join(where)}", args).fetchone()[0] if count else len(rows)
    return total, rows


class WhatIfSearcher:
    """A searcher for the what-if paths (not platform code): every search counts while it collects (optimize=False:
    no block skipping, so no second pass for len(results), and the count honours the filter); optionally each
    filter's document set is computed once and kept."""

    def __init__(self, inner, filters: dict | None):
        self.inner, self.filters = inner, filters

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def search(self, q, **kwargs):
        kwargs["optimize"] = False
        f = kwargs.get("filter")
        if self.filters is not None and f is not None:
            key = (id(self.inner), repr(f))
            if key not in self.filters:
                self.filters[key] = self.inner._filter_to_comb(f)
            kwargs["filter"] = self.filters[key]
        return self.inner.search(q, **kwargs)


class WhatIfSearchers:
    def __init__(self, real, cache_filters: bool):
        self.real, self.filters = real, {} if cache_filters else None

    def get(self, data_dir, tenant_id):
        return WhatIfSearcher(self.real.get(data_dir, tenant_id), self.filters)

    def holding(self):
        return self.real.holding()

    def filter_docs(self, tenant_id, searcher, filter_query):
        # The platform now counts while collecting and keeps filter sets itself (querying._PetitionSearchers),
        # so since the fix these what-if columns measure the same thing as "ours".
        inner = searcher.inner if isinstance(searcher, WhatIfSearcher) else searcher
        return self.real.filter_docs(tenant_id, inner, filter_query)


def run_queries(data_dir: Path, db: sqlite3.Connection, queries: list[Query], rounds: int, seed: int, what_ifs: bool = True) -> dict:
    from xinfang_search import querying as service
    from xinfang_search.querying import _filters, _searchers

    tenant_id = INDEX_TENANT[0]
    tenants = [INDEX_TENANT]
    searcher = _searchers.get(data_dir, tenant_id)
    # the query as the search runs it (each long piece decided for this index, pieces typed apart as AllOf): the
    # unresolved tree put an AllOf under Whoosh's IntersectionMatcher, whose top-N asked it for a block quality
    parsed = [(_query(searcher.schema, q.request.q, searcher=searcher), _filters(q.request)) for q in queries]

    def ours(i):
        return _search_sync(data_dir, tenants, queries[i].request, {tenant_id})["total"]

    def what_if(searchers):
        def run(i):
            saved, service._searchers = service._searchers, searchers
            try:
                return _search_sync(data_dir, tenants, queries[i].request, {tenant_id})["total"]
            finally:
                service._searchers = saved
        return run

    def bare(i):
        r = queries[i].request
        query, filter_query = parsed[i]
        sortedby, reverse = {"relevance": (None, False), "newest": ("received", True), "oldest": ("received", False)}[r.sort]
        searcher = _searchers.get(data_dir, tenant_id)
        results = searcher.search(query, limit=r.page * r.page_size, filter=filter_query, sortedby=sortedby, reverse=reverse)
        return len([hit.fields() for hit in results[(r.page - 1) * r.page_size:]])

    paths = {
        "ours: _search_sync": ours,
        "ours, bare: searcher.search": bare,
        "FTS5 + snippet()": lambda i: fts_search(db, queries[i].request, snippets=True, count=False)[0],
        "FTS5, no snippet": lambda i: fts_search(db, queries[i].request, snippets=False, count=False)[0],
        "FTS5 + snippet() + count(*)": lambda i: fts_search(db, queries[i].request, snippets=True, count=True)[0],
        "what-if: count while collecting": what_if(WhatIfSearchers(_searchers, cache_filters=False)),
        "what-if: + filters cached": what_if(WhatIfSearchers(_searchers, cache_filters=True)),
    }
    if not what_ifs:
        for name in ("what-if: count while collecting", "what-if: + filters cached"):
            del paths[name]
    totals = {}
    warm = Usage()
    first: dict[str, list[float]] = {name: [] for name in paths}
    with measured(warm):
        for i in range(len(queries)):  # warm-up: every query once on every path (and the platform's searcher cache)
            for name, run in paths.items():
                started = time.perf_counter()
                result = run(i)
                first[name].append((time.perf_counter() - started) * 1000)
                if name == "ours: _search_sync":
                    totals[i] = result
    times: dict[str, list[list[float]]] = {name: [[] for _ in queries] for name in paths}
    usage = Usage()
    rnd = random.Random(f"{seed}:order")
    names = list(paths)
    with measured(usage):
        for r in range(rounds):
            order = list(range(len(queries)))
            rnd.shuffle(order)
            for j, i in enumerate(order):
                for k in range(len(names)):  # the paths take turns going first
                    name = names[(j + k + r) % len(names)]
                    started = time.perf_counter()
                    paths[name](i)
                    times[name][i].append((time.perf_counter() - started) * 1000)
    fts_totals = {i: fts_search(db, q.request, snippets=False, count=True)[0] for i, q in enumerate(queries)}
    searcher = _searchers.get(data_dir, tenant_id)
    exact = {i: len(searcher.search(parsed[i][0], limit=None, filter=parsed[i][1])) for i in range(len(queries))}  # every match scored
    return {"times": times, "totals": totals, "exact": exact, "fts_totals": fts_totals, "usage": usage, "warm": warm, "first": first}


def report_queries(queries: list[Query], result: dict) -> dict:
    times = result["times"]
    flat = {name: [t for per in ts for t in per] for name, ts in times.items()}
    base_full, base_bare = flat["FTS5 + snippet()"], flat["FTS5, no snippet"]
    say(f"\n  {'':<30} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'p50 x':>7} {'p95 x':>7}   (x: ratio to the FTS5 line named)")
    summary = {}
    for name, values in flat.items():
        p50, p95, p99 = quantiles(values)
        against = base_bare if name in ("ours, bare: searcher.search", "FTS5, no snippet") else base_full
        ratio50, ratio95 = p50 / pct(against, 50), p95 / pct(against, 95)
        summary[name] = (p50, p95, p99)
        say(f"  {name:<30} {p50:8.2f} {p95:8.2f} {p99:8.2f} {max(values):8.1f} {ratio50:7.2f} {ratio95:7.2f}")
    first = result.get("first") or {}
    if first:
        ours_first, fts_first = first["ours: _search_sync"], first["FTS5 + snippet()"]
        say(f"  {'first pass (cold): ours':<30} {pct(ours_first, 50):8.2f} {pct(ours_first, 95):8.2f} {pct(ours_first, 99):8.2f} "
            f"{max(ours_first):8.1f} {pct(ours_first, 50) / pct(fts_first, 50):7.2f} {pct(ours_first, 95) / pct(fts_first, 95):7.2f}"
            f"   (FTS5 + snippet() first pass: p50 {pct(fts_first, 50):.2f}, p95 {pct(fts_first, 95):.2f} ms)")
    say("  (ours, the what-ifs and FTS5 + count(*) against FTS5 + snippet(); bare Whoosh against FTS5 without snippets;")
    say("   what-ifs: _search_sync itself through a searcher that counts while collecting (optimize=False), and that also keeps")
    say("   each filter's document set after its first use (the warm-up): not platform code)")
    say("\n  by kind of query (p50 / p95 ms; matches: median of the kind):")
    say(f"  {'kind':<12} {'n':>4} {'matches':>8} {'ours':>15} {'bare Whoosh':>15} {'FTS5 + snippet':>15} {'FTS5 no snip':>15} "
        f"{'what-if count':>15} {'+ filters kept':>15}")
    kinds = defaultdict(list)
    for i, q in enumerate(queries):
        kinds[q.kind].append(i)
    for kind, members in kinds.items():
        cells = []
        for name in ("ours: _search_sync", "ours, bare: searcher.search", "FTS5 + snippet()", "FTS5, no snippet",
                     "what-if: count while collecting", "what-if: + filters cached"):
            if name not in times:
                cells.append("-")
                continue
            values = [t for i in members for t in times[name][i]]
            cells.append(f"{pct(values, 50):6.1f} / {pct(values, 95):6.1f}")
        matches = statistics.median(result["exact"][i] for i in members)
        say(f"  {kind:<12} {len(members):>4} {matches:>8,.0f} " + " ".join(f"{c:>15}" for c in cells))
    filtered = [i for i, q in enumerate(queries) if q.request.filters or q.request.received_from]
    wrong = [i for i in filtered if result["totals"][i] != result["exact"][i]]
    if filtered:
        say(f"\n  the total _search_sync reports (len(results)) is not the number of matches for {len(wrong)} of the {len(filtered)} filtered "
            "queries: Whoosh counts again without the filter (e.g. " + "; ".join(
                f"{queries[i].label()}: {result['totals'][i]:,} reported, {result['exact'][i]:,} match" for i in wrong[:3]) + ")")
    mismatched = [i for i in range(len(queries)) if result["exact"][i] != result["fts_totals"][i]]
    stop_phrases = [i for i, q in enumerate(queries) if has_stopped_phrase(q.request.q)]
    zero = [i for i in stop_phrases if result["exact"][i] == 0]
    say(f"\n  quoted phrases with a stop word inside (的, 没有, 在, 和 ...): {len(stop_phrases)}; Whoosh finds nothing for {len(zero)} of them "
        f"(FTS5: median {statistics.median([result['fts_totals'][i] for i in zero]) if zero else 0:,.0f} matches): the index keeps a gap "
        "where a stop word was, the query parser's phrase does not")
    say(f"  matches (Whoosh counted exactly, limit=None): Whoosh and FTS5 agree for {len(queries) - len(mismatched)} of {len(queries)} queries"
        + (f"; differ on {len(mismatched)} ({sum(1 for i in mismatched if i in stop_phrases)} of them phrases with a stop word), e.g. "
           + "; ".join(f"{queries[i].label()}: {result['exact'][i]} vs {result['fts_totals'][i]}" for i in mismatched[:4]) if mismatched else ""))
    slow = sorted(range(len(queries)), key=lambda i: -statistics.median(times["ours: _search_sync"][i]))[:8]
    say("  slowest queries (ours, median of rounds; bare Whoosh; FTS5 + snippet; matches):")
    for i in slow:
        say(f"    {statistics.median(times['ours: _search_sync'][i]):7.1f} ms  {statistics.median(times['ours, bare: searcher.search'][i]):7.1f} ms  "
            f"{statistics.median(times['FTS5 + snippet()'][i]):7.1f} ms  {result['exact'][i]:>7,}  {queries[i].kind}: {queries[i].label()}")
    return summary


def profile_ours(data_dir: Path, queries: list[Query]) -> None:
    """Where _search_sync's time goes over every query once (cProfile: cumulative time of its stages)."""
    tenant_id = INDEX_TENANT[0]
    profile = cProfile.Profile()
    profile.enable()
    started = time.perf_counter()
    for q in queries:
        _search_sync(data_dir, [INDEX_TENANT], q.request, {tenant_id})
    wall = time.perf_counter() - started
    profile.disable()
    stats = pstats.Stats(profile).stats
    stages = [  # (label, file part, function): cumulative time, summed over the entries found
        ("searcher.search: matching, scoring, collecting, sorting", "whoosh/searching.py", "search"),
        ("hit.highlights: stored text re-analysed (jieba), fragments, formatting", "whoosh/searching.py", "highlights"),
        ("  of which the tokenizer (analysis.segment: normalise + jieba)", "xinfang_search/analysis.py", "segment"),
        ("len(results): the total", "whoosh/searching.py", "__len__"),
        ("stored fields of the hits", "whoosh/searching.py", "fields"),
        ("_query: spaced_words + MultifieldParser", "xinfang_search/querying.py", "_query"),
        ("_searchers.get: CURRENT + up_to_date", "xinfang_search/querying.py", "get"),
    ]
    total = sum(ct for (_, _, func), (_, _, _, ct, _) in stats.items() if func == "_search_sync")
    say(f"\n  where ours spends its time (cProfile over the {len(queries)} queries once, {wall:.1f} s with the profiler; "
        "cumulative time of each stage, share of _search_sync):")
    for label, part, func in stages:
        seconds = sum(ct for (filename, _, name), (_, _, _, ct, _) in stats.items() if name == func and part in filename)
        say(f"    {label:<74} {seconds / total:5.0%}")
    segment_calls = sum(nc for (filename, _, name), (_, nc, _, _, _) in stats.items() if name == "segment" and "analysis.py" in filename)
    say(f"    (analysis.segment ran {segment_calls:,} times: {segment_calls / len(queries):.0f} a query)")


# -- fingerprints at scale -------------------------------------------------------------------------

# Tenants of the duplicate store: a province, 3 cities, 12 counties (4 a city). Petitions: counties 80 %, cities 15 %, province 5 %.
TENANTS = [("prov", None)] + [(f"city{c}", "prov") for c in range(3)] + [(f"county{i}", f"city{i // 4}") for i in range(12)]
TENANT_IDS = {name: hashlib.sha1(f"tenant:{name}".encode()).hexdigest()[:24] for name, _ in TENANTS}
PARENT = dict(TENANTS)


def hierarchy(name: str) -> list[str]:
    """The tenant, its ancestors and its descendants (what service.hierarchy_of gives), as tenant ids."""
    found, up = {name}, PARENT[name]
    while up:
        found.add(up)
        up = PARENT[up]
    found |= {t for t, _ in TENANTS if name in _ancestors(t)}
    return sorted(TENANT_IDS[t] for t in found)


def _ancestors(name: str) -> set[str]:
    out, up = set(), PARENT[name]
    while up:
        out.add(up)
        up = PARENT[up]
    return out


def pick_tenant(rnd: random.Random) -> tuple[str, int]:
    """(tenant, locale index) of a new matter."""
    x = rnd.random()
    if x < 0.80:
        county = rnd.randrange(12)
        return f"county{county}", county
    if x < 0.95:
        city = rnd.randrange(3)
        return f"city{city}", city * 4 + rnd.randrange(4)
    return "prov", rnd.randrange(12)


@dataclass
class FillPlan:
    """Who sent what where: per petition (matter, style, tenant, petitioner); per matter (tenant, locale, petitioner)."""

    seed: int
    matter_of: list[int] = field(default_factory=list)
    style_of: list[str] = field(default_factory=list)
    tenant_of: list[str] = field(default_factory=list)
    petitioner_of: list[int] = field(default_factory=list)  # -1: anonymous
    subject_kept: list[bool] = field(default_factory=list)
    matter_tenant: list[str] = field(default_factory=list)
    matter_locale: list[int] = field(default_factory=list)
    matter_petitioner: list[int] = field(default_factory=list)
    hot: list[int] = field(default_factory=list)
    next_petitioner: int = 0

    def new_petitioner(self) -> int:
        self.next_petitioner += 1
        return self.next_petitioner - 1

    def new_matter(self, rnd: random.Random) -> int:
        tenant, locale = pick_tenant(rnd)
        m = len(self.matter_tenant)
        self.matter_tenant.append(tenant)
        self.matter_locale.append(locale)
        if rnd.random() < 0.6:  # named; 8 % of them by someone who wrote before (about another matter)
            known = self.next_petitioner > 0 and rnd.random() < 0.08
            self.matter_petitioner.append(rnd.randrange(max(0, self.next_petitioner - 20000), self.next_petitioner) if known
                                          else self.new_petitioner())
        else:
            self.matter_petitioner.append(-1)
        if rnd.random() < 0.003:
            self.hot.append(m)
        return m

    def repeat_of(self, rnd: random.Random) -> tuple[int, str, str, int]:
        """(matter, style, tenant, petitioner) of a repeat petition on an earlier matter."""
        hot = self.hot and rnd.random() < 0.12
        if hot:  # a few matters draw many petitions (collective ones): the first hot ones most
            m = self.hot[int(len(self.hot) * rnd.random() ** 2)]
        else:  # mostly recent matters
            back = int(rnd.expovariate(1 / 20000))
            m = len(self.matter_tenant) - 1 - back if back < len(self.matter_tenant) else rnd.randrange(len(self.matter_tenant))
        style = weighted(rnd, REPEAT_STYLES)
        tenant = self.matter_tenant[m]
        x = rnd.random()
        if x < 0.22 and PARENT[tenant]:
            tenant = PARENT[tenant]
        elif x < 0.30:
            tenant = "prov"
        own = self.matter_petitioner[m]
        x = rnd.random()
        if own >= 0 and x < (0.25 if hot else 0.55):
            petitioner = own
        elif x < 0.85:
            petitioner = self.new_petitioner()
        else:
            petitioner = -1
        return m, style, tenant, petitioner

    def add(self, rnd: random.Random, repeat_share: float = 0.22) -> None:
        if self.matter_tenant and rnd.random() < repeat_share:
            m, style, tenant, petitioner = self.repeat_of(rnd)
        else:
            m = self.new_matter(rnd)
            style, tenant, petitioner = "new", self.matter_tenant[m], self.matter_petitioner[m]
        self.matter_of.append(m)
        self.style_of.append(style)
        self.tenant_of.append(tenant)
        self.petitioner_of.append(petitioner)
        self.subject_kept.append(rnd.random() < 0.85)


def make_plan(n: int, seed: int) -> FillPlan:
    plan = FillPlan(seed)
    rnd = random.Random(f"{seed}:plan")
    for _ in range(n):
        plan.add(rnd)
    return plan


def petitioner_key(p: int, seed: int) -> str | None:
    return hashlib.sha256(f"{seed}:petitioner:{p}".encode()).hexdigest() if p >= 0 else None


FILL_START = datetime(2023, 1, 1, tzinfo=UTC)
FILL_SPAN = timedelta(days=1425)
_locales: dict[int, Locale] = {}


def locale(index: int, seed: int) -> Locale:
    if index not in _locales:
        _locales[index] = Locale.of(index, seed)
    return _locales[index]


@dataclass
class FillPetition:
    pid: str
    tenant_id: str
    number: str
    title: str
    content: str
    created: str
    petitioner: str | None
    subject_name: str | None


def fill_petition(plan: FillPlan, k: int, total: int) -> FillPetition:
    seed = plan.seed
    m = plan.matter_of[k]
    matter = make_matter(f"{seed}:fm:{m}", locale(plan.matter_locale[m], seed))
    title, content = render(matter, random.Random(f"{seed}:fs:{k}"), plan.style_of[k])
    created = FILL_START + FILL_SPAN * (k / total)
    tenant = plan.tenant_of[k]
    return FillPetition(pid=object_id(created.replace(tzinfo=None), k), tenant_id=TENANT_IDS[tenant],
                        number=f"{tenant.upper()}-{created.year}-{k:07d}", title=title, content=content, created=created.isoformat(),
                        petitioner=petitioner_key(plan.petitioner_of[k], seed),
                        subject_name=matter.subject if plan.subject_kept[k] else None)


class BlockWords:
    """analysis.words, remembered per jieba block: jieba cuts each run of Han/alphanumeric characters on its own,
    so a text's words are its blocks' words in order (checked against words() on a sample before the fill)."""

    def __init__(self, limit: int = 3_000_000):
        self.cache: dict[str, list[str]] = {}
        self.limit = limit

    def __call__(self, text: str, tenant_words: frozenset[str] = frozenset(), *, keep_stop_words: bool = False) -> list[str]:
        if tenant_words or keep_stop_words:  # a tenant's words join blocks: not for the cache
            return words(text, tenant_words, keep_stop_words=keep_stop_words)
        out = []
        for block in jieba.re_han_default.split(normalise(text)):
            if not block:
                continue
            got = self.cache.get(block)
            if got is None:
                if len(self.cache) > self.limit:
                    self.cache.clear()
                got = self.cache[block] = words(block)
            out.extend(got)
        return out


class CachedMinHash(MinHash):
    """datasketch's MinHash, its permutations computed once per (num_perm, seed) instead of at every construction."""

    _prototypes: dict = {}

    def __init__(self, num_perm: int = 128, seed: int = 1, **kwargs):
        if kwargs:
            super().__init__(num_perm=num_perm, seed=seed, **kwargs)
            return
        prototype = self._prototypes.get((num_perm, seed))
        if prototype is None:
            prototype = self._prototypes[(num_perm, seed)] = MinHash(num_perm=num_perm, seed=seed)
        super().__init__(num_perm=num_perm, seed=seed, permutations=prototype.permutations, scheme=prototype.scheme)


@contextmanager
def fast_fingerprints():
    """duplicates.fingerprint as it is, with two exact shortcuts: words remembered per jieba block, MinHash
    permutations computed once. Checked field by field against the plain function before the fill."""
    saved = {name: getattr(duplicates, name) for name in ("words", "MinHash") if hasattr(duplicates, name)}
    duplicates.words = BlockWords()
    if "MinHash" in saved:
        duplicates.MinHash = CachedMinHash
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(duplicates, name, value)


_PLAN: FillPlan | None = None  # set before the worker pool forks
_TOTAL = 0


def fill_fingerprints(bounds: tuple[int, int]) -> list[duplicates.Fingerprint]:
    """Fingerprints of petitions [start, end) of the plan (in a worker: the shortcuts stay on in it)."""
    global _worker_patch
    if "_worker_patch" not in globals():
        _worker_patch = fast_fingerprints()
        _worker_patch.__enter__()
    return [real_fingerprint(fill_petition(_PLAN, k, _TOTAL)) for k in range(*bounds)]


def real_fingerprint(p: FillPetition) -> duplicates.Fingerprint:
    return duplicates.fingerprint(petition_id=p.pid, tenant_id=p.tenant_id, title=p.title, content=p.content, subject_name=p.subject_name,
                                  petitioner=p.petitioner, number=p.number, created=p.created)


def same_fingerprint(a: duplicates.Fingerprint, b: duplicates.Fingerprint) -> bool:
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not np.array_equal(x, y):
                return False
        elif x != y:
            return False
    return a.band_keys() == b.band_keys()


def check_fast_path(plan: FillPlan, total: int, sample: int = 300) -> None:
    """The fill's shortcuts must give exactly what duplicates.fingerprint gives."""
    rnd = random.Random(1)
    ks = sorted(rnd.sample(range(total), min(sample, total)))
    petitions = [fill_petition(plan, k, total) for k in ks]
    plain = [real_fingerprint(p) for p in petitions]
    with fast_fingerprints():
        fast = [real_fingerprint(p) for p in petitions]
    for k, a, b in zip(ks, plain, fast):
        if not same_fingerprint(a, b):
            raise SystemExit(f"the fill's shortcuts change the fingerprint of petition {k}: {a} != {b}")
    say(f"  checked: with the shortcuts (words per jieba block, MinHash permutations once) fingerprint() gives the same "
        f"fingerprints, field by field, on {len(ks)} petitions")


def fill_store(path: Path, plan: FillPlan, total: int, workers: int, chunk: int = 2000) -> dict:
    global _PLAN, _TOTAL
    _PLAN, _TOTAL = plan, total
    store = duplicates.FingerprintStore(path)
    bounds = [(s, min(total, s + chunk)) for s in range(0, total, chunk)]
    write_seconds = 0.0
    usage = Usage()
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        pids = [p.pid for p in pool._pool]  # their CPU counts as ours
        with measured(usage, pids):
            started = last = time.perf_counter()
            for n, fps in enumerate(pool.imap(fill_fingerprints, bounds), 1):
                t0 = time.perf_counter()
                store.put_many(fps)
                write_seconds += time.perf_counter() - t0
                if time.perf_counter() - last > 60:
                    last = time.perf_counter()
                    done = bounds[n - 1][1]
                    say(f"    ... {done:,} of {total:,} stored, {done / (last - started):,.0f}/s so far, {write_seconds:.0f} s in put_many")
    count = store.count()
    store.close()
    return {"usage": usage, "write": write_seconds, "count": count, "bytes": sum(f.stat().st_size for f in path.parent.glob(path.name + "*"))}


@dataclass
class Check:
    kind: str  # repeat (of a stored matter) | new matter
    tenant: str
    matter: int
    petition: FillPetition


def make_checks(plan: FillPlan, total: int, n: int, seed: int) -> list[Check]:
    """n new petitions: half repeats of stored matters (some of them hot), half new matters."""
    rnd = random.Random(f"{seed}:checks")
    checks = []
    stored_matters = len(plan.matter_tenant)
    extra = FillPlan(seed, matter_tenant=list(plan.matter_tenant), matter_locale=list(plan.matter_locale),
                     matter_petitioner=list(plan.matter_petitioner), hot=list(plan.hot), next_petitioner=plan.next_petitioner)
    for j in range(n):
        k = total + j
        if j % 2 == 0:
            m, style, tenant, petitioner = extra.repeat_of(rnd)
        else:
            m = extra.new_matter(rnd)
            style, tenant, petitioner = "new", extra.matter_tenant[m], extra.matter_petitioner[m]
        extra.matter_of.append(m)
        extra.style_of.append(style)
        extra.tenant_of.append(tenant)
        extra.petitioner_of.append(petitioner)
        extra.subject_kept.append(rnd.random() < 0.85)
    extra.matter_of = plan.matter_of + extra.matter_of
    extra.style_of = plan.style_of + extra.style_of
    extra.tenant_of = plan.tenant_of + extra.tenant_of
    extra.petitioner_of = plan.petitioner_of + extra.petitioner_of
    extra.subject_kept = plan.subject_kept + extra.subject_kept
    for j in range(n):
        k = total + j
        p = fill_petition(extra, k, total)  # created after every stored one
        m = extra.matter_of[k]
        checks.append(Check("repeat" if m < stored_matters else "new matter", extra.tenant_of[k], m, p))
    return checks


def subject_lookup(db: sqlite3.Connection) -> tuple[str, Callable]:
    """The column the store looks subjects up by, and what it compares there (duplicates.py is being tuned:
    ``subject`` in HEAD, ``subject_core`` in the version under way)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(docs)")}
    if "subject_core" in columns and hasattr(duplicates, "subject_core"):
        return "subject_core", duplicates.subject_core
    return "subject", lambda subject: subject


def bare_lookup(db: sqlite3.Connection, fp: duplicates.Fingerprint, column: str, value) -> list:
    """The baseline: the indexed lookups alone (band keys, petitioner, subject), pids only, no join, no scoring."""
    keys = fp.band_keys()
    return db.execute(f"SELECT pid FROM bands WHERE key IN ({','.join('?' * len(keys))}) "
                      f"UNION SELECT pid FROM docs WHERE petitioner = ? UNION SELECT pid FROM docs WHERE {column} = ?",
                      (*keys, fp.petitioner, value(fp.subject))).fetchall()


def run_checks(path: Path, plan: FillPlan, total: int, n: int, seed: int) -> dict:
    checks = make_checks(plan, total, n + 100, seed)
    warmups, checks = checks[n:], checks[:n]
    store = duplicates.FingerprintStore(path)  # a fresh connection with the defaults, as the indexer opens it
    db = store._db
    column, value = subject_lookup(db)
    started = time.perf_counter()
    fps = [real_fingerprint(c.petition) for c in checks + warmups]
    fp_ms = (time.perf_counter() - started) * 1000 / len(fps)
    fps, warm_fps = fps[:n], fps[n:]
    scopes = [hierarchy(c.tenant) for c in checks]
    for fp, c in zip(warm_fps, warmups):  # warm the connection and the page cache on other petitions than the measured ones
        bare_lookup(db, fp, column, value)
        duplicates.scored_candidates(store, fp, hierarchy(c.tenant))
    # What if band keys shared by very many petitions (a frequent keyword that is the minimum of all of a band's
    # permutations makes one) were left out: found once here, untimed; an indexer would keep such a list as it writes.
    hub_limit = max(200, total // 1000)
    started = time.perf_counter()
    hubs = dict(db.execute("SELECT key, COUNT(*) FROM bands GROUP BY key HAVING COUNT(*) > ?", (hub_limit,)).fetchall())
    hub_seconds = time.perf_counter() - started
    lean = [without_keys(fp, hubs) for fp in fps]
    paths = {
        "bare lookups (baseline)": lambda i: len(bare_lookup(db, fps[i], column, value)),
        "store.candidates": lambda i: len(store.candidates(fps[i], scopes[i])),
        "scored_candidates (ours)": lambda i: len(duplicates.scored_candidates(store, fps[i], scopes[i])),
        "what-if: no hub band keys": lambda i: len(duplicates.scored_candidates(store, lean[i], scopes[i])),
    }
    names = list(paths)
    times = {name: [0.0] * n for name in names}
    sizes = {name: [0] * n for name in names}
    usage = Usage()
    with measured(usage):
        for i in range(n):
            for k in range(len(names)):  # the three take turns going first
                name = names[(i + k) % len(names)]
                t0 = time.perf_counter()
                sizes[name][i] = paths[name](i)
                times[name][i] = (time.perf_counter() - t0) * 1000
    # what each check found (untimed): hits by kind, and whether a repeat's own matter was among those shown
    found = []
    for i, (fp, check) in enumerate(zip(fps, checks)):
        keys = fp.band_keys()
        band = db.execute(f"SELECT COUNT(DISTINCT pid) FROM bands WHERE key IN ({','.join('?' * len(keys))})", keys).fetchone()[0]
        same_petitioner = db.execute("SELECT COUNT(*) FROM docs WHERE petitioner = ?", (fp.petitioner,)).fetchone()[0]
        same_subject = db.execute(f"SELECT COUNT(*) FROM docs WHERE {column} = ?", (value(fp.subject),)).fetchone()[0]
        shown = duplicates.scored_candidates(store, fp, scopes[i])
        own = [row for row in shown if plan.matter_of[int(row[0].petition_id[8:], 16)] == check.matter]
        own_likely = sum(1 for row in own if duplicates.is_likely_duplicate(row[1]))
        lean_shown = duplicates.scored_candidates(store, lean[i], scopes[i])
        lean_own = [row for row in lean_shown if plan.matter_of[int(row[0].petition_id[8:], 16)] == check.matter]
        found.append({"band": band, "petitioner": same_petitioner, "subject": same_subject, "shown": len(shown), "own_shown": len(own),
                      "own_likely": own_likely,
                      "others_likely": sum(1 for row in shown if duplicates.is_likely_duplicate(row[1])) - own_likely,
                      "lean_own_shown": len(lean_own), "lean_own_likely": sum(1 for row in lean_own if duplicates.is_likely_duplicate(row[1])),
                      "hub_keys": sum(1 for key in keys if key in hubs)})
    slowest = max(range(n), key=lambda i: times["store.candidates"][i])
    statements = []
    db.set_trace_callback(statements.append)  # the statement as the store runs it, values filled in
    store.candidates(fps[slowest], scopes[slowest])
    db.set_trace_callback(None)
    plan_rows = db.execute("EXPLAIN QUERY PLAN " + statements[0]).fetchall() if statements else []
    hub_words = hub_keywords(db, hubs)
    return {"times": times, "sizes": sizes, "found": found, "checks": checks, "fps": fps, "scopes": scopes, "usage": usage,
            "fp_ms": fp_ms, "plan": plan_rows, "store": store, "subject_column": column, "hubs": hubs, "hub_limit": hub_limit,
            "hub_seconds": hub_seconds, "hub_words": hub_words}


def without_keys(fp: duplicates.Fingerprint, leave_out: dict) -> duplicates.Fingerprint:
    """The same fingerprint, its band_keys() without the keys left out (the store builds its query from band_keys())."""
    lean = copy.copy(fp)
    keys = [key for key in fp.band_keys() if key not in leave_out]
    lean.band_keys = lambda: keys
    return lean


def hub_keywords(db: sqlite3.Connection, hubs: dict, top: int = 4) -> list[tuple[int, str, float]]:
    """For the biggest hub keys: (petitions, the word most of them share, its share) from the stored terms, if the store keeps them."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(docs)")}
    if "terms" not in columns:
        return []
    out = []
    for key, count in sorted(hubs.items(), key=lambda kv: -kv[1])[:top]:
        rows = db.execute("SELECT d.terms FROM bands b JOIN docs d ON d.pid = b.pid WHERE b.key = ? LIMIT 300", (key,)).fetchall()
        shared = Counter(w for (terms,) in rows for w in list(json.loads(terms))[:duplicates.KEYWORDS])
        word, n = shared.most_common(1)[0] if shared else ("?", 0)
        out.append((count, word, n / max(1, len(rows))))
    return out


def report_checks(result: dict, total: int) -> dict:
    times, sizes, found, checks = result["times"], result["sizes"], result["found"], result["checks"]
    n = len(checks)
    base = times["bare lookups (baseline)"]
    say(f"\n  {'':<28} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'p50 x':>7} {'p95 x':>7} {'rows p50':>9} {'rows p95':>9} {'rows max':>9}")
    summary = {}
    for name, values in times.items():
        p50, p95, p99 = quantiles(values)
        summary[name] = (p50, p95, p99)
        rows = sizes[name]
        say(f"  {name:<28} {p50:8.2f} {p95:8.2f} {p99:8.2f} {max(values):8.1f} {p50 / pct(base, 50):7.2f} {p95 / pct(base, 95):7.2f} "
            f"{pct(rows, 50):9,} {pct(rows, 95):9,} {max(rows):9,}")
    say(f"  (rows: pids the lookups return, from every tenant / candidates after the tenant filter and LIMIT {duplicates.CANDIDATE_LIMIT} / "
        f"candidates shown to staff; x: ratio to the bare lookups)")
    hubs = result["hubs"]
    say(f"  hub band keys (shared by more than {result['hub_limit']:,} petitions): {len(hubs)}, holding {sum(hubs.values()):,} band rows; "
        f"found in {result['hub_seconds']:.1f} s (GROUP BY over the bands index, untimed above); "
        f"{sum(1 for f in found if f['hub_keys'])} of {n} checks have one")
    for count, word, share in result["hub_words"]:
        say(f"    a hub of {count:,} petitions: {share:.0%} of them have \"{word}\" among their {duplicates.KEYWORDS} keywords")
    repeats_ = [i for i in range(n) if checks[i].kind == "repeat"]
    say(f"  what-if without hub keys: repeats whose earlier matter is shown {sum(1 for i in repeats_ if found[i]['lean_own_shown'])} of {len(repeats_)} "
        f"(with them {sum(1 for i in repeats_ if found[i]['own_shown'])}), scored likely {sum(1 for i in repeats_ if found[i]['lean_own_likely'])} "
        f"(with them {sum(1 for i in repeats_ if found[i]['own_likely'])})")
    say(f"  computing the new petition's fingerprint (duplicates.fingerprint, no shortcuts): {result['fp_ms']:.2f} ms each, "
        "not included above")
    for kind in ("repeat", "new matter"):
        members = [i for i in range(n) if checks[i].kind == kind]
        ours = [times["scored_candidates (ours)"][i] for i in members]
        cands = [sizes["store.candidates"][i] for i in members]
        bands = [found[i]["band"] for i in members]
        say(f"  {kind + 's':<12} {len(members):>4}: ours p50 {pct(ours, 50):6.2f} ms, p95 {pct(ours, 95):6.2f} ms; candidates examined "
            f"p50 {pct(cands, 50):,}, p95 {pct(cands, 95):,}; band hits (all tenants) p50 {pct(bands, 50):,}, p95 {pct(bands, 95):,}, "
            f"max {max(bands):,}")
    repeats = [i for i in range(n) if checks[i].kind == "repeat"]
    with_own = [i for i in repeats if found[i]["own_shown"]]
    likely = [i for i in repeats if found[i]["own_likely"]]
    say(f"  repeats whose earlier matter was among the candidates shown: {len(with_own)} of {len(repeats)}; scored likely "
        f"(>= {duplicates.LIKELY_SCORE}): {len(likely)} (not a precision/recall measure: the texts are generated; see bench/duplicates_quality.py)")
    new = [i for i in range(n) if checks[i].kind == "new matter"]
    say(f"  new matters with some other petition scored likely: {sum(1 for i in new if found[i]['others_likely'])} of {len(new)}")
    ours = times["scored_candidates (ours)"]
    cands = sizes["store.candidates"]
    say("  ours by candidates examined:")
    edges = [0, 1, 10, 50, 100, 200, 201]
    for lo, hi in zip(edges, edges[1:]):
        members = [i for i in range(n) if lo <= cands[i] < hi]
        if members:
            values = [ours[i] for i in members]
            label = f"{lo}" if hi == lo + 1 else f"{lo}-{hi - 1}"
            say(f"    {label:>8} candidates: {len(members):>4} checks, p50 {pct(values, 50):6.2f} ms, p95 {pct(values, 95):6.2f} ms")
    slow = sorted(range(n), key=lambda i: -ours[i])[:8]
    say("  slowest checks (ours ms, candidates, band hits / same petitioner / same subject across all tenants, tenants searched, kind):")
    for i in slow:
        f = found[i]
        say(f"    {ours[i]:7.1f} ms {cands[i]:>4} cand.  {f['band']:>6,} / {f['petitioner']:>3} / {f['subject']:>5,}  "
            f"{len(result['scopes'][i]):>2} tenants  {checks[i].kind}: {checks[i].petition.title[:30]}")
    say("  query plan of store.candidates (EXPLAIN QUERY PLAN):")
    for row in result["plan"]:
        say(f"    {row[-1]}")
    return summary


def profile_checks(result: dict) -> None:
    """cProfile of scored_candidates over the measured petitions once: the SQL, rows to Fingerprints, scoring."""
    store, fps, scopes = result["store"], result["fps"], result["scopes"]
    profile = cProfile.Profile()
    profile.enable()
    for fp, scope in zip(fps, scopes):
        duplicates.scored_candidates(store, fp, scope)
    profile.disable()
    stats = pstats.Stats(profile).stats

    def cumulative(func: str, part: str = "") -> float:
        return sum(ct for (filename, _, name), (_, _, _, ct, _) in stats.items() if name == func and part in filename)

    total = cumulative("scored_candidates", "duplicates.py")
    stages = [("store.candidates", cumulative("candidates", "duplicates.py")),
              ("  SQLite: execute (the candidates query)", cumulative("<method 'execute' of 'sqlite3.Connection' objects>")),
              ("  SQLite: fetchall (rows out)", cumulative("<method 'fetchall' of 'sqlite3.Cursor' objects>")),
              ("  json.loads (the stored terms)", cumulative("loads", "json")),
              ("  np.frombuffer (the stored signatures)", cumulative("<built-in method numpy.frombuffer>")),
              ("  band_keys (blake2b of the bands)", cumulative("band_keys")),
              ("pair_score (every candidate)", cumulative("pair_score"))]
    say(f"\n  where scored_candidates spends its time (cProfile, {len(fps)} checks once; cumulative, share of scored_candidates):")
    for label, seconds in stages:
        if seconds > 0:
            say(f"    {label:<46} {seconds / total:5.0%}  ({seconds * 1000 / len(fps):.2f} ms a check)")


# -- the run ---------------------------------------------------------------------------------------


def search_part(args, data_dir: Path) -> dict:
    n = args.petitions
    say(f"\n=== search: {n:,} petitions in one tenant ===")
    started = time.perf_counter()
    docs = index_corpus(n + args.drain_docs, args.seed)
    docs, fresh = docs[:n], docs[n:]
    lengths = [len(d["title"]) + len(d["text"]) for d in docs]
    say(f"  corpus generated in {time.perf_counter() - started:.1f} s: title + content {min(lengths)}-{max(lengths)} characters "
        f"(median {statistics.median(lengths):.0f}); categories " + ", ".join(f"{k} {v:,}" for k, v in Counter(d['category'] for d in docs).most_common(5)))
    say(f"  e.g. 【{docs[1]['title']}】{docs[1]['text']}")

    reused = args.reuse and _built(data_dir, n)
    if reused:
        say(f"  reusing the indexes built earlier in {data_dir} (--reuse: no build figures; {n:,} petitions, same seed)")
        db = sqlite3.connect(str(data_dir / "fts5.sqlite3"), isolation_level=None, check_same_thread=False)
        ours = {"seconds": float("nan")}
        fts_seconds = tok_seconds = float("nan")
        fresh = []  # the drain batches would change the kept index
    else:
        say("  building the Whoosh index (service.rebuild's way: one writer, limitmb=256) ...")
        ours = build_whoosh(data_dir, docs)
        say(f"  Whoosh: {ours['seconds']:.1f} s ({ours['add']:.1f} s add_document, {ours['commit']:.1f} s commit) = "
            f"{n / ours['seconds']:,.0f} docs/s; {ours['bytes'] / 2**20:.0f} MiB on disk; {ours['usage'].text()}")
        warn_if_shared("the Whoosh build", ours["usage"])
        tokens, tok_usage = tokenise(docs)
        db, base = build_fts(data_dir / "fts5.sqlite3", docs, tokens)
        tok_seconds = tok_usage.wall
        fts_seconds = tok_usage.wall + base["seconds"]
        say(f"  FTS5 baseline: tokenising {tok_usage.wall:.1f} s ({n / tok_usage.wall:,.0f} docs/s of jieba alone) + insert "
            f"{base['seconds'] - base['optimize']:.1f} s + optimize {base['optimize']:.1f} s = {fts_seconds:.1f} s = {n / fts_seconds:,.0f} docs/s; "
            f"{base['bytes'] / 2**20:.0f} MiB; {base['usage'].text()}")
        warn_if_shared("the FTS5 build", base["usage"])
        say(f"  index throughput ours / FTS5: {(n / ours['seconds']) / (n / fts_seconds):.2f} "
            f"(Whoosh without the same jieba time: {ours['seconds'] - tok_usage.wall:.1f} s, FTS5 without it: {base['seconds']:.1f} s)")
        if args.reuse:
            (data_dir / "BUILT").write_text(str(n))
            fresh = []  # the drain batches would change the index kept for later runs

    queries = make_queries(docs, args.seed, args.queries)
    say(f"\n  {len(queries)} queries: " + ", ".join(f"{k} {v}" for k, v in Counter(q.kind for q in queries).items())
        + f"; warm-up once, then {args.rounds} rounds, interleaved")
    say("  e.g. " + " | ".join(queries[i].label() for i in range(0, len(queries), max(1, len(queries) // 8))))
    result = run_queries(data_dir, db, queries, args.rounds, args.seed, args.what_if)
    say(f"  warm-up {result['warm'].wall:.1f} s; measured {result['usage'].wall:.1f} s; {result['usage'].text()}; "
        f"load average {os.getloadavg()[0]:.1f}")
    warn_if_shared("the queries", result["usage"])
    summary = report_queries(queries, result)
    if args.profile:
        profile_ours(data_dir, queries)

    drain = {}
    if fresh:
        ours_batches, base_batches = drain_batches(data_dir, db, fresh)
        size = len(fresh) / len(ours_batches)
        say(f"\n  drain-sized batches of new petitions ({len(ours_batches)} x {size:.0f}): Whoosh writer + update_document + commit "
            f"{statistics.median(ours_batches):.2f} s a batch ({size / statistics.median(ours_batches):,.0f} docs/s); "
            f"FTS5 tokenise + insert {statistics.median(base_batches):.2f} s ({size / statistics.median(base_batches):,.0f} docs/s)")
        drain = {"ours": size / statistics.median(ours_batches), "base": size / statistics.median(base_batches)}
    db.close()
    return {"n": n, "ours_dps": n / ours["seconds"], "fts_dps": n / fts_seconds, "tok_dps": n / tok_seconds, "queries": summary,
            "drain": drain}


def _built(data_dir: Path, n: int) -> bool:
    """Whether ``data_dir`` holds both indexes of ``n`` petitions, as an earlier run with --reuse left them."""
    marker = data_dir / "BUILT"
    return marker.exists() and marker.read_text().strip() == str(n) and (data_dir / "fts5.sqlite3").exists() \
        and TenantIndexDir(data_dir, INDEX_TENANT[0]).current_generation() is not None


def calibration(seed: int, n: int = 1500) -> dict | None:
    """How often two petitions on different matters share an LSH band: the generated texts next to the hand-written
    labelled corpus (tests/data/duplicates/sources.txt, pairs from different topic groups). The band hits of a check
    grow with this rate times the number of petitions stored."""
    source = REPO / "tests" / "data" / "duplicates" / "sources.txt"
    if not source.exists() or not hasattr(duplicates, "fingerprint"):
        return None

    def keyword_set(title: str, content: str) -> tuple[list[int]]:
        fp = duplicates.fingerprint(petition_id="c", tenant_id="c", title=title, content=content, subject_name=None, petitioner=None)
        return (fp.band_keys(),)

    def rate(items: list[tuple[str, list[int]]]) -> float:
        pairs = hits = 0
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                if items[i][0] != items[j][0]:
                    pairs += 1
                    hits += not set(items[i][1]).isdisjoint(items[j][1])
        return hits / pairs

    group, title, written_texts = None, None, []
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.startswith("== "):
            group = line[3:].split()[0]
        elif line.startswith("T "):
            title = line[2:]
        elif line.startswith("C ") and title is not None and "{BASE}" not in line:
            written_texts.append((group, title, line[2:]))
            title = None
    written = [(g, keyword_set(t, c)[0]) for g, t, c in written_texts]
    texts = [render(make_matter(f"{seed}:calibration:{i}", Locale.of(i % len(COUNTIES), seed))) for i in range(n)]
    generated = [(f"m{i}", keyword_set(*text)[0]) for i, text in enumerate(texts)]
    plain_words = duplicates.words
    duplicates.words = lambda text, *a, **k: [w for w in plain_words(text, *a, **k) if not w.isdigit()]
    try:  # what if numbers (years, amounts, counts) were not among the words a fingerprint keeps
        no_numbers = [(f"m{i}", keyword_set(*text)[0]) for i, text in enumerate(texts)]
        written_no_numbers = rate([(g, keyword_set(t, c)[0]) for g, t, c in written_texts])
    finally:
        duplicates.words = plain_words
    return {"written": rate(written), "written_n": len(written), "generated": rate(generated), "generated_n": n,
            "generated_no_numbers": rate(no_numbers), "written_no_numbers": written_no_numbers}


def duplicates_part(args, data_dir: Path) -> dict:
    total = args.fingerprints
    say(f"\n=== duplicate check: {total:,} fingerprints in {len(TENANTS)} tenants ===")
    started = time.perf_counter()
    plan = make_plan(total, args.seed)
    styles = Counter(plan.style_of)
    say(f"  plan in {time.perf_counter() - started:.1f} s: {len(plan.matter_tenant):,} matters, repeats "
        + ", ".join(f"{k} {v:,}" for k, v in styles.items() if k != "new") + f"; {len(plan.hot)} hot matters; "
        f"{sum(1 for p in plan.petitioner_of if p < 0):,} anonymous; by tenant level: "
        + ", ".join(f"{lvl} {sum(1 for t in plan.tenant_of if t.startswith(lvl)):,}" for lvl in ("county", "city", "prov")))
    words("预热")  # jieba's dictionary is loaded before the workers fork
    rates = calibration(args.seed)
    if rates:
        say(f"  calibration: two petitions on different matters share an LSH band with probability {rates['generated']:.5f} here "
            f"({rates['generated_n']:,} generated matters), {rates['written']:.5f} in the hand-written labelled corpus "
            f"({rates['written_n']} texts, pairs from different topic groups): the generated texts collide "
            f"{rates['generated'] / max(rates['written'], 1e-9):.0f}x as often; at {total:,} petitions that is ~{rates['generated'] * total:,.0f} "
            f"band hits a new matter against ~{rates['written'] * total:,.0f}")
        say(f"  what if numbers (years, amounts) were not among a fingerprint's words: {rates['generated_no_numbers']:.5f} generated, "
            f"{rates['written_no_numbers']:.5f} hand-written")
    check_fast_path(plan, total)
    path = data_dir / "search" / "fingerprints.sqlite3"
    say(f"  filling with {args.workers} worker processes (render, duplicates.fingerprint with the shortcuts) and FingerprintStore.put_many "
        "here (batches of 2,000) ...")
    fill = fill_store(path, plan, total, args.workers)
    usage = fill["usage"]
    say(f"  fill: {usage.wall:.0f} s = {total / usage.wall:,.0f} fingerprints/s ({fill['write']:.0f} s of it in put_many); "
        f"{fill['count']:,} stored; {fill['bytes'] / 2**20:,.0f} MiB; {usage.text()}")
    warn_if_shared("the fill", usage)
    say(f"  checking {args.checks} new petitions (half repeats of stored matters, half new matters) against their tenant's hierarchy; "
        "warm-up on 100 others")
    result = run_checks(path, plan, total, args.checks, args.seed)
    say(f"  measured {result['usage'].wall:.1f} s; {result['usage'].text()}")
    warn_if_shared("the checks", result["usage"])
    summary = report_checks(result, total)
    if args.profile:
        profile_checks(result)
    result["store"].close()
    return {"n": total, "fill_seconds": usage.wall, "fill_write": fill["write"], "checks": summary, "fp_ms": result["fp_ms"],
            "candidates": (pct(result["sizes"]["store.candidates"], 50), pct(result["sizes"]["store.candidates"], 95))}


def environment(args) -> None:
    def git(*cmd: str) -> str:
        try:
            return subprocess.run(["git", *cmd], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "?"

    changed = git("status", "--porcelain", "--", "search")
    source = Path(duplicates.__file__)
    say(f"xinfang search bench - {datetime.now().isoformat(timespec='seconds')}")
    say(f"  git {git('rev-parse', '--short', 'HEAD')}; uncommitted changes in search/: {changed.replace(chr(10), '; ') or 'none'}")
    say(f"  xinfang_search from {source.parent}; duplicates.py sha256 {hashlib.sha256(source.read_bytes()).hexdigest()[:12]}")
    say(f"  {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, Python {stdlib_platform.python_version()}, "
        f"whoosh {version('whoosh3') if _has('whoosh3') else '?'}, jieba {version('jieba')}, datasketch {version('datasketch')}, "
        f"SQLite {sqlite3.sqlite_version}")
    say(f"  duplicates: NUM_PERM={duplicates.NUM_PERM}, BANDS={duplicates.BANDS} x ROWS={duplicates.ROWS}, KEYWORDS={duplicates.KEYWORDS}, "
        f"CANDIDATE_LIMIT={duplicates.CANDIDATE_LIMIT}, SHOW_SCORE={duplicates.SHOW_SCORE}")


def _has(dist: str) -> bool:
    try:
        version(dist)
        return True
    except Exception:  # noqa: BLE001
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 petitions and 100,000 fingerprints")
    parser.add_argument("--petitions", type=int, default=None, help="petitions in the search tenant (default 100,000; 0: skip search)")
    parser.add_argument("--fingerprints", type=int, default=None, help="fingerprints in the store (default 1,000,000; 0: skip duplicates)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the queries (each query on each path once a round)")
    parser.add_argument("--checks", type=int, default=500, help="new petitions to check for duplicates")
    parser.add_argument("--drain-docs", type=int, default=2500, help="new petitions written in drain-sized batches after the queries")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="processes that compute the fill's fingerprints")
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=True, help="cProfile summaries of ours")
    parser.add_argument("--seed", type=int, default=27)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    parser.add_argument("--what-if", action=argparse.BooleanOptionalAction, default=True, help="the what-if query paths too")
    parser.add_argument("--reuse", metavar="DIR", default=None,
                        help="data directory kept between runs: the indexes are built there once (with the same --petitions and "
                             "--seed) and only queried by later runs (no build or drain figures then)")
    args = parser.parse_args()
    if args.petitions is None:
        args.petitions = 10_000 if args.quick else 100_000
    if args.fingerprints is None:
        args.fingerprints = 100_000 if args.quick else 1_000_000
    environment(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up the temporary directory on kill too
    if args.reuse:
        data_dir = Path(args.reuse).resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        args.keep = True
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="xinfang-bench-search-"))
    overall = time.perf_counter()
    results = {}
    try:
        if args.petitions:
            results["search"] = search_part(args, data_dir)
        if args.fingerprints:
            results["dups"] = duplicates_part(args, data_dir)
    finally:
        if args.keep:
            say(f"\n  data kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    say("\n=== summary ===")
    if "search" in results:
        s = results["search"]
        say(f"  index {s['n']:,} petitions: Whoosh {s['ours_dps']:,.0f} docs/s, FTS5 (with the same jieba) {s['fts_dps']:,.0f} docs/s "
            f"(ratio {s['ours_dps'] / s['fts_dps']:.2f}); jieba alone {s['tok_dps']:,.0f} docs/s")
        q = s["queries"]
        for name in q:
            say(f"  {name:<30} p50 {q[name][0]:7.2f} ms  p95 {q[name][1]:7.2f} ms  p99 {q[name][2]:7.2f} ms")
        ok = q["ours: _search_sync"][1] < 50
        say(f"  goal: query p95 under 50 ms -> {'met' if ok else 'MISSED'} ({q['ours: _search_sync'][1]:.1f} ms; "
            f"x{q['ours: _search_sync'][1] / q['FTS5 + snippet()'][1]:.1f} FTS5's p95)")
    if "dups" in results:
        d = results["dups"]
        say(f"  fill {d['n']:,} fingerprints: {d['fill_seconds']:.0f} s ({d['fill_write']:.0f} s in put_many)")
        for name, (p50, p95, p99) in d["checks"].items():
            say(f"  {name:<30} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  p99 {p99:7.2f} ms")
        ours95 = d["checks"]["scored_candidates (ours)"][1]
        say(f"  candidates examined p50 {d['candidates'][0]}, p95 {d['candidates'][1]}; fingerprinting a new petition {d['fp_ms']:.2f} ms")
        say(f"  goal: duplicate check p95 under 20 ms -> {'met' if ours95 < 20 else 'MISSED'} ({ours95:.1f} ms)")
    say(f"  whole run {time.perf_counter() - overall:.0f} s")


if __name__ == "__main__":
    main()
