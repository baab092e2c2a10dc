"""The webhook's source-IP check: YooKassa's networks only, judged by the TCP peer address."""

import ipaddress

import pytest

from payments.settings import YOOKASSA_NETWORKS, Settings
from payments.webhook_auth import is_allowed_source, parse_source_ip

DEFAULT = Settings.from_env({"TABLE_NAME": "t", "FRONTEND_URL": "https://app.example.com"}).networks


@pytest.mark.parametrize(
    "ip",
    [
        "185.71.76.1",
        "185.71.76.31",  # last address of 185.71.76.0/27
        "185.71.77.0",
        "77.75.153.127",
        "77.75.156.11",
        "77.75.156.35",
        "77.75.154.200",
        "2a02:5180::1",
        "2a02:5180:0:9999::1",  # inside the documented /32, outside the SDK's four /64s
        "2a02:5180:ffff:ffff:ffff:ffff:ffff:ffff",
        "::ffff:185.71.76.1",  # what a dual-stack socket reports for an IPv4 peer
        "::FFFF:77.75.156.11",
    ],
)
def test_yookassa_addresses_are_allowed(ip: str) -> None:
    assert is_allowed_source(ip, DEFAULT)


@pytest.mark.parametrize(
    "ip",
    [
        "185.71.76.32",  # just past the /27
        "77.75.153.128",
        "77.75.156.12",
        "203.0.113.10",
        "2a02:5181::1",
        "2a03::1",
        "::ffff:203.0.113.10",
        "127.0.0.1",  # loopback is never in the default list
        "::1",
        "::ffff:127.0.0.1",
        "10.0.0.1",
    ],
)
def test_other_addresses_are_rejected(ip: str) -> None:
    assert not is_allowed_source(ip, DEFAULT)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        " ",
        "abc",
        "185.71.76.1, 10.0.0.1",  # a raw X-Forwarded-For list is not an address
        "185.71.76.0/27",
        "185.71.76.1:443",
        "185.071.076.001",
        "999.71.76.1",
        "2a02:5180::1%eth0",  # zone ids are link-local only
        "fe80::1%1",
        "1" * 100,
        None,
        185_71_76_1,
        b"185.71.76.1",
        ["185.71.76.1"],
    ],
)
def test_garbage_is_rejected_never_raises(garbage: object) -> None:
    assert parse_source_ip(garbage) is None
    assert not is_allowed_source(garbage, DEFAULT)


def test_mapped_ipv6_is_unwrapped_to_ipv4() -> None:
    assert parse_source_ip("::ffff:185.71.76.1") == ipaddress.IPv4Address("185.71.76.1")
    assert parse_source_ip("2a02:5180::1") == ipaddress.IPv6Address("2a02:5180::1")


def test_loopback_passes_only_when_configured() -> None:
    local = Settings.from_env(
        {"TABLE_NAME": "t", "FRONTEND_URL": "http://x", "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32,::1/128"}
    ).networks
    assert is_allowed_source("127.0.0.1", local)
    assert is_allowed_source("::1", local)
    assert is_allowed_source("::ffff:127.0.0.1", local)
    assert not is_allowed_source("127.0.0.2", local)
    assert not is_allowed_source("185.71.76.1", local)


def test_an_empty_allow_list_allows_nothing() -> None:
    assert not is_allowed_source("185.71.76.1", ())


def test_the_default_list_is_yookassas_published_one() -> None:
    assert tuple(str(n) for n in DEFAULT) == tuple(
        str(ipaddress.ip_network(n, strict=False)) for n in YOOKASSA_NETWORKS
    )
