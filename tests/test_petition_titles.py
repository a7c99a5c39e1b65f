"""A report's title, derived from its content (the form asks for none): whole sentences, never cut inside a
quotation; a first sentence too long is cut at a pause or before the quotation, with an ellipsis."""

from __future__ import annotations

import random

import pytest

from xinfang.petitions.models import Petition
from xinfang.petitions.titles import TITLE_LENGTH, title_from_text
from xinfang.store.scoped import TenantScope
from xinfang.tenancy.models import Tenant
from tests.test_petitions import submitted

QUOTED = "某中学副校长张某多次在家长会上说“不交资料费的学生不能参加期末考试，也不发成绩单”，家长敢怒不敢言。学校还收取补课费。"


@pytest.mark.parametrize("text, title", [
    ("短的内容。", "短的内容"),
    ("学校食堂饭菜分量不足。家长多次反映无果，希望上级部门核查处理，并公开结果，谢谢。还有一些别的问题需要说明。",
     "学校食堂饭菜分量不足。家长多次反映无果，希望上级部门核查处理，并公开结果，谢谢"),
    (QUOTED, "某中学副校长张某多次在家长会上说…"),
    ("他说：“不交钱就不让上课。”然后把学生赶出了教室，家长很气愤，希望处理。后面还有很长的一段话需要补充说明情况。",
     "他说：“不交钱就不让上课。”然后把学生赶出了教室，家长很气愤，希望处理"),
    ("某某局局长王某某利用职务便利为其亲属经营的公司承揽工程项目，收受好处费共计人民币二十余万元且长期占用公车办私事",
     "某某局局长王某某利用职务便利为其亲属经营的公司承揽工程项目…"),
    ("问题一：  收费\n不公示？学校说“这是规定”。还有很多事情要反映，内容很长很长很长很长很长很长很长。", "问题一： 收费 不公示？学校说“这是规定”"),
])
def test_titles_end_at_a_sentence_and_never_inside_a_quotation(text, title):
    assert title_from_text(text) == title


def test_every_quotation_opened_in_a_title_is_closed():
    pairs = {"“": "”", "「": "」", "《": "》", "（": "）"}
    for _ in range(300):
        pieces = [random.choice(["学校", "收费", "，", "。", "“不交钱”", "「规定」", "《通知》", "（副校长）", "家长反映"]) for _ in range(30)]
        title = title_from_text("".join(pieces))
        assert len(title) <= TITLE_LENGTH
        for opening, closing in pairs.items():
            assert title.count(opening) == title.count(closing), title


async def test_a_report_filed_without_a_title_gets_one_cut_at_a_sentence(client, tenants):
    answers = {"subject": {"kind": "person", "name": "张某", "unit": "某中学"}, "category": ["integrity"], "content": QUOTED}
    filed = await submitted(client, tenants.A, answers, form="report", anonymous=True, address=f"10.77.{random.randint(0, 250)}.3")
    scope = TenantScope((await Tenant.find_one({"slug": tenants.A})).id)
    petition = await scope.repo(Petition).find_one({"number": filed["number"]})
    assert petition.title == "某中学副校长张某多次在家长会上说…"
