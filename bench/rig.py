"""The listening rigs the benches share: a private PulseAudio null sink, the Pi-like ALSA sink,
and the test tones."""
from __future__ import annotations

import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import write_test_tones  # noqa: E402
from tests.sinks import PipeWireRig, PulseServer, serving  # noqa: E402


def pct(values, p):
    """The p-th percentile, interpolated."""
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


@contextmanager
def listening_rig():
    """Yields (pulse, tones folder, scratch folder); libVLC in this process plays to the sink."""
    with both_sinks(pi=False) as ((pulse,), tones, folder):
        yield pulse, tones, folder


@contextmanager
def both_sinks(pi: bool = True):
    """Yields ([pulse, Pi-like rig], tones folder, scratch folder)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        servers = [PulseServer(folder / "pulse")] + ([PipeWireRig(folder / "rig")] if pi else [])
        with serving(*servers) as started:
            tones = folder / "tones"
            tones.mkdir()
            write_test_tones(tones)
            yield started, tones, folder


def stamp_welcome_commands(control) -> list:
    """Record (monotonic) when the control socket hands each welcome to the daemon."""
    stamps = []
    answer = control.answer

    def stamped(line):
        if b'"welcome"' in line:
            stamps.append(time.monotonic())
        return answer(line)
    control.answer = stamped
    return stamps
