"""The discreet time cue before a receptive block ends, as a real mosquitto receives it.

The engine is real (its own thread and timers) but plays into a SilentAudio: the cue is about
what the broker gets, and when, not about sound.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from appliance.engine import Engine
from appliance.mqtt.adapter import MqttAdapter
from appliance.mqtt.config import parse
from appliance.schema import Problems
from appliance.session import Library, Settings, Track, new_state
from appliance.session import commands as c

from .conftest import SilentAudio

pytestmark = pytest.mark.broker


def test_the_time_cue_reaches_the_broker_before_the_block_ends(mosquitto, subscriber_factory):
    broker = mosquitto()
    sub = subscriber_factory(broker.port)
    problems = Problems()
    cfg = parse({"mqtt": {"enabled": True, "host": "127.0.0.1", "port": broker.port,
                          "room_id": "room-c"}}, problems, Path("."))
    assert not problems
    settings = Settings(receptive_min_minutes=0.01, receptive_fade_out_s=0.5,
                        receptive_time_cue_s=1.5)
    engine = Engine(new_state(settings, Library(receptive=(Track("/r.wav", "Pad"),))),
                    SilentAudio())
    engine.start()
    adapter = MqttAdapter(cfg, engine, "room-c")
    adapter.start()
    try:
        sub.wait_for(lambda m: any(t.endswith("/availability") and x == "online"
                                   for _, t, x, _r in m), what="the room online")
        assert engine.submit(c.Receptive(0.06), source="panel").result() == "receptive: 0.06 min"
        started = time.monotonic()

        def cues():
            return [(at, json.loads(text)) for at, text in sub.on("therapy-room/room-c/event")
                    if json.loads(text)["type"] == "time_cue"]
        sub.wait_for(lambda m: cues(), timeout=8, what="the time cue")
        (at, cue), = cues()
        # 3.6 s block, cue 1.5 s before its end: heard about 2.1 s in, with the time left
        assert 1.8 <= at - started <= 2.8, at - started
        assert cue["remaining_s"] == pytest.approx(1.5, abs=0.2) and set(cue) == {
            "type", "remaining_s", "at"}  # nothing about the client, ever
        sub.wait_for(lambda m: engine.status().phase == "reflection", timeout=5,
                     what="reflection")
        assert len(cues()) == 1
    finally:
        adapter.stop()
        engine.shutdown(fade_s=0.05)
