"""Measuring a track with tools fit for a Pi, each in its own low-priority process.

- Loudness and length: ffmpeg's `ebur128` filter (EBU R128 integrated loudness, exact on
  reference sines; ~0.36 s and ~55 MB for a 5-minute track). It also proves the file decodes.
  A mono file counts as dual mono: it is heard from both speakers, like a stereo one.
- Tempo: aubio's beat tracker (`aubiotrack`, checked against `aubioonset`: Debian's
  aubio-tools, C, ~40 MB each, one after the other). aubio's own `aubio tempo` figure is a
  median over the whole file, which includes the seconds the tracker needs to lock on (60 BPM
  came out as 75 on a 20 s click track); the tempo here is 60 / the mean steady beat interval
  once it has locked (within 0.2 % on the same tracks).

The tools run under `nice -n 19` and `ionice -c 3` (idle I/O class): the daemon's playback
never waits for them, and their memory is never the daemon's. The systemd unit allows
lowering one's own priority for this (SystemCallFilter=setpriority ioprio_set).
"""
from __future__ import annotations

import re
import shutil
import statistics
import subprocess
from typing import Optional, Sequence

from ..errors import ApplianceError

TOOL_TIMEOUT_S = 300.0     # a 1-hour file takes ~70 s on a Pi 4; anything longer is stuck
LOCK_SKIP_S = 10.0         # beats before this are the tracker locking on (a third if shorter)
MIN_BEATS = 8              # fewer steady beats than this: no tempo ("no steady beat")
STEADY = 0.08              # beat intervals within 8 % of the typical one count as steady
ONSET_NEAR_S = 0.07        # a beat this close to an onset is one a listener hears
TEMPO_RANGE = (40.0, 220.0)  # steady onsets outside this are not a beat (a tremolo, a roll)


class AnalysisFailed(ApplianceError, OSError):
    """A file could not be measured; the message is one line naming the file."""


def low_priority(argv: Sequence[str]) -> list[str]:
    """`argv` run at the lowest CPU and I/O priority (where nice/ionice exist)."""
    prefix = []
    if shutil.which("nice"):
        prefix += ["nice", "-n", "19"]
    if shutil.which("ionice"):
        prefix += ["ionice", "-t", "-c", "3"]  # -t: run anyway where it is not allowed
    return prefix + list(argv)


def _run(argv: Sequence[str], path: str, timeout: float) -> subprocess.CompletedProcess:
    tool = argv[0]
    if shutil.which(tool) is None:
        raise AnalysisFailed(f"{tool} is not installed (./setup.sh installs it)")
    try:
        return subprocess.run(low_priority(argv), capture_output=True, text=True,
                              errors="replace", timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AnalysisFailed(f"{path}: {tool} took longer than {timeout:g} s") from None


# --- loudness and length: ffmpeg ebur128 --------------------------------------------------

_INTEGRATED = re.compile(r"Integrated loudness:\s*\n\s*I:\s*(-?[\d.]+|-inf)\s*LUFS")
_DURATION = re.compile(r"Duration:\s*(\d+):(\d\d):(\d\d(?:\.\d+)?)")
_TIME = re.compile(r"time=(\d+):(\d\d):(\d\d(?:\.\d+)?)")


def loudness(path: str, timeout: float = TOOL_TIMEOUT_S) -> tuple[Optional[float], float]:
    """(integrated loudness in LUFS or None for digital silence, length in seconds)."""
    done = _run(["ffmpeg", "-hide_banner", "-nostdin", "-i", path, "-map", "0:a:0",
                 "-af", "ebur128=framelog=verbose:dualmono=true", "-f", "null", "-"], path,
                timeout)
    return parse_ebur128(done.stderr, done.returncode, path)


def parse_ebur128(log: str, returncode: int, path: str) -> tuple[Optional[float], float]:
    found = _INTEGRATED.search(log)
    if returncode != 0 or found is None:
        raise AnalysisFailed(f"{path}: cannot be decoded ({_last_error(log)})")
    lufs = None if found.group(1) == "-inf" else float(found.group(1))
    if lufs is not None and lufs <= -70.0:
        lufs = None  # below the R128 absolute gate: silence
    times = _TIME.findall(log) or _DURATION.findall(log)
    h, m, s = times[-1]
    return lufs, int(h) * 3600 + int(m) * 60 + float(s)


def _last_error(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    if not lines:
        return "ffmpeg said nothing"
    line = lines[-1]
    return line.split(": ", 1)[-1] if ": " in line else line


# --- tempo: aubio's beat tracker, checked against its onsets ---------------------------------

def beats(path: str, timeout: float = TOOL_TIMEOUT_S) -> list[float]:
    return _times(["aubiotrack", "-i", path], path, timeout)


def onsets(path: str, timeout: float = TOOL_TIMEOUT_S) -> list[float]:
    return _times(["aubioonset", "-i", path], path, timeout)


def _times(argv, path: str, timeout: float) -> list[float]:
    done = _run(argv, path, timeout)
    if done.returncode != 0:
        raise AnalysisFailed(f"{path}: aubio could not read it")
    out = []
    for word in done.stdout.split():
        try:
            out.append(float(word))
        except ValueError:
            continue
    return out


def tempo_of(beat_times: Sequence[float], onset_times: Sequence[float],
             seconds: float) -> Optional[float]:
    """BPM: 60 / the mean steady beat interval once the tracker has locked on. The tracker
    keeps ticking through a drone or a pad, so its beats count only where most of them fall
    on a real onset; failing that, onsets that are themselves steady (a plain click track,
    which the tracker can lose) give the tempo. None: no steady beat."""
    steady = _steady(beat_times, seconds)
    if steady is not None and _supported(steady[1], onset_times):
        return steady[0]
    steady = _steady(onset_times, seconds)
    if steady is not None and TEMPO_RANGE[0] <= steady[0] <= TEMPO_RANGE[1]:
        return steady[0]
    return None


def _steady(times: Sequence[float], seconds: float):
    """(BPM, the beats it rests on) from steady intervals after LOCK_SKIP_S, or None."""
    skip = min(LOCK_SKIP_S, seconds / 3.0)
    later = [t for t in times if t >= skip]
    pairs = [(a, b) for a, b in zip(later, later[1:]) if b > a]
    if len(pairs) < MIN_BEATS - 1:
        return None
    typical = statistics.median(b - a for a, b in pairs)
    steady = [(a, b) for a, b in pairs if abs(b - a - typical) <= STEADY * typical]
    if len(steady) < max(MIN_BEATS - 1, len(pairs) // 2):
        return None
    return 60.0 / statistics.fmean(b - a for a, b in steady), [b for _, b in steady]


def _supported(beat_times: Sequence[float], onset_times: Sequence[float]) -> bool:
    """Most beats have an onset within ONSET_NEAR_S."""
    near = sum(1 for t in beat_times if any(abs(t - o) <= ONSET_NEAR_S for o in onset_times))
    return near >= len(beat_times) / 2


def tools_missing() -> list[str]:
    return [tool for tool in ("ffmpeg", "aubiotrack", "aubioonset")
            if shutil.which(tool) is None]
