"""The listening rig the benches share: a private PulseAudio null sink and the test tones."""
from __future__ import annotations

import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import write_test_tones  # noqa: E402
from tests.sinks import PulseServer  # noqa: E402


def pct(values, p):
    """The p-th percentile, interpolated."""
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


@contextmanager
def listening_rig():
    """Yields (pulse, tones folder, scratch folder); libVLC in this process plays to the sink."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pulse = PulseServer(folder / "pulse").start()
        saved = {k: os.environ.get(k) for k in pulse.env}
        os.environ.update(pulse.env)
        try:
            tones = folder / "tones"
            tones.mkdir()
            write_test_tones(tones)
            yield pulse, tones, folder
        finally:
            pulse.stop()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


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
