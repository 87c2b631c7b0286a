"""The [web] section: where the phone panel listens and how strict it is.

The panel runs only when config.toml has a [web] section (and `enabled` is not false), so a
config without one, like the ones other adapters' tests use, never opens a port.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..schema import Problems, Section

SECTIONS = ("web",)
SELF = "self"  # in allowed_hosts: the box's own addresses, hostname, <hostname>.local, localhost
_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_-]{1,63})*\.?$")


@dataclass(frozen=True)
class WebConfig:
    host: str = "0.0.0.0"
    port: int = 8080                  # 0 picks a free port (tests)
    allowed_hosts: tuple = (SELF,)    # names the browser may use for the panel (Host header)
    session_hours: float = 12         # a login lasts this long, then the phone asks again
    session_idle_minutes: float = 120  # ... or ends sooner when no page used it for this long
    login_attempts: int = 5           # wrong passphrases per client before its backoff starts
    login_attempts_total: int = 30    # wrong passphrases from all clients within the window:
    login_window_s: float = 60        # ... past that, "many failed logins" and a slow-down
    login_backoff_max_s: float = 60   # a client's backoff doubles up to this
    commands_per_minute: int = 120    # per client: a stuck script cannot flood the room
    event_streams: int = 20           # open live pages (SSE) at once; each holds a thread
    threads: int = 32                 # waitress worker threads (live pages + requests)
    request_timeout_s: float = 5      # a request must arrive whole within this time
    idle_timeout_s: float = 30        # an idle keep-alive connection is closed after this
    connections_per_client: int = 10  # open connections from one address
    connections_total: int = 200      # open connections in all
    behind_proxy: bool = False        # an HTTPS reverse proxy on this box talks to the panel
    secure_cookies: bool = False      # __Host- cookies with Secure (HTTPS only)


def host_problem(name: str) -> Optional[str]:
    """Why `name` cannot be an entry of allowed_hosts, or None."""
    if name == SELF:
        return None
    try:
        ipaddress.ip_address(name.strip("[]"))
        return None
    except ValueError:
        pass
    if not _HOST_NAME.match(name) or name.replace(".", "").isdigit():
        return (f"not a host name or address: {name!r} (no scheme, port or wildcard, e.g. "
                "\"panel.clinic.lan\" or \"192.168.1.20\")")
    return None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse(data: dict, problems: Problems, base: Path) -> Optional[WebConfig]:
    """Return the panel's config, or None when there is no [web] section or it is disabled."""
    if "web" not in data:
        return None
    s = Section("web", data.get("web"), problems)
    enabled = s.boolean("enabled", True)
    d = WebConfig()
    hosts = s.raw("allowed_hosts", list(d.allowed_hosts))
    if not isinstance(hosts, list) or not hosts or not all(isinstance(h, str) for h in hosts):
        problems.add("web.allowed_hosts", 'must be a list of host names or addresses, e.g. '
                                          '["self", "panel.clinic.lan"]')
        hosts = list(d.allowed_hosts)
    for name in hosts:
        why = host_problem(name)
        if why:
            problems.add("web.allowed_hosts", why)
    behind_proxy = s.boolean("behind_proxy", d.behind_proxy)
    cfg = WebConfig(
        host=s.string("host", "127.0.0.1" if behind_proxy else d.host),
        port=int(s.number("port", d.port, 0, 65535)),
        allowed_hosts=tuple(h.lower().rstrip(".").strip("[]") for h in hosts),
        session_hours=s.number("session_hours", d.session_hours, 0.05, 24 * 30),
        session_idle_minutes=s.number("session_idle_minutes", d.session_idle_minutes,
                                      1, 24 * 60 * 30),
        login_attempts=int(s.number("login_attempts", d.login_attempts, 1, 100)),
        login_attempts_total=int(s.number("login_attempts_total", d.login_attempts_total,
                                          1, 1000)),
        login_window_s=s.number("login_window_s", d.login_window_s, 1, 24 * 3600),
        login_backoff_max_s=s.number("login_backoff_max_s", d.login_backoff_max_s, 1, 3600),
        commands_per_minute=int(s.number("commands_per_minute", d.commands_per_minute,
                                         1, 10000)),
        event_streams=int(s.number("event_streams", d.event_streams, 1, 200)),
        threads=int(s.number("threads", d.threads, 4, 256)),
        request_timeout_s=s.number("request_timeout_s", d.request_timeout_s, 1, 300),
        idle_timeout_s=s.number("idle_timeout_s", d.idle_timeout_s, 1, 3600),
        connections_per_client=int(s.number("connections_per_client",
                                            d.connections_per_client, 2, 1000)),
        connections_total=int(s.number("connections_total", d.connections_total, 10, 5000)),
        behind_proxy=behind_proxy,
        secure_cookies=s.boolean("secure_cookies", behind_proxy),
    )
    if not cfg.host.strip() or any(ch.isspace() or ch in "/\\" for ch in cfg.host):
        problems.add("web.host", f"not an address to listen on: {cfg.host!r}")
    elif behind_proxy and not _loopback(cfg.host):
        problems.add("web.host", f"behind a proxy the panel must listen on loopback only "
                                 f"(127.0.0.1 or ::1), not {cfg.host!r}: otherwise phones could "
                                 "reach it around the proxy")
    if cfg.threads < cfg.event_streams + 4:
        problems.add("web.threads", f"{cfg.threads} is too few for web.event_streams = "
                                    f"{cfg.event_streams}: each live page holds a thread; "
                                    f"use at least {cfg.event_streams + 4}")
    if cfg.connections_total < cfg.event_streams + 10:
        problems.add("web.connections_total", f"{cfg.connections_total} is too few for "
                                              f"web.event_streams = {cfg.event_streams}; use at "
                                              f"least {cfg.event_streams + 10}")
    s.finish()
    return cfg if enabled else None
