"""Is a notification's TCP peer one of YooKassa's networks? Pure: no I/O, no settings lookup.

YooKassa signs nothing, so the peer address is one of our two authenticity checks
(the other is re-fetching the object). The address must be the TCP peer as the platform saw it
(``requestContext.http.sourceIp``), never a header: ``X-Forwarded-For`` is whatever the sender wrote.
"""

import ipaddress
from collections.abc import Iterable

from payments.settings import Network

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_source_ip(source_ip: object) -> IPAddress | None:
    """The peer address, or ``None`` for anything that is not exactly one IP address.

    An IPv4-mapped IPv6 address (``::ffff:185.71.76.1``, what a dual-stack socket reports for an IPv4
    peer) is unwrapped to its IPv4 form, so it matches the IPv4 networks and nothing else. The official
    SDK (``yookassa.domain.common.SecurityHelper``) does not do this and rejects such peers.
    """
    if not isinstance(source_ip, str) or not source_ip or len(source_ip) > 64:
        return None
    try:
        address = ipaddress.ip_address(source_ip.strip())
    except ValueError:  # garbage, an empty string, a comma-separated X-Forwarded-For list, a CIDR
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:  # fe80::1%eth0: link-local with a zone, never YooKassa
            return None
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
    return address


def is_allowed_source(source_ip: object, networks: Iterable[Network]) -> bool:
    """True only when the peer parses and lies inside one of ``networks``.

    Loopback and private addresses get no special treatment: they pass only when configured, which the
    default (YooKassa's published list) never does.
    """
    address = parse_source_ip(source_ip)
    if address is None:
        return False
    return any(address.version == network.version and address in network for network in networks)
