"""Choosing the room's output path from config and opening libVLC on it, once, at start-up.

- `alsa` (a Pi as a service): libVLC -> the appliance's cap stage -> the configured device,
  watched for going away (watch.py);
- `pulse`: a desktop's PulseAudio or PipeWire (the demo);
- `auto`: PulseAudio when its socket is there, else ALSA.
"""
from __future__ import annotations

import os
from ..levels import TRACK_HEADROOM_DB
from .alsa import install_cap_stage
from .vlc_output import VlcAudio
from .watch import DeviceWatch, device_probe


def pulse_reachable() -> bool:
    if os.environ.get("PULSE_SERVER"):
        return True
    for base in (os.environ.get("PULSE_RUNTIME_PATH"),
                 os.path.join(os.environ.get("XDG_RUNTIME_DIR", ""), "pulse")):
        if base and os.path.exists(os.path.join(base, "native")):
            return True
    return False


def open_audio(audio_cfg, submit, runtime_dir, cap_db: float, room_id: str = "") -> VlcAudio:
    output = audio_cfg.output
    if output == "auto":
        output = "pulse" if pulse_reachable() else "alsa"
    if output == "alsa":
        # each player at most a track at the cap, so any two together at most the cap
        stage_db = cap_db - TRACK_HEADROOM_DB
        pcm = install_cap_stage(runtime_dir, audio_cfg.alsa_device, stage_db,
                                audio_cfg.alsa_buffer_ms, room_id)
        watch = DeviceWatch(device_probe(audio_cfg.alsa_device, pcm))
        audio = VlcAudio(["--aout=alsa", f"--alsa-audio-device={pcm}"], submit, cap_db,
                         stage_db=stage_db, output_name=f"alsa:{audio_cfg.alsa_device}",
                         watch=watch)
        audio.output_fault = watch.problem
        return audio
    audio = VlcAudio(["--aout=pulse"], submit, cap_db, output_name="pulse")
    if not pulse_reachable():
        audio.output_fault = "PulseAudio is not reachable (no server socket)"
    return audio
