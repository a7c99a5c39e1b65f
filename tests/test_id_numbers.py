"""Petitioners' identity numbers get the same GB 11643 check-digit check as officials' (one function for both)."""

from __future__ import annotations

import pytest

from xinfang.archives.identity import normalized_id_number
from xinfang.errors import InvalidInput
from xinfang.forms import schema_safety
from xinfang.forms.templates_library import load_templates
from xinfang.id_numbers import check_character, is_resident_id_number
from tests.conftest import login_token
from tests.test_petitions import NAMED, submit

VALID = ["11010519491231002X", "11010519491231002x", "321323198001011231", "321323198501011238"]
WRONG_CHECK = ["110105194912310021", "32132319800101123X", "321323198501011234"]


@pytest.mark.parametrize("number", VALID)
def test_a_right_check_digit_passes_both_checks(number):
    assert is_resident_id_number(number)
    assert normalized_id_number(number) == number.upper()
    assert schema_safety.FORMAT_CHECKER.conforms(number, "cn-id-number")


@pytest.mark.parametrize("number", WRONG_CHECK)
def test_a_wrong_check_digit_fails_both_checks(number):
    assert not is_resident_id_number(number)
    assert not schema_safety.FORMAT_CHECKER.conforms(number, "cn-id-number")
    with pytest.raises(InvalidInput):
        normalized_id_number(number)


@pytest.mark.parametrize("text", ["", "11010519491231002", "1101051949123100211", "１１０１０５１９４９１２３１００２Ｘ", "11010519491231002Y",
                                  "٣" * 17 + "1", "abcdefghijklmnopqr"])
def test_anything_else_is_not_a_resident_id_number(text):
    assert not is_resident_id_number(text)
    assert not schema_safety.FORMAT_CHECKER.conforms(text, "cn-id-number")


def test_the_check_character_follows_gb_11643():
    assert check_character("11010519491231002") == "X"  # the two examples in the standard's appendix
    assert check_character("44052418800101001") == "4"


def test_the_petitioner_forms_check_the_digit_with_a_field_message_in_both_languages():
    templates = load_templates()
    for key in ("petition", "report"):
        assert templates[key]["properties"]["id_number"]["format"] == "cn-id-number"
        wrong = {e.path: e for e in schema_safety.validate_submission(templates[key], {"id_number": "32132319800101123X"}, anonymous=False)}
        assert wrong["id_number"].zh == "身份证号码：号码不正确，请核对（18 位，最后一位是校验位，可为 X）"
        assert wrong["id_number"].en.startswith("ID card number: not a valid resident ID number")
        right = {e.path for e in schema_safety.validate_submission(templates[key], {"id_number": "32132319800101123" + "1"}, anonymous=False)}
        assert "id_number" not in right


async def test_a_petition_with_a_wrong_check_digit_is_refused_on_its_field(client, tenants):
    refused = await submit(client, tenants.A, dict(NAMED, id_number="321323198001011232"), address="10.63.0.1")
    assert refused.status_code == 422
    message = (await refused.get_json())["error"]["fields"]["id_number"]
    assert "校验位" in message["zh"] and "check digit" in message["en"]
    accepted = await submit(client, tenants.A, dict(NAMED, id_number="321323198001011231"), address="10.63.0.2")
    assert accepted.status_code == 201, await accepted.get_data(as_text=True)


async def test_staff_registration_checks_the_digit_too(client, tenants):
    registrar = await login_token(client, tenants.A, "registrar")
    answers = {k: v for k, v in NAMED.items()} | {"id_number": "321323198501011234"}
    refused = await client.post(f"/t/{tenants.A}/api/petitions", headers=registrar, json={"form": "petition", "answers": answers, "channel": "letter"})
    assert refused.status_code == 422 and "id_number" in (await refused.get_json())["error"]["fields"]
