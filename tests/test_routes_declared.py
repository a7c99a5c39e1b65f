"""Every route declares who may call it; the app refuses to start otherwise."""

import pytest
from quart import Blueprint

from xinfang.app import UndeclaredAccess, create_app
from xinfang.auth.permissions import access_of
from xinfang.hookspecs import hookimpl


def test_every_route_declares_its_access(app):
    undeclared = [
        rule.rule for rule in app.app.url_map.iter_rules()
        if rule.endpoint != "static" and access_of(app.app.view_functions[rule.endpoint]) is None
    ]
    assert undeclared == []


def test_public_routes_say_why(app):
    for rule in app.app.url_map.iter_rules():
        access = access_of(app.app.view_functions[rule.endpoint]) if rule.endpoint != "static" else None
        if access and access.public:
            assert len(access.reason) > 10, rule.rule


def test_tenant_routes_and_platform_routes_are_separate(app):
    for rule in app.app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        access = access_of(app.app.view_functions[rule.endpoint])
        if access.platform:
            assert rule.rule.startswith(("/api/platform/", "/platform/")), rule.rule
        elif not access.public:
            assert rule.rule.startswith("/t/<tenant_slug>/"), rule.rule


def test_a_plugin_route_without_a_declaration_stops_the_app(settings):
    careless = Blueprint("careless", __name__)

    @careless.get("/t/<tenant_slug>/api/careless")
    async def careless_view(tenant_slug):
        return {}

    class CarelessPlugin:
        @hookimpl
        def xinfang_blueprints(self):
            return [careless]

    with pytest.raises(UndeclaredAccess, match="/t/<tenant_slug>/api/careless"):
        create_app(settings, plugins=[CarelessPlugin()])
