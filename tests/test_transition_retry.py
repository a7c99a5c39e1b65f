"""A staff action is not refused because something else wrote the petition between the request's read and its write
(the beat flagging it overdue, another person's action): the action is tried again on the petition as it is now
(petitions/service.do_transition_of), and refused in words only if it keeps happening or no longer applies."""

from __future__ import annotations

from xinfang.petitions import service
from xinfang.petitions.models import Petition
from tests.conftest import login_token
from tests.test_petitions import ANONYMOUS, petition_id_of, submitted


def _written_meanwhile(monkeypatch, times: int) -> list[int]:
    """The petition's revision bumped right after each of the first ``times`` reads, as the beat's overdue flag does."""
    reads: list[int] = []
    read = service.access_petition

    async def read_then_someone_writes(ctx, petition_id):
        petition = await read(ctx, petition_id)
        reads.append(1)
        if len(reads) <= times:
            await Petition.get_pymongo_collection().update_one({"_id": petition.id}, {"$inc": {"revision": 1}})
        return petition
    monkeypatch.setattr(service, "access_petition", read_then_someone_writes)
    return reads


async def test_an_action_is_tried_again_on_the_petition_as_it_is_now(client, tenants, monkeypatch):
    result = await submitted(client, tenants.A, ANONYMOUS, anonymous=True, address="10.30.0.1")
    pid = await petition_id_of(tenants.A, result["number"])
    registrar = await login_token(client, tenants.A, "registrar")
    reads = _written_meanwhile(monkeypatch, times=1)
    response = await client.post(f"/t/{tenants.A}/api/petitions/{pid}/transitions/accept", headers=registrar, json={"fields": {}})
    assert response.status_code == 200, await response.get_data(as_text=True)
    assert len(reads) == 2
    petition = await Petition.get_pymongo_collection().find_one({"number": result["number"]})
    assert [s["action"] for s in petition["steps"]].count("accept") == 1  # taken once


async def test_an_action_written_over_every_time_is_refused_in_words(client, tenants, monkeypatch):
    result = await submitted(client, tenants.A, ANONYMOUS, anonymous=True, address="10.30.0.2")
    pid = await petition_id_of(tenants.A, result["number"])
    registrar = await login_token(client, tenants.A, "registrar")
    reads = _written_meanwhile(monkeypatch, times=service.TRANSITION_ATTEMPTS)
    response = await client.post(f"/t/{tenants.A}/api/petitions/{pid}/transitions/accept", headers=registrar, json={"fields": {}})
    assert response.status_code == 409
    body = await response.get_json()
    assert "刷新" in body["error"]["message"]["zh"] and "reload" in body["error"]["message"]["en"]
    assert len(reads) == service.TRANSITION_ATTEMPTS
    petition = await Petition.get_pymongo_collection().find_one({"number": result["number"]})
    assert "accept" not in [s["action"] for s in petition["steps"]]


def test_a_record_changed_meanwhile_is_a_409_naming_it_in_both_languages():
    from xinfang.errors import Conflict, changed_meanwhile
    from xinfang.petitions.service import ChangedMeanwhile

    refused = changed_meanwhile("这件批示", "this instruction")
    assert type(refused) is Conflict and refused.status == 409
    assert refused.message == {"zh": "这件批示刚被其他人处理过，请刷新后再试", "en": "someone else changed this instruction meanwhile; reload and retry"}
    assert isinstance(changed_meanwhile("这件信访件", "this petition", ChangedMeanwhile), ChangedMeanwhile)  # the transition retries on it
