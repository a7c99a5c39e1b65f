"""Documents people print, laid out as Chinese official documents (GB/T 9704) with every glyph drawn: the
integrity opinion PDF (reportlab) and the card document printed from its page by Chromium. Both are read
back with pypdf: the words in order (issuing body, reference number, title, body, 落款, date in Chinese
numerals, 「— n —」 page numbers), the fonts embedded, and no character without a glyph."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import httpx
from pypdf import PdfReader

from xinfang.archives.pdf import CID_FONT, EMBEDDED_FONT, _markup, chinese_date, fonts, has_glyph, opinion_pdf
from tests.conftest import PASSWORD
from tests.login_pages import sign_in
from tests.test_opinion_pdf_text import _entry, _opinion

RED_FILL = re.compile(rb"(?<![\d.])0?\.83137\d* 0 0 rg")  # #d40000 as reportlab writes a fill colour


def fonts_of(reader: PdfReader) -> dict[str, dict]:
    """Every font the pages use: base name -> its dictionary (descendant font for Type0)."""
    found = {}
    for page in reader.pages:
        for font in (page["/Resources"].get_object().get("/Font") or {}).values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            found[str(font["/BaseFont"])] = descendant
    return found


def embedded(font: dict) -> bool:
    descriptor = font.get("/FontDescriptor")
    descriptor = descriptor.get_object() if descriptor else {}
    return any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


def runs_by_font(page) -> list[tuple[str, str]]:
    runs = []
    page.extract_text(visitor_text=lambda text, cm, tm, font, size: runs.append((str(font["/BaseFont"]) if font else "", text)))
    return runs


def test_chinese_dates_as_official_documents_write_them():
    assert chinese_date("2026-12-06") == "二〇二六年十二月六日"
    assert chinese_date("2027-01-10") == "二〇二七年一月十日"
    assert chinese_date("2026-10-21") == "二〇二六年十月二十一日"
    assert chinese_date("2030-02-02") == "二〇三〇年二月二日"
    assert chinese_date("2026-12-05T16:30:00+00:00") == "二〇二六年十二月六日"  # the day in China


def test_the_opinion_pdf_is_an_official_document_with_every_glyph_drawn():
    name = "欧阳·娜仁花"  # U+00B7: the built-in Song CID font has no glyph for it
    entries = [_entry("card", "rectifying", "预警卡"), _entry("petition", "registered"), *[_entry("action", "closed", "提醒谈话")] * 45]
    opinion = _opinion(entries, [{"tenant": {"name": {"zh": "巴州纪委"}}, "name": name, "unit": "某局", "position": "科长"}])
    opinion["review"]["official_name"] = name
    pdf = opinion_pdf(opinion)
    reader = PdfReader(io.BytesIO(pdf))
    pages = [page.extract_text() for page in reader.pages]
    assert len(pages) >= 2
    first = [line.strip() for line in pages[0].splitlines() if line.strip()]
    order = ["信访监督平台", "组审〔2026〕7号", f"关于{name}同志的干部廉政情况综合意见", "根据提拔任用工作需要"]
    positions = [next(i for i, line in enumerate(first) if line.startswith(want)) for want in order]
    assert positions == sorted(positions), first[:8]  # the issuing body, the reference number, the title, the body
    last = re.sub(r"\s+", "", pages[-1])
    assert "信访监督平台二〇二六年十二月六日" in last  # 落款: the issuing body, then the date in Chinese numerals
    for number, text in enumerate(pages, 1):
        assert f"— {number} —" in text, number  # 「— n —」 on every page
    assert RED_FILL.search(reader.pages[0].get_contents().get_data()), "the issuing body's mark is not red"
    assert "\ufffd" not in "".join(pages) and "□" not in "".join(pages)

    used = fonts_of(reader)
    main, face = fonts()
    assert main == EMBEDDED_FONT, "no embeddable Chinese TrueType font found (./dev test installs fonts-wqy-zenhei)"
    for base, font in used.items():
        assert embedded(font) or CID_FONT in base, f"{base} is neither embedded nor the built-in CID font"
    assert any(embedded(f) for f in used.values())
    for page in reader.pages:  # each character drawn in the embedded font is one the font has a glyph for
        for base, text in runs_by_font(page):
            if CID_FONT not in base:
                missing = {ch for ch in text if ch.strip() and not has_glyph(face, ch)}
                assert not missing, (base, missing)
    assert name in re.sub(r"\s+", "", "".join(pages))  # the middle dot is read back, not dropped
    lacking = next(ch for ch in "𠀀𪚥𫝀" if not has_glyph(face, ch))  # a character the embedded font has no glyph for
    assert _markup(f"甲{lacking}乙") == f'甲<font name="{CID_FONT}">{lacking}</font>乙'  # set in the CID font instead


async def test_a_printed_card_is_an_official_document(live_server, browser, tenants, tmp_path):
    shots = Path(os.environ.get("XINFANG_TEST_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    async with httpx.AsyncClient(base_url=f"{live_server}/t/{tenants.A}/api") as api:
        async def token(username):
            answer = await api.post("/tokens", json={"username": username, "password": PASSWORD})
            return {"Authorization": f"Bearer {answer.json()['access_token']}"}

        handler, leader = await token("handler"), await token("leader")
        created = await api.post("/supervisions", headers=handler, json={
            "kind": "card", "type_key": "yellow", "subject": {"kind": "person", "name": "欧阳·明", "unit": "泗阳县某中学", "position": "副校长"}})
        assert created.status_code == 201, created.text
        sid = created.json()["id"]
        assert (await api.post(f"/supervisions/{sid}/submit", headers=handler)).status_code == 200
        assert (await api.post(f"/supervisions/{sid}/approve", headers=leader)).status_code == 200
        issued = await api.post(f"/supervisions/{sid}/issue", headers=handler)
        assert issued.status_code == 200, issued.text
        card = issued.json()

    context = await browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 1000})
    page = await context.new_page()
    await sign_in(page, f"{live_server}/t/{tenants.A}/staff/login", "handler")
    await page.goto(f"{live_server}/t/{tenants.A}/api/supervisions/{sid}/document")
    await page.locator("article.document .issuer").wait_for()
    assert await page.locator("article.document .issuer").evaluate("e => getComputedStyle(e).color") == "rgb(212, 0, 0)"
    await page.screenshot(path=str(shots / "printed-card-page.png"), full_page=True)
    await page.emulate_media(media="print")
    await page.screenshot(path=str(shots / "printed-card-print.png"), full_page=True)
    pdf = await page.pdf(format="A4", prefer_css_page_size=True)
    (shots / "printed-card.pdf").write_bytes(pdf)
    await context.close()

    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(p.extract_text() for p in reader.pages)
    flat = re.sub(r"\s+", "", text)
    assert "信访监督平台" not in flat and "打印" not in flat  # only the document prints, not the page around it
    issuer = "泗阳县教育局纪委"
    number = card["document_no"]
    assert re.fullmatch(rf"{issuer}〔{card['issued_on'][:4]}〕[1-9]\d*号", number), number  # 机关代字〔年份〕序号号
    assert flat.index(issuer) < flat.index(number) < flat.index("预警卡") < flat.index("欧阳·明同志（泗阳县某中学副校长）：")
    issued_on = chinese_date(card["issued_on"])
    assert f"{issuer}{issued_on}" in flat  # 落款: the issuing body over the date in Chinese numerals
    if card.get("response_due"):
        due = card["response_due"].split("-")
        assert f"请于{int(due[0])}年{int(due[1])}月{int(due[2])}日前书面说明有关情况" in flat
    for number, page_text in enumerate((p.extract_text() for p in reader.pages), 1):
        assert f"— {number} —" in page_text
    assert "\ufffd" not in text and "□" not in text
    used = fonts_of(reader)
    assert used and all(embedded(f) for f in used.values()), {k: embedded(f) for k, f in used.items()}  # Chromium embeds each font
    print(f"printed card: {shots}")


async def test_document_numbers_run_on_within_a_year_and_stay_with_the_document(app, tenants):
    from tests.test_cards_steps import issued_to, person
    from tests.test_supervision import at, staff
    from xinfang.cards import service
    from xinfang.store.scoped import TenantScope
    from xinfang.tenancy.models import Tenant

    bazhou = TenantScope((await Tenant.find_one({"slug": tenants.B})).id)
    first = await issued_to(bazhou, person(), "2031-03-02", type_key="orange")  # a year no other test issues in
    second = await issued_to(bazhou, person(), "2031-03-03", type_key="orange")
    serial = lambda sup: int(re.search(r"〔2031〕(\d+)号$", sup.document_no).group(1))  # noqa: E731
    assert first.document_no.startswith("巴音郭楞蒙古自治州纪委监委〔2031〕") and serial(second) == serial(first) + 1
    assert first.document_no in first.document_html
    again = await service.do_decide(bazhou, second, await staff(bazhou, "handler"), "must_explain", note="请重新说明",
                                    now=at("2031-03-20"))
    assert again.document_no == second.document_no and second.document_no in again.document_html  # re-rendered, same number
    next_year = await issued_to(bazhou, person(), "2032-01-05", type_key="orange")
    assert next_year.document_no.endswith("〔2032〕1号")  # each year starts again at 1
