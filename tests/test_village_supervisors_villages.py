"""Villages (村) below townships, issue 15's gaps: prefecture 巴州 -> county 库尔勒 -> a township -> a village, each loaded
from a bundle as an operator would. A supervisor of the village relays a villager's petition with a photo (checked by its
bytes; a disguised file refused): the case is registered with the township, which handles it, while the relay counts
under the village in the township's, county's and prefecture's network statistics. The township's staff find relayed
cases with the inbox filter 来源：信访监督员代为反映, with the supervisor's name on the list."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest
from bson import ObjectId
from werkzeug.datastructures import FileStorage

from tests.conftest import PASSWORD, login_token
from tests.test_village_supervisors import supervisor, township, villager

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

VILLAGE_BUNDLE = """
[tenant]
slug = "{slug}"
name = {{ zh = "{name}", en = "{name} Village" }}
level = "village"
kind = "commission"
region_code = "652801001{code:03d}"
parent = "{parent}"

[[accounts]]
username = "admin"
display_name = "村管理员 Admin"
roles = ["tenant_admin"]
"""


async def load_bundle(tmp_path: Path, slug: str, text: str) -> None:
    from xinfang.tenancy.bundles import BundleLoader, discover

    folder = tmp_path / f"b-{slug}" / slug
    folder.mkdir(parents=True)
    (folder / "bundle.toml").write_text(text, encoding="utf-8")
    _, bundles = discover(tmp_path / f"b-{slug}")
    await BundleLoader(PASSWORD).load(None, bundles)


async def village(tmp_path: Path, parent: str) -> tuple[str, str]:
    slug, name = f"vil-{uuid.uuid4().hex[:8]}", "杏花村" + uuid.uuid4().hex[:3]
    await load_bundle(tmp_path, slug, VILLAGE_BUNDLE.format(slug=slug, name=name, parent=parent, code=7))
    return slug, name


def relay_payload(answers: dict) -> str:
    return json.dumps({"form": "petition", "answers": answers, "consent": True, "consent_method": "signed"})


async def test_a_village_supervisor_relays_to_the_township_with_a_photo_and_is_counted_under_the_village(client, tenants, tmp_path):
    from xinfang.petitions.models import Petition
    from xinfang.tenancy.models import Tenant

    town_slug, town_name = await township(tmp_path)
    vil_slug, vil_name = await village(tmp_path, town_slug)
    town, vil = await Tenant.find_one({"slug": town_slug}), await Tenant.find_one({"slug": vil_slug})
    assert vil.level == "village" and vil.parent_id == str(town.id) and vil.ancestor_ids[-1] == str(town.id)
    wu = await supervisor(client, vil_slug, f"sv-wu-{uuid.uuid4().hex[:6]}", "吴监督员")

    # A file that is not what it claims (bytes of no PDF/JPEG/PNG) is refused at its field; nothing is registered.
    disguised = await client.post(f"/t/{vil_slug}/api/relays", headers=wu, form={"payload": relay_payload(villager(31))},
                                  files={"files": FileStorage(io.BytesIO(b"MZ\x90\x00 not a picture"), filename="road.pdf")})
    assert disguised.status_code == 422 and "files.0" in (await disguised.get_json())["error"]["fields"]
    assert (await (await client.get(f"/t/{vil_slug}/api/relays", headers=wu)).get_json())["total"] == 0

    # With a photo: registered with the township (its number, its staff), the photo kept with the petition.
    made = await client.post(f"/t/{vil_slug}/api/relays", headers=wu, form={"payload": relay_payload(villager(32))},
                             files={"files": FileStorage(io.BytesIO(PNG), filename="坑洼.png", content_type="image/png")})
    assert made.status_code == 201, await made.get_data(as_text=True)
    one = await made.get_json()
    stored = await Petition.get_pymongo_collection().find_one({"_id": ObjectId(one["id"])})
    assert stored["tenant_id"] == str(town.id) and one["number"].startswith(town_slug.upper()) and len(stored["attachment_ids"]) == 1
    view = await (await client.get(f"/t/{vil_slug}/api/relays/{one['id']}", headers=wu)).get_json()
    assert view["attachments"] == 1 and view["consent"]["method"] == "signed" and "11010519491231002X" not in json.dumps(view)

    # The township's handler downloads the photo and sees who relayed it on the case page.
    handler = await login_token(client, town_slug, "handler")
    case = await (await client.get(f"/t/{town_slug}/api/petitions/{one['id']}", headers=handler)).get_json()
    [attachment_id] = case["attachments"]
    download = await client.get(f"/t/{town_slug}/api/petitions/{one['id']}/attachments/{attachment_id}", headers=handler)
    assert download.status_code == 200 and await download.get_data() == PNG
    case_page = await (await client.get(f"/t/{town_slug}/staff/petitions/{one['id']}", headers=handler)).get_data(as_text=True)
    assert "吴监督员" in case_page and "书面签字同意" in case_page

    # The inbox filter 来源：信访监督员代为反映: the relayed case only (not one the staff registered), with who relayed it.
    staff_filed = await client.post(f"/t/{town_slug}/api/petitions", headers=handler, json={
        "form": "petition", "channel": "visit", "anonymous": True, "answers": {"title": "乡镇自己登记", "content": "乡镇工作人员登记的来访。", "category": "other"}})
    assert staff_filed.status_code == 201
    relayed = await (await client.get(f"/t/{town_slug}/api/petitions?source=supervisor", headers=handler)).get_json()
    assert [p["id"] for p in relayed["items"]] == [one["id"]] and relayed["total"] == 1
    everything = await (await client.get(f"/t/{town_slug}/api/petitions", headers=handler)).get_json()
    assert everything["total"] == 2
    page = await (await client.get(f"/t/{town_slug}/staff/?source=supervisor", headers=handler)).get_data(as_text=True)
    assert one["number"] in page and "乡镇自己登记" not in page and "信访监督员吴监督员代为反映" in page
    assert '<option value="supervisor" selected>' in page
    unknown = await client.get(f"/t/{town_slug}/api/petitions?source=telepathy", headers=handler)
    assert unknown.status_code == 422 and "source" in (await unknown.get_json())["error"]["fields"]

    # The network: the village is a row of its own under the township, at every level above.
    for slug, depth in ((town_slug, 1), (tenants.CHILD_OF_B, 2), (tenants.B, 3)):
        upper = await login_token(client, slug, "leader")
        stats = await (await client.get(f"/t/{slug}/api/supervisor-network", headers=upper)).get_json()
        row = next(r for r in stats["rows"] if r["slug"] == vil_slug)
        assert row["level"] == "village" and row["depth"] == depth and row["name"]["zh"] == vil_name
        assert row["own"] == {"supervisors": 1, "relays_month": 1, "relays_year": 1, "follow_ups_year": 0, "closed_year": 0}
        if slug != town_slug:  # the township is a row of the bodies above it, holding its village
            town_row = next(r for r in stats["rows"] if r["slug"] == town_slug)
            assert town_row["own"]["relays_year"] == 0 and town_row["total"]["relays_year"] == 1
        else:
            assert stats["total"]["relays_year"] == 1
    town_leader = await login_token(client, town_slug, "leader")
    network_page = await (await client.get(f"/t/{town_slug}/staff/supervisor-network", headers=town_leader)).get_data(as_text=True)
    assert vil_name in network_page and "村（社区）" in network_page

    # The relay form at the village says where the case goes, and takes files (multipart).
    form_page = await (await client.get(f"/t/{vil_slug}/staff/relays/new", headers=wu)).get_data(as_text=True)
    assert town_name in form_page and 'enctype="multipart/form-data"' in form_page and 'name="files"' in form_page
    by_page = await client.post(f"/t/{vil_slug}/staff/relays/new", headers=wu,
                                form={"_form": "petition", "consent": "1", "consent_method": "phone", **villager(33)},
                                files={"files": FileStorage(io.BytesIO(b"%PDF-1.4\n%%EOF"), filename="材料.pdf", content_type="application/pdf")})
    assert by_page.status_code == 201, await by_page.get_data(as_text=True)
    refused_page = await client.post(f"/t/{vil_slug}/staff/relays/new", headers=wu,
                                     form={"_form": "petition", "consent": "1", "consent_method": "phone", **villager(34)},
                                     files={"files": FileStorage(io.BytesIO(b"<html>"), filename="x.pdf")})
    assert refused_page.status_code == 422 and "只接受 PDF, JPEG, PNG 文件" in await refused_page.get_data(as_text=True)
    assert (await (await client.get(f"/t/{vil_slug}/api/relays", headers=wu)).get_json())["total"] == 2


async def test_levels_below_a_village_are_refused_and_named_in_words(tmp_path):
    from xinfang.display_words import word
    from xinfang.tenancy.bundles import BundleError
    from xinfang.tenancy.models import TenantLevel

    assert TenantLevel.VILLAGE.rank == TenantLevel.TOWNSHIP.rank + 1 and list(TenantLevel)[-1] == TenantLevel.VILLAGE
    assert word("tenant_level", "village", "zh") == "村（社区）"
    town_slug, _ = await township(tmp_path)
    vil_slug, _ = await village(tmp_path, town_slug)
    with pytest.raises(BundleError, match="cannot sit under a village"):
        await village(tmp_path, vil_slug)
