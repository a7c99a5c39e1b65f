from pathlib import Path

import pytest

from xinfang.settings import SETTINGS_TABLE, Settings, SettingsError
from tests.conftest import REPO_ROOT


def test_defaults_use_the_embedded_store_and_broker():
    settings = Settings.from_env({})
    assert settings.embedded_store and settings.embedded_broker
    assert settings.effective_mongodb_uri.startswith("mongodb://127.0.0.1:27117/")
    assert settings.should_load_demo_tenants is True


def test_values_are_parsed_from_prefixed_variables():
    settings = Settings.from_env(
        {
            "XINFANG_DATA_DIR": "/srv/xf",
            "XINFANG_MONGODB_URI": "mongodb://db0,db1,db2/?replicaSet=rs0",
            "XINFANG_PORT": "9000",
            "XINFANG_SWEEP_INTERVAL_SECONDS": "2.5",
            "XINFANG_LOAD_DEMO_TENANTS": "yes",
            "UNRELATED": "ignored",
        }
    )
    assert settings.data_dir == Path("/srv/xf")
    assert not settings.embedded_store
    assert settings.port == 9000 and settings.sweep_interval_seconds == 2.5
    assert settings.should_load_demo_tenants is True


def test_demo_tenants_default_off_on_a_real_mongodb():
    assert Settings.from_env({"XINFANG_MONGODB_URI": "mongodb://db/"}).should_load_demo_tenants is False


@pytest.mark.parametrize(
    "env, fragment",
    [
        ({"XINFANG_PORT": "eighty"}, "XINFANG_PORT"),
        ({"XINFANG_LOAD_DEMO_TENANTS": "maybe"}, "expected true/false"),
        ({"XINFANG_MONGO_URI": "typo"}, "unknown setting"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(env, fragment):
    with pytest.raises(SettingsError, match=fragment):
        Settings.from_env(env)


def test_round_trip_through_the_environment_of_a_child_process():
    settings = Settings(data_dir=Path("/tmp/x"), broker_url="redis://h/1", port=8100, load_demo_tenants=False)
    assert Settings.from_env(settings.to_env()) == settings


def test_every_setting_is_in_the_table_and_in_the_readme():
    fields = {"XINFANG_" + name.upper() for name in Settings.__dataclass_fields__}
    assert {row[0] for row in SETTINGS_TABLE} == fields
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    missing = sorted(name for name in fields if f"`{name}`" not in readme)
    assert not missing, f"README lacks: {missing}"


def test_only_settings_reads_xinfang_variables_from_the_environment():
    """Settings refuses unknown XINFANG_* names, so a module reading its own variable (as the search cache and the
    webhook delivery retention once did) makes that variable stop the platform when set: every knob is a setting."""
    import re

    reads = re.compile(r"(environ(\.get)?\s*[\[(]|getenv\s*\()\s*[\"']XINFANG_")
    offenders = []
    for root in ("platform", "search", "plugins"):
        for path in (REPO_ROOT / root).rglob("*.py"):
            if path.name != "settings.py" and reads.search(path.read_text(encoding="utf-8")):
                offenders.append(str(path.relative_to(REPO_ROOT)))
    assert offenders == []


def test_webhook_delivery_retention_and_search_cache_are_settings():
    settings = Settings.from_env({"XINFANG_WEBHOOK_DELIVERY_KEEP_DAYS": "7", "XINFANG_SEARCH_TERM_CACHE_MB": "16"})
    assert settings.webhook_delivery_keep_days == 7 and settings.search_term_cache_mb == 16.0
    assert Settings.from_env({}).webhook_delivery_keep_days == 30
