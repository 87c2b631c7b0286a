"""A room on a shared broker (issue 11): the README's mosquitto ACL, retained commands, Home
Assistant's birth message repeated, payloads that would have raised in paho's thread."""
from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import pytest

from .test_mqtt import mqtt_section, online, results, send, states

pytestmark = pytest.mark.broker

README = Path(__file__).resolve().parent.parent / "README.md"
PASSWORDS = {"room-1": "room one lamp", "homeassistant": "home assistant",
             "viewer": "corridor view", "guest": "guest phone", "zigbee2mqtt": "lamps"}


def readme_acl() -> str:
    """The ACL exactly as the README shows it, with the test's scene topic for the lamp."""
    block = re.search(r"```\n(# mosquitto acl_file for the therapy rooms.*?)```",
                      README.read_text(), re.S)
    assert block, "README: the mosquitto ACL example is gone"
    return block.group(1).replace("zigbee2mqtt/therapy-lamp-1/set", "lights/room-1/lamp/set") \
        .replace("topic readwrite zigbee2mqtt/#", "topic readwrite lights/#")


def _discovery(messages):
    return [m for m in messages if m[1].startswith("homeassistant/") and m[1].endswith("/config")]


def _sync(sub, room, before):
    """Wait until the room has handled everything sent before a probe command."""
    send(sub, "volume_down", room_id="room-1")
    sub.wait_for(lambda m: len(results(sub, "room-1")) > before, what="the probe's result")
    send(sub, "volume_up", room_id="room-1")
    sub.wait_for(lambda m: len(results(sub, "room-1")) > before + 1, what="the probe's result")


def test_one_room_with_the_readme_acl_cannot_be_driven_or_forged_by_a_guest(
        room_factory, mosquitto, subscriber_factory, tmp_path):
    broker = mosquitto(users=PASSWORDS, acl=readme_acl())
    (tmp_path / "room-password").write_text("room one lamp\n")
    room = room_factory(extra=mqtt_section(broker.port, "room-1", username="room-1",
                                           password_file=str(tmp_path / "room-password")))
    ha = subscriber_factory(broker.port, topics=("therapy-room/#", "homeassistant/#"),
                            login=("homeassistant", "home assistant"))
    lamps = subscriber_factory(broker.port, topics=("lights/#",), login=("zigbee2mqtt", "lamps"))
    viewer = subscriber_factory(broker.port, topics=("therapy-room/+/state",),
                                login=("viewer", "corridor view"))
    guest = subscriber_factory(broker.port, topics=("therapy-room/#",),  # not in the ACL
                               login=("guest", "guest phone"))
    with room:
        online(ha, "room-1")
        ha.wait_for(lambda m: states(ha, "room-1") and len(_discovery(m)) == 8,
                    what="the room's state and its discovery under the ACL")
        viewer.wait_for(lambda m: states(viewer, "room-1"), what="the viewer may read")
        # both try to drive the room and to forge what everybody else sees
        for intruder in (viewer, guest):
            for topic, payload in (
                    ("therapy-room/room-1/cmd/volume", '{"level": 11}'),
                    ("therapy-room/room-1/cmd/welcome", ""),
                    ("therapy-room/room-1/state", '{"phase": "idle", "volume": 0}'),
                    ("therapy-room/room-1/availability", "offline"),
                    ("homeassistant/button/therapy-room_room-1/quiet/config", "{}")):
                intruder.client.publish(topic, payload, qos=1).wait_for_publish(5)
        # a room's own user may not act for another room either
        room_user = subscriber_factory(broker.port, topics=("therapy-room/room-1/state",),
                                       login=("room-1", "room one lamp"))
        room_user.client.publish("therapy-room/room-2/cmd/welcome", "", qos=1).wait_for_publish(5)
        # Home Assistant may
        before = len(results(ha, "room-1"))
        send(ha, "volume", '{"level": 55}', room_id="room-1")
        ha.wait_for(lambda m: len(results(ha, "room-1")) > before, what="HA's command result")
        status = room.wait_for(lambda s: s["volume"] == 55, what="HA's volume")
        assert status["phase"] == "idle", "the guest's welcome reached the room"
        ha.wait_for(lambda m: states(ha, "room-1")[-1]["volume"] == 55, what="state 55")
    everything = [(topic, text) for _, topic, text, _r in ha.messages]
    assert ("therapy-room/room-1/availability", "offline") == everything[-1]  # its own, at stop
    forged = [t for t, x in everything if x in ('{"level": 11}', '{"phase": "idle", "volume": 0}',
                                                "{}")]
    assert forged == [], f"the guest's messages got through: {forged}"
    assert [x for t, x in everything if t == "therapy-room/room-1/availability"] == [
        "online", "offline"]
    assert not [t for t, _ in everything if t.startswith("therapy-room/room-2/")]
    assert guest.messages == []  # not in the ACL: reads nothing either
    assert [json.loads(x)["scene"] for _, t, x, _r in lamps.messages] == ["idle"]


