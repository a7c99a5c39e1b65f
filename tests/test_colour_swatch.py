"""The supervision admin page shows a swatch beside the colour picker, in the chosen colour and only ever a #rrggbb one."""

from __future__ import annotations

import re

from tests.conftest import login_token

SWATCH = re.compile(r'<span class="swatch" id="colour-swatch" style="background-color: ([^"]*)"><output for="colour">([^<]*)</output>')


async def test_the_swatch_shows_the_card_types_colour(client, tenants):
    admin = await login_token(client, tenants.B, "admin")
    html = await (await client.get(f"/t/{tenants.B}/admin/supervision?edit=card:orange", headers=admin)).get_data(as_text=True)
    assert SWATCH.search(html).groups() == ("#fb8500", "#fb8500")
    assert 'src="/static/colour-swatch.js"' in html and "<script>" not in html
    script = await client.get("/static/colour-swatch.js")
    assert script.status_code == 200 and "javascript" in script.headers["Content-Type"]


async def test_a_refused_colour_never_reaches_the_style_attribute(client, tenants):
    admin = await login_token(client, tenants.B, "admin")
    hostile = "red; background-image: url(https://evil.example/x)"
    refused = await client.post(f"/t/{tenants.B}/admin/supervision/card", headers=admin, form={"key": "swatch_probe", "colour": hostile})
    html = await refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert SWATCH.search(html).groups() == ("#888888", "#888888") and "evil.example" not in html
