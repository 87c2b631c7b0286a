"""Command-line verbs this adapter adds to `appliance`."""
from __future__ import annotations


def register(sub, common):
    """Add subparsers to `sub` (argparse); `common` carries --config/--socket."""
