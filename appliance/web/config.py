"""The [web] section: where the phone panel listens and how strict it is.

The panel runs only when config.toml has a [web] section (and `enabled` is not false), so a
config without one, like the ones other adapters' tests use, never opens a port.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..schema import Problems, Section

SECTIONS = ("web",)


@dataclass(frozen=True)
class WebConfig:
    host: str = "0.0.0.0"
    port: int = 8080                  # 0 picks a free port (tests)
    session_hours: float = 12         # a login lasts this long, then the phone asks again
    login_attempts: int = 5           # failed logins per client within login_window_s
    login_attempts_total: int = 30    # failed logins from all clients within the window
    login_window_s: float = 60
    commands_per_minute: int = 120    # per client: a stuck script cannot flood the room
    event_streams: int = 20           # open live pages (SSE) at once; each holds a thread
    threads: int = 32                 # waitress worker threads (live pages + requests)
    request_timeout_s: float = 10     # a request must arrive whole within this time
    idle_timeout_s: float = 30        # an idle keep-alive connection is closed after this
    secure_cookies: bool = False      # true only behind an HTTPS proxy


def parse(data: dict, problems: Problems, base: Path) -> Optional[WebConfig]:
    """Return the panel's config, or None when there is no [web] section or it is disabled."""
    if "web" not in data:
        return None
    s = Section("web", data.get("web"), problems)
    enabled = s.boolean("enabled", True)
    d = WebConfig()
    cfg = WebConfig(
        host=s.string("host", d.host),
        port=int(s.number("port", d.port, 0, 65535)),
        session_hours=s.number("session_hours", d.session_hours, 0.05, 24 * 30),
        login_attempts=int(s.number("login_attempts", d.login_attempts, 1, 100)),
        login_attempts_total=int(s.number("login_attempts_total", d.login_attempts_total,
                                          1, 1000)),
        login_window_s=s.number("login_window_s", d.login_window_s, 1, 24 * 3600),
        commands_per_minute=int(s.number("commands_per_minute", d.commands_per_minute,
                                         1, 10000)),
        event_streams=int(s.number("event_streams", d.event_streams, 1, 200)),
        threads=int(s.number("threads", d.threads, 4, 256)),
        request_timeout_s=s.number("request_timeout_s", d.request_timeout_s, 1, 300),
        idle_timeout_s=s.number("idle_timeout_s", d.idle_timeout_s, 1, 3600),
        secure_cookies=s.boolean("secure_cookies", d.secure_cookies),
    )
    if not cfg.host.strip() or any(ch.isspace() or ch in "/\\" for ch in cfg.host):
        problems.add("web.host", f"not an address to listen on: {cfg.host!r}")
    if cfg.threads < cfg.event_streams + 4:
        problems.add("web.threads", f"{cfg.threads} is too few for web.event_streams = "
                                    f"{cfg.event_streams}: each live page holds a thread; "
                                    f"use at least {cfg.event_streams + 4}")
    s.finish()
    return cfg if enabled else None
