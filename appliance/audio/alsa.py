"""The cap stage below the player on the ALSA path (the one a Raspberry Pi service uses).

The appliance writes a small ALSA config defining the PCM `therapy_room`: a `route` stage with
a fixed gain equal to the room cap, in front of the configured device. Whatever libVLC does,
including a first buffer played at 100 %, cannot come out louder than the cap. The file is
added to ALSA's search path (ALSA_CONFIG_PATH) for this process only, before libVLC starts.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..levels import db_to_amplitude

PCM_NAME = "therapy_room"
SYSTEM_ALSA_CONF = "/usr/share/alsa/alsa.conf"


def cap_stage_conf(device: str, cap_db: float) -> str:
    gain = db_to_amplitude(cap_db)
    return f"""# Written by the therapy-room appliance at start; edits are overwritten.
pcm.{PCM_NAME} {{
    type plug
    slave.pcm "{PCM_NAME}_cap"
}}
pcm.{PCM_NAME}_cap {{
    type route
    slave {{
        pcm {{ type plug slave.pcm "{device}" }}
        channels 2
    }}
    ttable.0.0 {gain:.6f}
    ttable.1.1 {gain:.6f}
}}
"""


def install_cap_stage(runtime_dir: Path, device: str, cap_db: float) -> str:
    """Write the cap stage and point this process's ALSA at it. Returns the PCM name."""
    runtime_dir.mkdir(parents=True, exist_ok=True)
    conf = runtime_dir / "alsa-cap.conf"
    tmp = conf.with_suffix(".tmp")
    tmp.write_text(cap_stage_conf(device, cap_db))
    os.replace(tmp, conf)
    base = os.environ.get("ALSA_CONFIG_PATH", SYSTEM_ALSA_CONF)
    parts = [p for p in base.split(":") if p and p != str(conf)]
    os.environ["ALSA_CONFIG_PATH"] = ":".join(parts + [str(conf)])
    return PCM_NAME
