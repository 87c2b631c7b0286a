"""Track analysis cost, one run: `.venv/bin/python -m bench.analysis`.

For 1- and 5-minute click tracks (WAV, and the 5-minute one as MP3): wall seconds per minute
of audio for the whole analysis (ffmpeg's EBU R128 loudness, aubio's beat tracker and onsets,
one after the other, at nice 19 as the daemon runs them), and the peak memory of the largest
tool process. Each file is analysed in a fresh Python process so the peaks are that file's.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

ONE_FILE = """
import json, resource, sys, time
from appliance.analysis.run import analyse_file
start = time.monotonic()
result = analyse_file(sys.argv[1])
wall = time.monotonic() - start
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"wall": wall, "peak_mb": peak_kb / 1024, "error": result.error,
                  "bpm": result.bpm, "lufs": result.lufs}))
"""


def main():
    from tests.test_analysis_tools import write_clicks
    with tempfile.TemporaryDirectory() as d:
        files = [(Path(d) / "one.wav", 1.0), (Path(d) / "five.wav", 5.0)]
        for path, minutes in files:
            write_clicks(path, 96, seconds=minutes * 60)
        mp3 = Path(d) / "five.mp3"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(files[1][0]), "-b:a",
                        "192k", str(mp3)], check=True)
        files.append((mp3, 5.0))
        print("track analysis (ffmpeg ebur128 + aubiotrack + aubioonset, nice 19):")
        for path, minutes in files:
            done = subprocess.run([sys.executable, "-c", ONE_FILE, str(path)], cwd=REPO,
                                  capture_output=True, text=True, check=True)
            r = json.loads(done.stdout)
            print(f"  {path.name:<10} {minutes:g} min: {r['wall']:.2f} s "
                  f"({r['wall'] / minutes:.2f} s per minute of audio), peak tool memory "
                  f"{r['peak_mb']:.0f} MB; measured {r['bpm']} BPM, {r['lufs']} LUFS")


if __name__ == "__main__":
    main()
