"""A file part the multipart parser cannot read as a file (a bare CR in its file name) is refused with a
message, on the API and on the citizen's form; it used to vanish while the petition was filed without it."""

from __future__ import annotations

import json

from tests.test_petitions import ANONYMOUS, PNG

BOUNDARY = "xinfangBOUNDARY"


def _multipart(fields: dict[str, str], filename: bytes) -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode() for name, value in fields.items()]
    parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="'.encode() + filename
                 + b'"\r\nContent-Type: image/png\r\n\r\n' + PNG + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


HEADERS = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


async def test_the_api_refuses_a_file_whose_name_cannot_be_read(client, tenants):
    payload = json.dumps({"form": "petition", "answers": ANONYMOUS, "anonymous": True}, ensure_ascii=False)
    answer = await client.post(f"/t/{tenants.A}/api/petitions/submit", data=_multipart({"payload": payload}, b"scan\rpage.png"),
                               headers=HEADERS, scope_base={"client": ("10.9.1.1", 40000)})
    assert answer.status_code == 422, await answer.get_data(as_text=True)
    body = await answer.get_json()
    message = json.dumps(body, ensure_ascii=False)
    assert "文件名无法识别" in message and "could not be read" in message
    # The same file with a plain name goes through.
    fine = await client.post(f"/t/{tenants.A}/api/petitions/submit", data=_multipart({"payload": payload}, "现场照片.png".encode()),
                             headers=HEADERS, scope_base={"client": ("10.9.1.2", 40000)})
    assert fine.status_code == 201, await fine.get_data(as_text=True)


async def test_the_citizen_form_keeps_the_answers_and_says_why(client, tenants):
    fields = {"_anonymous": "1", "_version": "1", "title": "食堂收费", "category": "other", "content": "食堂每月加收二十元，没有公示依据。"}
    page = await client.post(f"/t/{tenants.A}/petition/petition", data=_multipart(fields, b"a\rb.png"), headers=HEADERS,
                             scope_base={"client": ("10.9.1.3", 40000)})
    html = await page.get_data(as_text=True)
    assert page.status_code == 422
    assert "文件名无法识别" in html
    assert "食堂每月加收二十元" in html  # nothing the citizen wrote is lost
