"""The panel's passphrase and API token, stored only as hashes in the state directory.

The passphrase is hashed with scrypt (a memory-hard KDF) and a random salt: a stolen SD card
does not give it away cheaply. The API token is 256 random bits, so a plain SHA-256 of it is
already out of reach of guessing, and checking it stays cheap for scripts that poll.

Files are written as a power cut expects: temp file, fsync, os.replace, fsync the folder;
mode 0600 from birth. The daemon re-reads a file when it changes, so a new passphrase works at
once and every phone logged in with the old one must log in again.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..atomic import write_atomic

PASSPHRASE_FILE = "web-passphrase.json"
TOKEN_FILE = "web-token.json"
MIN_PASSPHRASE = 10
MAX_PASSPHRASE = 1024
MIN_SCORE = 3        # zxcvbn's scale 0-4; 3 = about 10^8 guesses or more
ESTIMATE_CHARS = 100  # zxcvbn's cost grows with length; past this a passphrase is long anyway
# words that make a passphrase easy to guess on this box in particular
OWN_WORDS = ("therapy", "room", "music", "panel", "appliance", "clinic", "welcome")
# scrypt cost: 16 MiB and roughly 0.1 s on a Pi 4 per try; with the login rate limit that
# keeps guessing slow even for a short PIN
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1


class PassphraseError(ValueError):
    pass


def _scrypt(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=128 * r * n * 2, dklen=32)


def check_new_passphrase(passphrase: str, own_words=()) -> str:
    """The passphrase as it will be stored, or PassphraseError saying why it is refused.

    Strength is judged by zxcvbn (Dropbox's estimator: dictionaries, keyboard walks, dates,
    repeats, l33t): a guest could try tens of thousands of guesses a day from many phones, so
    a 6-digit PIN or 'password123' would fall; three or four unrelated words do not.
    """
    passphrase = passphrase.strip("\r\n")
    if len(passphrase) < MIN_PASSPHRASE:
        raise PassphraseError(f"the passphrase must have at least {MIN_PASSPHRASE} characters "
                              f"(this one has {len(passphrase)})")
    if len(passphrase) > MAX_PASSPHRASE:
        raise PassphraseError(f"the passphrase must have at most {MAX_PASSPHRASE} characters")
    if "\0" in passphrase:
        raise PassphraseError("the passphrase must not contain a NUL character")
    from zxcvbn import zxcvbn  # its dictionaries load on first use: only for a new passphrase
    verdict = zxcvbn(passphrase[:ESTIMATE_CHARS], user_inputs=[*OWN_WORDS, *own_words])
    if verdict["score"] < MIN_SCORE:
        feedback = verdict.get("feedback") or {}
        why = (feedback.get("warning") or "it is easy to guess").rstrip(".")
        tips = " ".join(feedback.get("suggestions") or ())
        raise PassphraseError(
            f"the passphrase is too weak: {why[0].lower()}{why[1:]} (about "
            f"10^{verdict['guesses_log10']:.0f} guesses). {tips + ' ' if tips else ''}"
            "Three or four unrelated words, or 10 or more random characters, are strong")
    return passphrase


def set_passphrase(state_dir: Path, passphrase: str, own_words=()):
    passphrase = check_new_passphrase(passphrase, own_words)
    salt = secrets.token_bytes(16)
    record = {"kdf": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": salt.hex(),
              "hash": _scrypt(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P).hex()}
    write_atomic(Path(state_dir) / PASSPHRASE_FILE, json.dumps(record).encode())


def new_api_token(state_dir: Path) -> str:
    """Make a new API token, store its hash, return the token (shown to the person once)."""
    token = secrets.token_urlsafe(32)
    record = {"hash": "sha256", "digest": hashlib.sha256(token.encode()).hexdigest()}
    write_atomic(Path(state_dir) / TOKEN_FILE, json.dumps(record).encode())
    return token


def revoke_api_token(state_dir: Path) -> bool:
    path = Path(state_dir) / TOKEN_FILE
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


@dataclass(frozen=True)
class _Loaded:
    stamp: Optional[tuple]   # (mtime_ns, size, inode) of the file when read; None: missing
    record: Optional[dict]


class _Watched:
    """A small JSON file re-read whenever it changes on disk."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._loaded = _Loaded(None, None)

    def get(self) -> Optional[dict]:
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = None
        with self._lock:
            if stamp != self._loaded.stamp:
                self._loaded = _Loaded(stamp, self._read() if stamp else None)
            return self._loaded.record

    def _read(self) -> Optional[dict]:
        try:
            record = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None


class Credentials:
    """Checks a passphrase or an API token against the stored hashes."""

    def __init__(self, state_dir: Path):
        self.state_dir = Path(state_dir)
        self._passphrase = _Watched(self.state_dir / PASSPHRASE_FILE)
        self._token = _Watched(self.state_dir / TOKEN_FILE)

    def problem(self) -> Optional[str]:
        """Why no one could log in (no passphrase set, unreadable file), or None."""
        record = self._passphrase.get()
        if record is None:
            path = self.state_dir / PASSPHRASE_FILE
            if path.exists():
                return f"{path}: cannot read the stored passphrase; set it again"
            return ("no passphrase set: run `appliance set-passphrase` "
                    "(it reads the passphrase from standard input)")
        try:
            _ = (bytes.fromhex(record["salt"]), bytes.fromhex(record["hash"]),
                 int(record["n"]), int(record["r"]), int(record["p"]))
        except (KeyError, ValueError, TypeError):
            return f"{self.state_dir / PASSPHRASE_FILE}: damaged; set the passphrase again"
        return None

    def version(self) -> Optional[str]:
        """Changes whenever the passphrase does: logins made before a change end with it."""
        record = self._passphrase.get()
        return record.get("salt") if record else None

    def check_passphrase(self, passphrase) -> bool:
        record = self._passphrase.get()
        if record is None or self.problem() or not isinstance(passphrase, str):
            return False
        if not passphrase or len(passphrase) > MAX_PASSPHRASE:
            return False
        got = _scrypt(passphrase, bytes.fromhex(record["salt"]), int(record["n"]),
                      int(record["r"]), int(record["p"]))
        return hmac.compare_digest(got, bytes.fromhex(record["hash"]))

    def check_token(self, token: str) -> bool:
        record = self._token.get()
        if not record or not isinstance(record.get("digest"), str) or len(token) > 200:
            return False
        digest = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
        return hmac.compare_digest(digest, record["digest"])
