"""The cap stage below the player on the ALSA path (the one a Raspberry Pi service uses).

The appliance writes a small ALSA config defining the PCM `therapy_room`: a `route` stage with
a fixed gain in front of the configured device, at the cap less the track headroom (levels.py).
Whatever libVLC does, including a first buffer played at 100 %, one player cannot come out
louder than a track at the cap, and two together not louder than the cap itself: the stage is
per stream (ALSA mixes the streams after it), so that is what it can promise. The file is
added to ALSA's search path (ALSA_CONFIG_PATH) for this process only, before libVLC starts.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import zlib
from pathlib import Path
from typing import Optional

from ..levels import db_to_amplitude

PCM_NAME = "therapy_room"
SYSTEM_ALSA_CONF = "/usr/share/alsa/alsa.conf"


def cap_stage_conf(device: str, stage_db: float, buffer_ms: float = 40, room_id: str = "") -> str:
    """The ALSA config text: plug -> route (fixed cap gain) -> [own dmix ->] device.

    A `hw:`/`plughw:` device gets a dmix of the appliance's own in front of it, so both
    channels (each its own libVLC player) can play at once, with a small buffer: libVLC applies
    its volume before that buffer, so the buffer is how late a fade is heard (ALSA's stock dmix
    holds 16 x 1024 frames, 341 ms at 48 kHz).
    """
    gain = db_to_amplitude(stage_db)
    slave = f'"{device}"'
    mixer = ""
    if device.startswith(("hw:", "plughw:")):
        hw = "hw:" + device.split(":", 1)[1]
        period = 256 if buffer_ms < 30 else 512
        frames = max(2 * period, int(48000 * buffer_ms / 1000) // period * period)
        key = 0x7E5000 + (zlib.crc32(room_id.encode()) & 0xFFF)
        mixer = f"""pcm.{PCM_NAME}_mix {{
    type dmix
    ipc_key {key}
    ipc_perm 0660
    slave {{
        pcm "{hw}"
        rate 48000
        channels 2
        period_size {period}
        buffer_size {frames}
    }}
}}
"""
        slave = f'"{PCM_NAME}_mix"'
    return f"""# Written by the therapy-room appliance at start; edits are overwritten.
pcm.{PCM_NAME} {{
    type plug
    slave.pcm "{PCM_NAME}_cap"
}}
pcm.{PCM_NAME}_cap {{
    type route
    slave {{
        pcm {{ type plug slave.pcm {slave} }}
        channels 2
    }}
    ttable.0.0 {gain:.6f}
    ttable.1.1 {gain:.6f}
}}
{mixer}"""


def install_cap_stage(runtime_dir: Path, device: str, stage_db: float, buffer_ms: float = 40,
                      room_id: str = "") -> str:
    """Write the cap stage and point this process's ALSA at it. Returns the PCM name."""
    runtime_dir.mkdir(parents=True, exist_ok=True)
    conf = runtime_dir / "alsa-cap.conf"
    tmp = conf.with_suffix(".tmp")
    tmp.write_text(cap_stage_conf(device, stage_db, buffer_ms, room_id))
    os.replace(tmp, conf)
    base = os.environ.get("ALSA_CONFIG_PATH", SYSTEM_ALSA_CONF)
    parts = [p for p in base.split(":") if p and p != str(conf)]
    os.environ["ALSA_CONFIG_PATH"] = ":".join(parts + [str(conf)])
    return PCM_NAME


def probe(pcm_name: str) -> Optional[str]:
    """Open and close the ALSA PCM once: None when it works, else why not (one line).

    libVLC reports a track as playing even when its audio output cannot open, so the
    appliance checks the output itself and shows a fault instead of pretending.
    """
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("asound") or "libasound.so.2")
    except OSError as exc:
        return f"ALSA library not found ({exc})"
    lib.snd_strerror.restype = ctypes.c_char_p
    handle = ctypes.c_void_p()
    stream_playback, nonblock = 0, 1
    rc = lib.snd_pcm_open(ctypes.byref(handle), pcm_name.encode(), stream_playback, nonblock)
    if rc < 0:
        return f"ALSA device {pcm_name!r} cannot be opened: {lib.snd_strerror(rc).decode()}"
    lib.snd_pcm_close(handle)
    return None
