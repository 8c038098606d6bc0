"""Every setting comes from one place: its variable, its default, the README's table."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from app.core.settings import VARIABLES, Settings, get_settings, load_settings, settings_in_force

README = Path(__file__).resolve().parents[3] / "README.md"


def test_an_empty_environment_gives_the_defaults() -> None:
    assert load_settings({}) == Settings()
    assert load_settings(dict.fromkeys(VARIABLES.values(), "")) == Settings()


def test_every_setting_has_a_variable_listed_in_the_readme() -> None:
    fields = {f.name for f in dataclasses.fields(Settings)} - {"extra"}
    assert set(VARIABLES) == fields
    configuration = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    missing = [variable for variable in VARIABLES.values() if f"`{variable}`" not in configuration]
    assert missing == []


def test_the_settings_once_read_at_import_come_from_the_environment() -> None:
    loaded = load_settings(
        {
            "OMS_DEFAULT_REGION": "fr",
            "OMS_CUSTOMER_TOKEN_TTL_MINUTES": "15",
            "OMS_LOYALTY_TIERS": "basic:0:1,vip:1000:5",
            "OMS_LOYALTY_POINT_VALUE_MINOR": "5",
            "OMS_LOYALTY_PENDING_DAYS": "14",
            "OMS_LOYALTY_EXPIRY_MONTHS": "12",
            "OMS_RETURNS_REFUND_DELIVERY": "Yes",
            "OMS_BROKER_HEARTBEAT_TIMEOUT_MS": "8000",
            "OMS_BROKER_MAINTENANCE_CHANCE": "100000",
            "OMS_SECRET_KEY": "s3cret",
        }
    )
    assert (loaded.default_region, loaded.customer_token_ttl_minutes) == ("FR", 15)
    assert loaded.loyalty_tiers == "basic:0:1,vip:1000:5"
    assert (loaded.loyalty_point_value_minor, loaded.loyalty_pending_days, loaded.loyalty_expiry_months) == (5, 14, 12)
    assert loaded.returns_refund_delivery is True
    assert (loaded.broker_heartbeat_timeout_ms, loaded.broker_maintenance_chance) == (8000, 100000)
    assert loaded.secret_key == "s3cret"
    assert load_settings({"OMS_RETURNS_REFUND_DELIVERY": "false"}).returns_refund_delivery is False


def test_a_bad_number_is_refused_when_read() -> None:
    with pytest.raises(ValueError):
        load_settings({"OMS_LOYALTY_PENDING_DAYS": "thirty"})


def test_settings_in_force_last_for_the_block() -> None:
    before = get_settings()
    other = dataclasses.replace(before, loyalty_pending_days=before.loyalty_pending_days + 1)
    with settings_in_force(other):
        assert get_settings() is other
    assert get_settings() is before


def test_bad_loyalty_tiers_stop_the_app_at_start() -> None:
    from app.loyalty.rules import InvalidTiers
    from app.main import create_app

    with pytest.raises(InvalidTiers):
        create_app(dataclasses.replace(get_settings(), loyalty_tiers="gold:100:3"), log=False)


def test_metrics_port_zero_or_unset_means_no_keyless_listener() -> None:
    assert load_settings({}).metrics_port is None
    assert load_settings({"OMS_METRICS_PORT": "0"}).metrics_port is None
    assert load_settings({"OMS_METRICS_PORT": "9100"}).metrics_port == 9100


def test_replica_urls_are_a_comma_separated_list() -> None:
    urls = "postgresql://r1:5432/oms, postgresql://r2:5432/oms,"
    settings = load_settings({"OMS_DATABASE_REPLICA_URL": urls, "OMS_REPLICA_MAX_LAG_SECONDS": "1.5"})
    assert settings.database_replica_urls == ("postgresql://r1:5432/oms", "postgresql://r2:5432/oms")
    assert settings.replica_max_lag_seconds == 1.5
    assert load_settings({}).database_replica_urls == ()
