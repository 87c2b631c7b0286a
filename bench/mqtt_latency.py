"""Phase change -> light-scene message received by a subscriber on the broker: p50 / p95.

The whole appliance runs (engine, libVLC into a private PulseAudio null sink, the MQTT adapter)
against a private mosquitto on loopback; a second client subscribes to the scene topic. Each
round sends `ambient` then `quiet` through the engine; both are phase changes with a scene.

    .venv/bin/python bench/mqtt_latency.py [--rounds 100]

Prints two figures per percentile: from the engine's phase event (stamped by a callback that
runs just before the adapter's own) and from the command's submission (what a button press
would see), to the scene message arriving at the subscriber.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.config import load_config  # noqa: E402
from appliance.mqtt import adapter as mqtt_adapter  # noqa: E402
from appliance.daemon import Daemon  # noqa: E402
from appliance.verbs import parse_command  # noqa: E402
from tests.conftest import Broker, Subscriber, write_config  # noqa: E402
from tests.sinks import PulseServer  # noqa: E402
from tests.sound import write_tone  # noqa: E402


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mqtt-bench-") as tmp:
        tmp = Path(tmp)
        pulse = PulseServer(tmp / "pulse").start()
        os.environ.update(pulse.env)
        broker = Broker(tmp / "broker").start()
        tones = tmp / "tones"
        tones.mkdir()
        for name, hz in (("ambient", 330), ("welcome", 660), ("welcome-short", 660),
                         ("receptive-1", 440), ("receptive-2", 550), ("receptive-3", 770)):
            write_tone(tones / f"{name}.wav", hz, 5)
        scene_topic = "lights/bench/lamp/set"
        extra = (f'[mqtt]\nenabled = true\nhost = "127.0.0.1"\nport = {broker.port}\n'
                 'room_id = "bench"\n')
        for phase in ("idle", "ambient"):
            extra += (f'[[mqtt.scenes.{phase}]]\ntopic = "{scene_topic}"\n'
                      f'payload = {{ scene = "{phase}", brightness = 100 }}\n')
        daemon = Daemon(load_config(write_config(tmp / "room", tones,
                                                 audio={"quiet_s": 0.2}, extra=extra)))
        sub = Subscriber(broker.port, topics=(scene_topic,))
        phase_at = {}

        def stamp(event):
            if event.get("type") == "phase":
                phase_at.setdefault(event["new"], time.monotonic())

        def start_after_stamp(d):  # the stamp runs before the adapter's own event callback
            d.engine.subscribe_events(stamp)
            return real_start(d)
        real_start, mqtt_adapter.start = mqtt_adapter.start, start_after_stamp
        try:
            daemon.start()
            sub.wait_for(lambda m: m, what="the first scene")  # connected and in step
            from_event, from_submit = [], []
            for _ in range(args.rounds):
                for verb, phase in (("ambient", "ambient"), ("quiet", "idle")):
                    phase_at.pop(phase, None)
                    before = len(sub.messages)
                    submitted = time.monotonic()
                    daemon.engine.submit(parse_command(verb), source="bench")
                    got = sub.wait_for(lambda m: [x for x in m[before:]
                                                  if json.loads(x[2])["scene"] == phase],
                                       what=f"the {phase} scene")
                    received = got[0][0]
                    from_event.append(received - phase_at[phase])
                    from_submit.append(received - submitted)
                    time.sleep(0.05)
        finally:
            mqtt_adapter.start = real_start
            sub.close()
            daemon.stop()
            broker.stop()
            pulse.stop()

    def ms(x):
        return f"{1000 * x:.2f} ms"
    n = len(from_event)
    print(f"mqtt_latency: {n} phase changes (ambient/idle), mosquitto on loopback, "
          f"full appliance with libVLC")
    print(f"  phase change -> scene received: p50 {ms(statistics.median(from_event))}, "
          f"p95 {ms(percentile(from_event, 95))}, max {ms(max(from_event))}")
    print(f"  command submitted -> scene received: p50 {ms(statistics.median(from_submit))}, "
          f"p95 {ms(percentile(from_submit, 95))}, max {ms(max(from_submit))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
