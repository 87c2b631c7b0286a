"""How long `appliance status` takes, start to answer, against a live control socket.

The engine runs in this process on a silent stand-in (the CLI's own cost is the subject); the
CLI is a fresh `python -m appliance status --config ...` each time, as a person types it.
Also lists what it imports (python -X importtime), biggest first.

    .venv/bin/python bench/cli_start.py [--runs 30]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.control import ControlSocket  # noqa: E402
from appliance.engine import Engine  # noqa: E402
from appliance.session import new_state  # noqa: E402
from appliance.session.model import Library, Settings  # noqa: E402
from appliance.verbs import Registry  # noqa: E402
from tests.conftest import SilentAudio  # noqa: E402  (built from the Protocol)


def run_once(cmd) -> float:
    began = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - began


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=30)
    args = p.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="cli-bench-"))
    config = folder / "config.toml"  # the shipped demo config, so the socket is found as usual
    config.write_text((Path(__file__).resolve().parent.parent / "config.toml").read_text())
    engine = Engine(new_state(Settings(), Library()), SilentAudio(), room={"id": "bench"})
    engine.start()
    control = ControlSocket(Registry(engine), folder / "run" / "control.sock")
    control.start()
    try:
        status = [sys.executable, "-m", "appliance", "status", "--config", str(config)]
        bare = [sys.executable, "-c", "pass"]
        run_once(status)  # warm the page cache
        cli = sorted(run_once(status) for _ in range(args.runs))
        python = sorted(run_once(bare) for _ in range(args.runs))
        imports = subprocess.run([sys.executable, "-X", "importtime", *status[1:]],
                                 capture_output=True, text=True).stderr
    finally:
        control.stop()
        engine.shutdown(fade_s=0)
    own = [line.split("|") for line in imports.splitlines() if "| appliance" in line]
    own = sorted(((int(cum), name.strip()) for _, cum, name in own), reverse=True)[:6]
    print(f"cli_start: `appliance status` against a live socket, {args.runs} runs, "
          f"python {sys.version.split()[0]}")
    print(f"  appliance status   median {1000 * statistics.median(cli):5.1f} ms, "
          f"max {1000 * cli[-1]:5.1f} ms")
    print(f"  python -c pass     median {1000 * statistics.median(python):5.1f} ms")
    print("  appliance's own imports (cumulative): " +
          ", ".join(f"{name} {us / 1000:.1f} ms" for us, name in own))


if __name__ == "__main__":
    main()
