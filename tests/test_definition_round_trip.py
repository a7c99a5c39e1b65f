"""A card type read with GET can be sent back with PUT as it is; a bad key says what a key may be."""

from __future__ import annotations


async def test_what_get_answers_put_takes_back(client, tenants, admin_b):
    listed = await (await client.get(f"/t/{tenants.B}/api/card-types", headers=admin_b)).get_json()
    card = listed["card_types"][0]
    card["name"] = {**card["name"], "zh": card["name"]["zh"] + "（改）"}
    answer = await client.put(f"/t/{tenants.B}/api/card-types/{card['key']}", json=card, headers=admin_b)
    assert answer.status_code == 200, await answer.get_data(as_text=True)
    saved = await answer.get_json()
    assert saved["name"]["zh"].endswith("（改）") and saved["id"] == card["id"] and saved["source"] == "admin"
    card["name"]["zh"] = card["name"]["zh"].removesuffix("（改）")  # leave the fixture as it was
    assert (await client.put(f"/t/{tenants.B}/api/card-types/{card['key']}", json=card, headers=admin_b)).status_code == 200


async def test_a_bad_key_says_what_a_key_may_be(client, tenants, admin_b):
    listed = await (await client.get(f"/t/{tenants.B}/api/card-types", headers=admin_b)).get_json()
    card = listed["card_types"][0]
    answer = await client.put(f"/t/{tenants.B}/api/card-types/Yellow-Card", json=card, headers=admin_b)
    assert answer.status_code == 422
    message = (await answer.get_json())["error"]["fields"]["key"]
    assert "小写英文字母" in message["zh"] and "lower-case" in message["en"]
