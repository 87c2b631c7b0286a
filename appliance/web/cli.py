"""`appliance set-passphrase` and `appliance api-token`: the panel's credentials.

Both write into the config's state directory, which the daemon watches: a new passphrase
works at once (and logs out every phone), a revoked token stops working at once.
"""
from __future__ import annotations

import sys


def register(sub, common):
    s = sub.add_parser("set-passphrase", parents=[common],
                       help="set the phone panel's passphrase (read from standard input)")
    s.set_defaults(func=cmd_set_passphrase)
    s = sub.add_parser("api-token", parents=[common],
                       help="make a new API token for scripts (Authorization: Bearer), "
                            "replacing the old one")
    s.add_argument("--revoke", action="store_true", help="remove the token; make no new one")
    s.set_defaults(func=cmd_api_token)


def _config(args):
    from ..config import default_config_path, load_config
    return load_config(args.config or default_config_path(), check_media=False)


def cmd_set_passphrase(args) -> int:
    import getpass

    from . import secrets_store
    cfg = _config(args)
    state_dir = cfg.state_dir
    if sys.stdin.isatty():
        passphrase = getpass.getpass("New panel passphrase: ")
        if getpass.getpass("Once more: ") != passphrase:
            print("set-passphrase: the two passphrases differ; nothing changed", file=sys.stderr)
            return 1
    else:
        passphrase = sys.stdin.readline()
    try:
        secrets_store.set_passphrase(state_dir, passphrase, own_words=(cfg.room_id, cfg.room_name))
    except secrets_store.PassphraseError as exc:
        print(f"set-passphrase: {exc}; nothing changed", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"set-passphrase: cannot write {state_dir}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"passphrase stored (as a salted scrypt hash) in "
          f"{state_dir / secrets_store.PASSPHRASE_FILE}; the running panel uses it at once, "
          f"and phones must log in again")
    return 0


def cmd_api_token(args) -> int:
    from . import secrets_store
    state_dir = _config(args).state_dir
    try:
        if args.revoke:
            gone = secrets_store.revoke_api_token(state_dir)
            print("API token revoked" if gone else "there was no API token")
            return 0
        token = secrets_store.new_api_token(state_dir)
    except OSError as exc:
        print(f"api-token: cannot write {state_dir}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(token)
    print("(shown only now; send it as 'Authorization: Bearer <token>'; any older token no "
          "longer works)", file=sys.stderr)
    return 0
