"""The sound cards a Pi has, read from /proc/asound, and which one a therapy room should use.

Kinds, in the order the appliance prefers them:
- `usb`: a USB DAC or USB speakers (`USB-Audio`);
- `hat`: an I2S HAT or any other card on the board (HiFiBerry, IQaudio, ...);
- `jack`: the Pi 3/4 3.5 mm jack (bcm2835 "Headphones"; a Pi 5 has none);
- `hdmi`: vc4-hdmi. It takes only IEC958 subframes and one stream at a time, so the
  appliance's own mixer (dmix) cannot open it and a crossfade would find it busy: listed, but
  refused with what to do instead.

The device string for a card is `hw:CARD=<id>,DEV=<n>`: ALSA's stable name (card numbers can
change between boots), and a `hw:` device gets the appliance's own small mixer (alsa.py).
"""
from __future__ import annotations

import ctypes
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

KIND_ORDER = ("usb", "hat", "jack", "hdmi")
_CARD_LINE = re.compile(r"^\s*(\d+)\s+\[(\S+)\s*\]:\s+(\S+)\s+-\s+(.*?)\s*$")
_HW_NAME = re.compile(r"^(?:plug)?hw:(?:CARD=)?([^,]+)(?:,(?:DEV=)?(\d+))?$")
SOUND_SERVERS = ("pipewire", "pulse", "jack")


def asound_root() -> Path:
    """Where the cards are listed (a test gives a folder of its own)."""
    return Path(os.environ.get("APPLIANCE_ASOUND_ROOT", "/proc/asound"))


@dataclass(frozen=True)
class Card:
    index: int
    id: str
    driver: str
    name: str
    kind: str
    playback: tuple[int, ...]  # PCM device numbers that play

    @property
    def device(self) -> str:
        return f"hw:CARD={self.id},DEV={self.playback[0] if self.playback else 0}"

    @property
    def usable(self) -> bool:
        return self.kind != "hdmi" and bool(self.playback)


def _kind(root: Path, index: int, card_id: str, driver: str, name: str) -> str:
    text = f"{card_id} {driver} {name}".lower()
    if "hdmi" in text:
        return "hdmi"
    if driver == "USB-Audio" or (root / f"card{index}" / "usbid").exists():
        return "usb"
    if "headphones" in text or driver.startswith("bcm2835"):
        return "jack"
    return "hat"


def list_cards(root: Optional[Path] = None) -> list[Card]:
    """Every card ALSA knows, best first (see KIND_ORDER), then by card number."""
    root = root or asound_root()
    try:
        lines = (root / "cards").read_text().splitlines()
    except OSError:
        return []  # no sound driver at all
    cards = []
    for line in lines:
        match = _CARD_LINE.match(line)
        if not match:
            continue
        index, card_id, driver, name = int(match[1]), match[2], match[3], match[4]
        folder = root / f"card{index}"
        playback = sorted(int(m[1]) for p in (folder.iterdir() if folder.is_dir() else ())
                          if (m := re.fullmatch(r"pcm(\d+)p", p.name)))
        cards.append(Card(index, card_id, driver, name,
                          _kind(root, index, card_id, driver, name), tuple(playback)))
    return sorted(cards, key=lambda c: (KIND_ORDER.index(c.kind), c.index))


def pick_device(cards: list[Card]) -> Optional[str]:
    """The device string of the best usable card, or None."""
    usable = [c for c in cards if c.usable]
    return usable[0].device if usable else None


def card_of(device: str, cards: list[Card]) -> Optional[Card]:
    """The card a `hw:`/`plughw:` device string names (by id or number), if listed."""
    match = _HW_NAME.match(device)
    if not match:
        return None
    name = match[1]
    for card in cards:
        if card.id == name or (name.isdigit() and card.index == int(name)):
            return card
    return None


def default_sound_server() -> Optional[str]:
    """The sound server ALSA's `default` leads to in this process ('pipewire', 'pulse'), if
    any. A system service cannot reach a logged-in user's server ("Host is down")."""
    try:
        lib = ctypes.CDLL("libasound.so.2")
    except OSError:
        return None
    if lib.snd_config_update() < 0:
        return None
    top = ctypes.c_void_p.in_dll(lib, "snd_config")
    node, text = ctypes.c_void_p(), ctypes.c_char_p()
    if lib.snd_config_search(top, b"pcm.default.type", ctypes.byref(node)) < 0:
        return None  # the stock default: the first card, through plughw
    if lib.snd_config_get_string(node, ctypes.byref(text)) < 0 or not text.value:
        return None
    kind = text.value.decode(errors="replace")
    return kind if kind in SOUND_SERVERS else None


def device_problem(device: str, cards: list[Card]) -> Optional[str]:
    """Why `device` cannot be the room's output, with what to do instead; None if it can."""
    fix = "set audio.alsa_device to a card's name (`appliance audio devices` lists them)"
    if device in ("default", "sysdefault") and (server := default_sound_server()):
        return (f"audio.alsa_device {device!r} goes to {server}, a desktop user's sound "
                f"server that a system service cannot reach: {fix}")
    card = card_of(device, cards)
    if card is not None and card.kind == "hdmi":
        others = [c.device for c in cards if c.usable]
        instead = f"use {others[0]}" if others else "use the 3.5 mm jack, a USB DAC or an I2S HAT"
        return (f"audio.alsa_device {device!r} is HDMI ({card.driver}): it plays one stream "
                f"at a time and the appliance's mixer cannot open it, so the ambient bed and "
                f"the welcome song cannot cross over: {instead}")
    return None
