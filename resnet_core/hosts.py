"""The Host names this machine's servers answer (the app on a class server, serve, the Deploy
service): localhost, this machine's name and addresses, the address a server is bound to, and
what RESNET_WORKBENCH_HOSTS adds. Anything else (a DNS rebinding page, a foreign proxy) is
refused, so a page on another site cannot read what a server on this machine answers."""

from __future__ import annotations

import ipaddress
import socket

from resnet_core.settings import settings


def allowed_hosts(bind_address: str | None = None) -> list[str]:
    """The Host names to answer, lower-case, without ports."""
    names = {"localhost", "127.0.0.1", "::1"}
    try:
        hostname = socket.gethostname()
        names |= {hostname.lower(), socket.getfqdn().lower()}
        names |= {info[4][0] for info in socket.getaddrinfo(hostname, None)}
    except OSError:
        pass
    try:  # the address other machines reach this one at (no packet is sent)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.254.254.254", 1))
            names.add(probe.getsockname()[0])
    except OSError:
        pass
    if bind_address and bind_address not in ("0.0.0.0", "::", ""):
        names.add(bind_address.lower())
    names |= {h.lower() for h in settings().hosts}
    return sorted(names)


def host_name(header: str) -> str:
    """The name in a Host header, without its port: "[::1]:8501" -> "::1"."""
    header = header.strip().lower()
    if header.startswith("["):
        end = header.find("]")
        return header[1:end] if end > 0 else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def address_key(address: str) -> str:
    """What a client is counted by: its IPv4 address; an IPv6 client by its /64 network (one
    host is given a whole /64 and may send from any address in it); an IPv4-mapped IPv6
    address as the IPv4 it is; anything else (a Unix socket, "unknown") as it is."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
