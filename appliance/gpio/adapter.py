"""Starting and stopping this adapter inside the daemon."""
from __future__ import annotations


def start(daemon):
    """Start the adapter from daemon.cfg; return a function that stops it, or None if off.

    Available: daemon.cfg (Config), daemon.engine (submit/status/subscribe),
    daemon.control (ControlSocket; add verbs to control.extra_verbs), daemon.adapters
    (what earlier adapters returned from expose(), by name).
    """
    return None
