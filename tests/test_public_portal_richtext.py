"""The integrity portal's formatted text and files (issue 15's gaps): Markdown made safe (raw HTML off, an allow-list
sanitiser, links only http/https/mailto with rel=noopener), and PDF/image attachments checked by their bytes, approved
with their item, public only while it is. Isolation cases of the new routes are in tests/test_public_portal.py."""

from __future__ import annotations

import io
import re

from werkzeug.datastructures import FileStorage

from tests.conftest import login_token
from tests.test_public_portal import draft, publish, unique

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

HOSTILE = """# 一、检查范围

全县**中小学**、幼儿园。第二行紧接着。

- 收费公示
- 食堂管理

详见[县教育局网站](https://jyj.example.gov.cn/a?b=1&c=2)，或发邮件至[信箱](mailto:jw@example.gov.cn)。
不要点[这个](javascript:alert(1))，也不要[这个](data:text/html,<script>alert(2)</script>)。
<script>alert(3)</script><img src=x onerror="alert(4)"><a href="javascript:alert(5)">原始链接</a>
<iframe src="https://evil.example"></iframe>

| 项目 | 时限 |
|:--|--:|
| 自查 | 11月30日 |
"""


async def test_markdown_is_shown_formatted_and_nothing_unsafe_reaches_the_page(client, tenants):
    slug = tenants.A
    title = unique("关于开展收费专项检查的通知")
    item = await publish(client, slug, "notice", title, HOSTILE, format="markdown")
    page = await (await client.get(f"/t/{slug}/integrity/notices/{item}")).get_data(as_text=True)
    article = page[page.index('<div class="rich-text">'):page.index("</article>")]
    assert "<h2>一、检查范围</h2>" in article and "<h1>" not in article  # the page's own title stays the one h1
    assert "<strong>中小学</strong>" in article and "<li>收费公示</li>" in article and "第二行紧接着" in article
    assert '<a href="https://jyj.example.gov.cn/a?b=1&amp;c=2" rel="noopener noreferrer nofollow">县教育局网站</a>' in article
    assert '<a href="mailto:jw@example.gov.cn" rel="noopener noreferrer nofollow">信箱</a>' in article
    assert '<th style="text-align:left">项目</th>' in article and "<td" in article
    # No script, frame, image, event attribute or javascript:/data: link: typed HTML is shown as text.
    assert not re.search(r"<(script|iframe|img)\b", article, re.I) and not re.search(r"<[^>]*\son\w+=", article)
    targets = re.findall(r'<a [^>]*href="([^"]*)"', article)  # real links (typed HTML is text: &lt;a href=...)
    assert targets and all(t.startswith(("https://", "mailto:")) for t in targets)
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in article
    assert all('rel="noopener noreferrer nofollow"' in a for a in re.findall(r"<a [^>]*>", article))
    # An item written before formatting (no format given) is plain text as before: each line a paragraph, escaped.
    plain = await publish(client, slug, "notice", unique("纯文本通知"), "第一段 **不是粗体**\n<b>第二段</b>")
    text = await (await client.get(f"/t/{slug}/integrity/notices/{plain}")).get_data(as_text=True)
    assert "<p>第一段 **不是粗体**</p>" in text and "<p>&lt;b&gt;第二段&lt;/b&gt;</p>" in text
    # An unknown format is refused at its field (422, words), never stored.
    leader = await login_token(client, slug, "leader")
    refused = await client.post(f"/t/{slug}/staff/portal/new", headers=leader, form={"kind": "notice", "title": "x", "body": "y", "format": "html"})
    assert refused.status_code == 422 and "请选择纯文本或带格式" in await refused.get_data(as_text=True)


async def test_a_formatted_policy_is_found_by_its_words_not_its_marks(client, tenants):
    slug = tenants.A
    word = unique("专项整治")
    await publish(client, slug, "policy", unique("整治办法"), f"## 第一条\n\n为加强**{word}**工作，制定本办法。详见[链接](https://x.example/{word}z)。",
                  format="markdown", source="泗教纪〔2026〕9号")
    found = await (await client.get(f"/t/{slug}/integrity/policies/", query_string={"q": word})).get_data(as_text=True)
    assert word in found and "**" not in found and "##" not in found


