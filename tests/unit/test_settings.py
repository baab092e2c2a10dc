import pytest
from pydantic import ValidationError

from payments.settings import YOOKASSA_NETWORKS, Settings

BASE = {"TABLE_NAME": "t", "FRONTEND_URL": "https://app.example.com/"}


def test_defaults_are_yookassa_networks_and_no_loopback() -> None:
    settings = Settings.from_env(BASE)
    assert tuple(settings.webhook_allowed_networks) == YOOKASSA_NETWORKS
    assert not any(net.is_loopback for net in settings.networks)
    assert settings.frontend_url == "https://app.example.com"


def test_networks_come_from_a_comma_separated_list() -> None:
    settings = Settings.from_env({**BASE, "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8, ::1/128"})
    assert [str(n) for n in settings.networks] == ["127.0.0.0/8", "::1/128"]


@pytest.mark.parametrize(
    "env",
    [
        {"TABLE_NAME": "t"},
        {**BASE, "WEBHOOK_ALLOWED_NETWORKS": "not-a-network"},
        {**BASE, "YOOKASSA_BUDGET_SECONDS": "40"},
        {**BASE, "PENDING_SHARDS": "0"},
    ],
)
def test_bad_configuration_fails_at_cold_start(env) -> None:
    with pytest.raises(ValidationError):
        Settings.from_env(env)


def test_the_secret_never_shows_in_repr() -> None:
    settings = Settings.from_env({**BASE, "YOOKASSA_SECRET_KEY": "test_supersecret"})
    assert "test_supersecret" not in repr(settings)
    assert "test_supersecret" not in str(settings.model_dump())
