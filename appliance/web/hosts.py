"""Which names the panel answers to: the Host allow-list against DNS rebinding.

A page on evil.example can make its own name point at the box (DNS rebinding): the phone's
browser then sends the panel requests with `Host: evil.example` and counts the answers as
evil.example's own, Origin and all. So a request whose Host is not one of the box's own names
is answered 421 before any route runs.

"self" (the default) stands for: the box's current addresses (an IP literal is the box's own
when a socket can be bound to it, which follows DHCP changes without a restart), its hostname,
`<hostname>.local` (mDNS) and localhost.
"""
from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from typing import Optional

from .config import SELF

OWN_ADDRESS_TTL_S = 30   # how long "is this address the box's own?" is remembered
MAX_REMEMBERED = 256


def host_name(header: Optional[str]) -> Optional[str]:
    """'Box.local:8080' -> 'box.local', '[fe80::1]:80' -> 'fe80::1'; None if malformed."""
    if not header or len(header) > 300 or any(ch.isspace() for ch in header):
        return None
    header = header.lower()
    if header.startswith("["):
        end = header.find("]")
        if end < 0 or (header[end + 1:] and not header[end + 1:].startswith(":")):
            return None
        name, port = header[1:end], header[end + 2:]
    else:
        name, _, port = header.partition(":")
    if port and not port.isdigit():
        return None
    return name.rstrip(".") or None


class AllowedHosts:
    def __init__(self, entries, hostname: Optional[str] = None):
        self.names = {e for e in entries if e != SELF}
        self.own = SELF in entries
        name = (hostname or socket.gethostname()).lower().rstrip(".")
        short = name.split(".", 1)[0]
        self.own_names = {"localhost", name, short, f"{short}.local", f"{name}.local"}
        self._lock = threading.Lock()
        self._addresses: dict = {}  # address -> (is own, checked at)

    def allows(self, header: Optional[str]) -> bool:
        name = host_name(header)
        if name is None:
            return False
        if name in self.names:
            return True
        if not self.own:
            return False
        return name in self.own_names or self._own_address(name)

    def _own_address(self, name: str) -> bool:
        try:
            ip = ipaddress.ip_address(name)
        except ValueError:
            return False
        now = time.monotonic()
        with self._lock:
            known = self._addresses.get(ip)
            if known and now - known[1] < OWN_ADDRESS_TTL_S:
                return known[0]
        own = _can_bind(ip)
        with self._lock:
            if len(self._addresses) >= MAX_REMEMBERED:
                self._addresses.clear()
            self._addresses[ip] = (own, now)
        return own


def _can_bind(ip) -> bool:
    """Only an address of this machine can be bound (EADDRNOTAVAIL otherwise)."""
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.bind((str(ip), 0))
        return True
    except OSError:
        return False


class HostGuard:
    """WSGI middleware: a request for another Host never reaches the app."""

    def __init__(self, app, hosts: AllowedHosts):
        self.app = app
        self.hosts = hosts

    def __call__(self, environ, start_response):
        header = environ.get("HTTP_HOST")
        if self.hosts.allows(header):
            return self.app(environ, start_response)
        status = "421 Misdirected Request" if header else "400 Bad Request"
        message = ("this panel does not answer to that name (see [web] allowed_hosts)"
                   if header else "the request has no Host header")
        body = json.dumps({"error": message}).encode()
        start_response(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(body))),
                                ("Cache-Control", "no-store"),
                                ("X-Content-Type-Options", "nosniff")])
        return [body]
