"""The [web] section: where the phone panel listens and how strict it is.

The panel runs only when config.toml has a [web] section (and `enabled` is not false), so a
config without one, like the ones other adapters' tests use, never opens a port.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..schema import Problems, Section, key

SECTIONS = ("web",)


def _host_problem(host: str) -> Optional[str]:
    if not host.strip() or any(ch.isspace() or ch in "/\\" for ch in host):
        return f"not an address to listen on: {host!r}"
    return None


@dataclass(frozen=True)
class WebConfig:
    host: str = key("0.0.0.0", check=_host_problem)
    port: int = key(8080, 0, 65535, kind="whole")  # 0 picks a free port (tests)
    session_hours: float = key(12, 0.05, 24 * 30)  # a login lasts this long
    login_attempts: int = key(5, 1, 100, kind="whole")  # failed logins per client per window
    login_attempts_total: int = key(30, 1, 1000, kind="whole")  # ... from all clients
    login_window_s: float = key(60, 1, 24 * 3600)
    commands_per_minute: int = key(120, 1, 10000, kind="whole")  # per client
    event_streams: int = key(20, 1, 200, kind="whole")  # live pages at once; each holds a thread
    threads: int = key(32, 4, 256, kind="whole")  # waitress workers (live pages + requests)
    request_timeout_s: float = key(10, 1, 300)    # a request must arrive whole within this
    idle_timeout_s: float = key(30, 1, 3600)      # an idle keep-alive connection is closed
    secure_cookies: bool = key(False)             # true only behind an HTTPS proxy


def parse(data: dict, problems: Problems, base: Path, library=None) -> Optional[WebConfig]:
    """Return the panel's config, or None when there is no [web] section or it is disabled."""
    if "web" not in data:
        return None
    s = Section("web", data.get("web"), problems)
    enabled = s.boolean("enabled", True)
    cfg = WebConfig(**s.read(WebConfig))
    if cfg.threads < cfg.event_streams + 4:
        problems.add("web.threads", f"{cfg.threads} is too few for web.event_streams = "
                                    f"{cfg.event_streams}: each live page holds a thread; "
                                    f"use at least {cfg.event_streams + 4}")
    s.finish()
    return cfg if enabled else None
