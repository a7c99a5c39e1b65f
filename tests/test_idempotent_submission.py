"""A submission retried with its idempotency key stores one petition and answers with the same receipt.

The crash test (bench/fault_submissions.py) found that when the answer to a stored submission
was lost (the store or the web process died after the write), the citizen's retry stored a
second petition. With a key (the portal form's hidden one, the API's Idempotency-Key header)
the retry hits the first attempt's petition instead: here a lost answer is simply a second
request with the same key, against the real store.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import secrets

from werkzeug.datastructures import FileStorage

from xinfang.petitions.models import Attachment, Petition
from tests.conftest import login_token
from tests.test_petitions import ANONYMOUS, NAMED, PNG, lookup

SUBMIT = "/t/{slug}/api/petitions/submit"


def _tagged(tag: str, base: dict = ANONYMOUS) -> dict:
    return dict(base, title=f"幂等提交{tag}", content=f"某校收取资料费，标记{tag}，未开具收据。")


async def _send(client, slug: str, answers: dict, key: str | None, address: str, anonymous: bool = True):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return await client.post(SUBMIT.format(slug=slug), json={"form": "petition", "answers": answers, "anonymous": anonymous},
                             headers=headers, scope_base={"client": (address, 40000)})


async def _stored_with_title(title: str) -> list[dict]:
    return [doc async for doc in Petition.get_pymongo_collection().find({"title": title})]


async def test_the_same_key_twice_stores_one_petition_and_answers_the_same(client, tenants):
    key, answers = secrets.token_urlsafe(16), _tagged(secrets.token_hex(4), NAMED)
    first = await _send(client, tenants.A, answers, key, "10.61.0.1", anonymous=False)
    assert first.status_code == 201, await first.get_data(as_text=True)
    again = await _send(client, tenants.A, answers, key, "10.61.0.2", anonymous=False)  # the answer to `first` was lost
    assert again.status_code == 201, await again.get_data(as_text=True)
    one, two = await first.get_json(), await again.get_json()
    assert one == two and len(one["receipt"]) == 16 and one["receipt"].isdigit()
    [stored] = await _stored_with_title(answers["title"])
    assert stored["number"] == one["number"]
    # The key is kept only as a keyed hash, never in clear; the receipt only as its slow hash.
    assert key not in json.dumps(stored, default=str) and one["receipt"] not in json.dumps(stored, default=str)
    assert stored["submission_key_hash"] and stored["submission_content_hash"]
    status = await lookup(client, tenants.A, one["receipt"], address="10.61.0.3")
    assert status.status_code == 200 and (await status.get_json())["number"] == one["number"]


async def test_concurrent_retries_with_one_key_store_one_petition(client, tenants):
    key, answers = secrets.token_urlsafe(24), _tagged(secrets.token_hex(4))
    answers_seen = await asyncio.gather(*(_send(client, tenants.A, answers, key, f"10.62.0.{i}") for i in range(1, 5)))
    assert [r.status_code for r in answers_seen] == [201] * 4
    bodies = [await r.get_json() for r in answers_seen]
    assert all(body == bodies[0] for body in bodies)
    assert len(await _stored_with_title(answers["title"])) == 1


async def test_the_same_key_in_another_tenant_is_another_petition(client, tenants):
    key, answers = secrets.token_urlsafe(16), _tagged(secrets.token_hex(4))
    in_a = await (await _send(client, tenants.A, answers, key, "10.63.0.1")).get_json()
    in_b = await (await _send(client, tenants.B, answers, key, "10.63.0.2")).get_json()
    assert in_a["receipt"] != in_b["receipt"] and in_a["number"] != in_b["number"]
    assert len(await _stored_with_title(answers["title"])) == 2


async def test_the_same_key_with_other_content_is_a_409(client, tenants):
    key, answers = secrets.token_urlsafe(16), _tagged(secrets.token_hex(4))
    assert (await _send(client, tenants.A, answers, key, "10.64.0.1")).status_code == 201
    changed = await _send(client, tenants.A, dict(answers, content=answers["content"] + "又及"), key, "10.64.0.2")
    assert changed.status_code == 409
    error = (await changed.get_json())["error"]
    assert error["fields"]["Idempotency-Key"]["zh"] and error["fields"]["Idempotency-Key"]["en"]
    assert len(await _stored_with_title(answers["title"])) == 1


async def test_a_malformed_key_is_a_422_in_both_languages(client, tenants):
    answers = _tagged(secrets.token_hex(4))
    for bad in ("short", "x" * 65, "has space in it here", "名字名字名字名字名字名字名字名字", "a/b+c=d" * 3, ""):
        response = await _send(client, tenants.A, answers, bad, "10.65.0.1")
        assert response.status_code == 422, bad
        message = (await response.get_json())["error"]["fields"]["Idempotency-Key"]
        assert message["zh"] and message["en"]
    assert await _stored_with_title(answers["title"]) == []


async def test_without_a_key_every_submission_is_a_new_petition(client, tenants):
    answers = _tagged(secrets.token_hex(4))
    one = await (await _send(client, tenants.A, answers, None, "10.66.0.1")).get_json()
    two = await (await _send(client, tenants.A, answers, None, "10.66.0.2")).get_json()
    assert one["receipt"] != two["receipt"] and one["number"] != two["number"]
    assert len(await _stored_with_title(answers["title"])) == 2


async def test_a_retried_submission_keeps_one_copy_of_its_attachment(client, tenants):
    key, answers = secrets.token_urlsafe(16), _tagged(secrets.token_hex(4))
    payload = json.dumps({"form": "petition", "answers": answers, "anonymous": True})
    results = []
    for address in ("10.67.0.1", "10.67.0.2"):
        response = await client.post(SUBMIT.format(slug=tenants.A), form={"payload": payload}, headers={"Idempotency-Key": key},
                                     files={"files": FileStorage(io.BytesIO(PNG), filename="photo.png", content_type="image/png")},
                                     scope_base={"client": (address, 1)})
        assert response.status_code == 201, await response.get_data(as_text=True)
        results.append(await response.get_json())
    assert results[0] == results[1]
    [stored] = await _stored_with_title(answers["title"])
    assert len(stored["attachment_ids"]) == 1
    assert await Attachment.get_pymongo_collection().count_documents({"petition_id": str(stored["_id"])}) == 1


async def test_staff_registration_takes_the_key_too(client, tenants):
    registrar = await login_token(client, tenants.A, "registrar")
    key, answers = secrets.token_urlsafe(16), _tagged(secrets.token_hex(4))
    body = {"form": "petition", "answers": answers, "anonymous": True, "channel": "letter"}
    first = await client.post(f"/t/{tenants.A}/api/petitions", headers={**registrar, "Idempotency-Key": key}, json=body)
    again = await client.post(f"/t/{tenants.A}/api/petitions", headers={**registrar, "Idempotency-Key": key}, json=body)
    assert first.status_code == again.status_code == 201, await again.get_data(as_text=True)
    assert await first.get_json() == await again.get_json()
    assert len(await _stored_with_title(answers["title"])) == 1


def _form_key(html: str) -> str:
    return re.search(r'name="_submission_key" value="([^"]+)"', html).group(1)


async def test_the_portal_form_carries_a_fresh_key_and_a_double_post_files_once(app, tenants):
    browser = app.test_client()
    pages = [await (await browser.get(f"/t/{tenants.A}/petition/petition")).get_data(as_text=True) for _ in range(2)]
    keys = [_form_key(html) for html in pages]
    assert keys[0] != keys[1] and all(re.fullmatch(r"[A-Za-z0-9_-]{16,64}", k) for k in keys)
    tag = secrets.token_hex(4)
    form = {"_anonymous": "1", "title": f"网页幂等{tag}", "content": "网页重复提交的信访内容", "category": "other",
            "_submission_key": keys[0]}
    answers = [await browser.post(f"/t/{tenants.A}/petition/petition", form=form, scope_base={"client": ("10.68.0.1", 1)})
               for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201]
    receipts = [re.search(r'data-receipt="(\d{16})"', await a.get_data(as_text=True)).group(1) for a in answers]
    assert receipts[0] == receipts[1]
    assert len(await _stored_with_title(form["title"])) == 1
    # The same page's key with changed content: a 409 page with the message and a fresh key, nothing stored.
    changed = await browser.post(f"/t/{tenants.A}/petition/petition", form=dict(form, content="改过的内容"),
                                 scope_base={"client": ("10.68.0.1", 1)})
    html = await changed.get_data(as_text=True)
    assert changed.status_code == 409 and "提交标识" in html and _form_key(html) not in keys
    tampered = await browser.post(f"/t/{tenants.A}/petition/petition", form=dict(form, _submission_key="<script>"),
                                  scope_base={"client": ("10.68.0.1", 1)})
    assert tampered.status_code == 422 and "提交标识" in await tampered.get_data(as_text=True)
    assert len(await _stored_with_title(form["title"])) == 1


def test_which_unique_key_refused_the_write_is_read_right_on_both_stores():
    """A case-number clash is retried with the next number; only _id (a retry) and receipt_hash are raised."""
    from pymongo.errors import DuplicateKeyError

    from xinfang.petitions.service import _duplicate_of

    def clash(message: str, **details) -> str:
        return _duplicate_of(DuplicateKeyError(message, 11000, {"errmsg": message, **details}))

    assert clash("UNIQUE constraint failed: petitions._id") == "_id"  # the embedded store
    assert clash("UNIQUE constraint failed: index 'idx_petitions_origin_tenant_id_number'") == "other"
    assert clash("UNIQUE constraint failed: index 'idx_petitions_receipt_hash'") == "receipt_hash"
    assert clash("E11000 duplicate key error collection: x.petitions index: _id_ dup key: { _id: ObjectId('a') }") == "_id"
    assert clash("E11000 duplicate key error collection: x.petitions index: origin_tenant_id_1_number_1 dup key: { }",
                 keyPattern={"origin_tenant_id": 1, "number": 1}) == "other"
    assert clash("E11000 ...", keyPattern={"_id": 1}) == "_id"
