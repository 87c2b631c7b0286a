"""The [web] section: where the phone panel listens and how strict it is.

The panel runs only when config.toml has a [web] section (and `enabled` is not false), so a
config without one, like the ones other adapters' tests use, never opens a port.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

from ..schema import Problems, Section, key

SECTIONS = ("web",)
SELF = "self"  # in allowed_hosts: the box's own addresses, hostname, <hostname>.local, localhost
_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_-]{1,63})*\.?$")


def _host_problem(host: str) -> Optional[str]:
    if not host.strip() or any(ch.isspace() or ch in "/\\" for ch in host):
        return f"not an address to listen on: {host!r}"
    return None


@dataclass(frozen=True)
class WebConfig:
    host: str = key("0.0.0.0", check=_host_problem)  # behind_proxy: 127.0.0.1 unless given
    port: int = key(8080, 0, 65535, kind="whole")  # 0 picks a free port (tests)
    allowed_hosts: tuple = (SELF,)  # names the browser may use for the panel (Host header)
    session_hours: float = key(12, 0.05, 24 * 30)  # a login lasts this long, then it asks again
    session_idle_minutes: float = key(120, 1, 24 * 60 * 30)  # ... or less, when no page used it
    login_attempts: int = key(5, 1, 100, kind="whole")  # wrong passphrases per client: backoff
    login_attempts_total: int = key(30, 1, 1000, kind="whole")  # ... from all, in the window:
    login_window_s: float = key(60, 1, 24 * 3600)  # ... past that, "many failed logins"
    login_backoff_max_s: float = key(60, 1, 3600)  # a client's backoff doubles up to this
    commands_per_minute: int = key(120, 1, 10000, kind="whole")  # per client: no flood
    event_streams: int = key(20, 1, 200, kind="whole")  # live pages at once; each holds a thread
    threads: int = key(32, 4, 256, kind="whole")  # waitress workers (live pages + requests)
    request_timeout_s: float = key(5, 1, 300)     # a request must arrive whole within this
    idle_timeout_s: float = key(30, 1, 3600)      # an idle keep-alive connection is closed
    connections_per_client: int = key(10, 2, 1000, kind="whole")  # open from one address
    connections_total: int = key(200, 10, 5000, kind="whole")    # open in all
    behind_proxy: bool = key(False)   # an HTTPS reverse proxy on this box talks to the panel
    secure_cookies: bool = key(False)  # __Host- cookies with Secure (HTTPS only; behind_proxy)


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


def _allowed_hosts(s: Section, problems: Problems) -> tuple:
    hosts = s.raw("allowed_hosts", list(WebConfig.allowed_hosts))
    if not isinstance(hosts, list) or not hosts or not all(isinstance(h, str) for h in hosts):
        problems.add("web.allowed_hosts", 'must be a list of host names or addresses, e.g. '
                                          '["self", "panel.clinic.lan"]')
        return WebConfig.allowed_hosts
    for name in hosts:
        why = host_problem(name)
        if why:
            problems.add("web.allowed_hosts", why)
    return tuple(h.lower().rstrip(".").strip("[]") for h in hosts)


def parse(data: dict, problems: Problems, base: Path, library=None) -> Optional[WebConfig]:
    """Return the panel's config, or None when there is no [web] section or it is disabled."""
    if "web" not in data:
        return None
    s = Section("web", data.get("web"), problems)
    enabled = s.boolean("enabled", True)
    cfg = WebConfig(**s.read(WebConfig), allowed_hosts=_allowed_hosts(s, problems))
    if cfg.behind_proxy:  # the proxy is the way in: loopback and Secure unless said otherwise
        cfg = replace(cfg, host=cfg.host if "host" in s.given else "127.0.0.1",
                      secure_cookies=cfg.secure_cookies if "secure_cookies" in s.given else True)
        if not _loopback(cfg.host):
            problems.add("web.host", f"behind a proxy the panel must listen on loopback only "
                                     f"(127.0.0.1 or ::1), not {cfg.host!r}: otherwise phones "
                                     "could reach it around the proxy")
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