def test_retained_commands_do_not_replay_when_the_room_reconnects(
        room_factory, mosquitto, subscriber_factory, caplog):
    caplog.set_level(logging.WARNING, logger="appliance.mqtt")
    broker = mosquitto(persistence=True)  # retained messages survive the broker's restart
    sub = subscriber_factory(broker.port)
    # left on the broker by someone, days ago
    sub.client.publish("therapy-room/room-1/cmd/volume", '{"level": 11}', qos=1,
                       retain=True).wait_for_publish(5)
    sub.client.publish("therapy-room/room-1/cmd/welcome", "{}", qos=1,
                       retain=True).wait_for_publish(5)

    def check(room):
        online(sub, "room-1")
        _sync(sub, room, len(results(sub, "room-1")))
        status = room.status()
        assert (status["phase"], status["volume"]) == ("idle", 70), status
        sub.messages.clear()
    for start in range(2):  # the appliance starts, and starts again
        room = room_factory(extra=mqtt_section(broker.port, "room-1"))
        with room:
            check(room)
            if start == 1:  # and the broker goes away and comes back meanwhile
                broker.stop()
                room.wait_for(lambda s: "mqtt" in s["faults"], what="the broker gone")
                broker.start()
                room.wait_for(lambda s: "mqtt" not in s["faults"], what="the broker back")
                check(room)
    lines = [r.getMessage() for r in caplog.records if "retained" in r.getMessage()]
    assert len(lines) == 4, lines  # once per topic and run of the appliance, not per connect
    assert "mosquitto_pub -r -n -t 'therapy-room/room-1/cmd/volume'" in " ".join(lines)


def test_a_live_command_with_the_retain_flag_acts_once(room_factory, mosquitto,
                                                       subscriber_factory):
    broker = mosquitto()
    sub = subscriber_factory(broker.port)
    room = room_factory(extra=mqtt_section(broker.port, "room-1"))
    with room:
        online(sub, "room-1")
        sub.client.publish("therapy-room/room-1/cmd/volume", '{"level": 55}', qos=1,
                           retain=True).wait_for_publish(5)
        room.wait_for(lambda s: s["volume"] == 55, what="the live command")


def test_home_assistants_birth_resends_discovery_at_most_once_a_minute(
        room_factory, mosquitto, subscriber_factory):
    broker = mosquitto()
    sub = subscriber_factory(broker.port)
    room = room_factory(extra=mqtt_section(broker.port, "room-1"))
    with room:
        online(sub, "room-1")
        sub.wait_for(lambda m: len(_discovery(m)) == 8, what="discovery at connect")
        adapter = room.daemon.adapters["mqtt"]

        def births(count):
            for _ in range(count):
                sub.client.publish("homeassistant/status", "online").wait_for_publish(5)
            _sync(sub, room, len(results(sub, "room-1")))
        births(10)  # a client repeating HA's birth message
        assert len(_discovery(sub.messages)) == 8
        later = time.monotonic() + 61
        adapter.clock = lambda: later  # a minute on
        births(1)
        sub.wait_for(lambda m: len(_discovery(m)) == 16, what="discovery again a minute on")
        births(10)
        assert len(_discovery(sub.messages)) == 16


def test_payloads_that_raised_in_paho_are_ignored_and_the_room_answers(
        room_factory, mosquitto, subscriber_factory, caplog):
    broker = mosquitto()
    sub = subscriber_factory(broker.port)
    room = room_factory(extra=mqtt_section(broker.port, "room-1"))
    with room:
        online(sub, "room-1")
        for payload in ("[" * 2000 + "]" * 2000, '{"level": NaN}', b"\xff\xfe\x00",
                        '{"level": 1e999}', '{"level": ' * 1000):
            send(sub, "volume", payload, room_id="room-1")
        sub.wait_for(lambda m: len(results(sub, "room-1")) == 5, what="five refusals")
        send(sub, "volume", '{"level": 40}', room_id="room-1")
        room.wait_for(lambda s: s["volume"] == 40, what="the room still answering")
    errors = [r["error"] for r in results(sub, "room-1")][:5]
    assert "nested deeper than 16 levels" in errors[0] and "NaN" in errors[1]
    assert "not UTF-8" in errors[2] and "must be a number" in errors[3]
    assert "Traceback" not in caplog.text and "Caught exception" not in caplog.text