async def test_files_are_checked_by_content_approved_with_the_item_and_public_only_while_it_is(client, tenants):
    slug = tenants.A
    handler, leader, deputy = [await login_token(client, slug, n) for n in ("handler", "leader", "deputy")]
    item = await draft(client, slug, handler, "case", unique("某校违规收费典型案例"), "经查，该校违规收取资料费。", format="markdown")
    files_url = f"/t/{slug}/staff/portal/items/{item}/files"

    # Checked by what the bytes are, whatever the name; a description is required (an image's alternative text).
    disguised = await client.post(files_url, headers=deputy, form={"description": "通报"},
                                  files={"file": FileStorage(io.BytesIO(b"<html><script>alert(1)</script>"), filename="通报.pdf")})
    assert disguised.status_code == 422 and "只接受 PDF、JPEG、PNG 文件" in await disguised.get_data(as_text=True)
    undescribed = await client.post(files_url, headers=deputy, form={"description": " "},
                                    files={"file": FileStorage(io.BytesIO(PNG), filename="现场.png")})
    assert undescribed.status_code == 422 and "请用一句话说明附件是什么" in await undescribed.get_data(as_text=True)
    added = await client.post(files_url, headers=deputy, form={"description": "退费现场照片"},
                              files={"file": FileStorage(io.BytesIO(PNG), filename="现场.png")})
    assert added.status_code == 302, await added.get_data(as_text=True)
    assert (await client.post(files_url, headers=handler, form={"description": "处理决定书"},
                              files={"file": FileStorage(io.BytesIO(PDF), filename="决定书.pdf")})).status_code == 302

    console = await (await client.get(f"/t/{slug}/staff/portal/items/{item}", headers=handler)).get_data(as_text=True)
    file_ids = re.findall(rf"/staff/portal/items/{item}/files/([0-9a-f]{{24}})\"", console)
    assert len(file_ids) == 2 and "退费现场照片" in console and "添加附件" in console
    preview = await client.get(f"/t/{slug}/staff/portal/items/{item}/files/{file_ids[0]}", headers=handler)
    assert preview.status_code == 200 and await preview.get_data() == PNG and preview.headers["Cache-Control"] == "no-store"
    # Not public before approval.
    assert (await client.get(f"/t/{slug}/integrity/cases/{item}/files/{file_ids[0]}")).status_code == 404

    # Whoever added a file is one of the authors: the deputy may not approve it, the leader may.
    assert (await client.post(f"/t/{slug}/staff/portal/items/{item}/submit", headers=handler, form={})).status_code == 302
    own = await client.post(f"/t/{slug}/staff/portal/items/{item}/approve", headers=deputy, form={})
    assert own.status_code == 403
    # Files cannot change while the item awaits approval (409, in words).
    late = await client.post(files_url, headers=handler, form={"description": "迟到的附件"}, files={"file": FileStorage(io.BytesIO(PNG), filename="x.png")})
    assert late.status_code == 409 and "只能在草稿或已撤下的内容上添加或删除附件" in await late.get_data(as_text=True)
    assert (await client.post(f"/t/{slug}/staff/portal/items/{item}/approve", headers=leader, form={})).status_code == 302

    page = await (await client.get(f"/t/{slug}/integrity/cases/{item}")).get_data(as_text=True)
    image_url = f"/t/{slug}/integrity/cases/{item}/files/{file_ids[0]}"
    assert f'<img src="{image_url}" alt="退费现场照片"' in page and "处理决定书</a>" in page
    image = await client.get(image_url)
    assert image.status_code == 200 and await image.get_data() == PNG and image.headers["Content-Type"] == "image/png"
    assert image.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in image.headers["Content-Security-Policy"]
    assert (await client.get(image_url, headers={"If-None-Match": image.headers["ETag"]})).status_code == 304
    pdf = await client.get(f"/t/{slug}/integrity/cases/{item}/files/{file_ids[1]}")
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.headers["Content-Disposition"].startswith("attachment;")
    # A file under another item, or another tenant's portal, is the same 404 as a made-up id.
    other = await publish(client, slug, "case", unique("另一案例"), "另一案例正文。")
    assert (await client.get(f"/t/{slug}/integrity/cases/{other}/files/{file_ids[0]}")).status_code == 404
    assert (await client.get(f"/t/{tenants.B}/integrity/cases/{item}/files/{file_ids[0]}")).status_code == 404

    # Withdrawn: the files go with it at once.
    assert (await client.post(f"/t/{slug}/staff/portal/items/{item}/unpublish", headers=leader, form={"note": "内容需更新"})).status_code == 302
    assert (await client.get(image_url)).status_code == 404
    removed = await client.post(f"/t/{slug}/staff/portal/items/{item}/files/{file_ids[1]}/remove", headers=handler, form={})
    assert removed.status_code == 302
    console = await (await client.get(f"/t/{slug}/staff/portal/items/{item}", headers=handler)).get_data(as_text=True)
    assert "处理决定书" in console and "删除附件" in console  # the history says it, the list no longer holds it
    assert len(re.findall(rf"/staff/portal/items/{item}/files/([0-9a-f]{{24}})\"", console)) == 1
