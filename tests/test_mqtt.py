"""MQTT against a real mosquitto: what the broker received, and what the room did and played."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time

from appliance.verbs import parse_command

from .conftest import WELCOME_HZ, write_config

import pytest

pytestmark = pytest.mark.broker

PHASES = ("idle", "ambient", "welcome", "active", "receptive", "reflection")
STATE_KEYS = {"phase", "remaining_s", "ends_at", "volume", "cap", "now_playing", "faults"}


def mqtt_section(port, room_id="room-a", scene_qos=0, **keys) -> str:
    """[mqtt] on the test broker, with one scene message per phase and one for the cue."""
    lines = ["[mqtt]", "enabled = true", 'host = "127.0.0.1"', f"port = {port}",
             f'room_id = "{room_id}"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
    for i, name in enumerate(PHASES + ("reflection_cue",)):
        lines += [f"[[mqtt.scenes.{name}]]", f'topic = "lights/{room_id}/lamp/set"',
                  f'payload = {{ scene = "{name}", brightness = {20 * i}, transition = 2 }}',
                  f"qos = {scene_qos}"]
    return "\n".join(lines) + "\n"


def scenes(sub, room_id="room-a"):
    return [json.loads(text)["scene"] for _, text in sub.on(f"lights/{room_id}/lamp/set")]


def states(sub, room_id="room-a"):
    return [json.loads(text) for _, text in sub.on(f"therapy-room/{room_id}/state")]


def results(sub, room_id="room-a"):
    return [json.loads(text) for _, text in sub.on(f"therapy-room/{room_id}/cmd_result")]


def online(sub, room_id="room-a"):
    return sub.wait_for(lambda m: any(t == f"therapy-room/{room_id}/availability"
                                      and x == "online" for _, t, x, _r in m),
                        what=f"{room_id} online")


def send(sub, action, payload="", room_id="room-a"):
    sub.client.publish(f"therapy-room/{room_id}/cmd/{action}", payload, qos=1).wait_for_publish(5)
    return time.monotonic()


def test_state_and_scene_for_every_phase(room_factory, mosquitto, subscriber_factory):
    broker = mosquitto()
    sub = subscriber_factory(broker.port)
    room = room_factory(receptive={"fade_out_s": 0.5, "min_minutes": 0.02},
                        extra=mqtt_section(broker.port))
    with room:
        online(sub)
        sub.wait_for(lambda m: scenes(sub) == ["idle"], what="the idle scene after connecting")
        for verb, args in (("ambient", {}), ("welcome", {}), ("active", {}),
                           ("receptive", {"minutes": 0.03})):
            room.send(verb, **args)
            sub.wait_for(lambda m: scenes(sub)[-1:] == [verb], what=f"the {verb} scene")
            sub.wait_for(lambda m: states(sub)[-1]["phase"] == verb, what=f"{verb} state")
        # the receptive block runs out by itself: reflection's scene, then the cue
        sub.wait_for(lambda m: scenes(sub)[-2:] == ["reflection", "reflection_cue"],
                     what="reflection scene and cue when the block ends")
        room.send("end")
        sub.wait_for(lambda m: states(sub)[-1]["phase"] == "idle", what="idle state")
        # a button press (the GPIO adapter's source name) is an event; a CLI command is not
        room.send("volume", level=60)
        room.engine.submit(parse_command("volume_up"), source="button:volume_up")
        sub.wait_for(lambda m: states(sub)[-1]["volume"] == 65, what="the button's volume")
    assert scenes(sub) == ["idle", "ambient", "welcome", "active", "receptive", "reflection",
                           "reflection_cue", "idle"]
    seen = states(sub)
    assert all(set(s) == STATE_KEYS for s in seen), seen  # nothing else leaves the device
    receptive = next(s for s in seen if s["phase"] == "receptive")
    assert 0 < receptive["remaining_s"] <= 1.8 and receptive["ends_at"]
    assert receptive["cap"] == 80 and receptive["now_playing"] == "Pad 1"
    events = [json.loads(x) for _, x in sub.on("therapy-room/room-a/event")]
    press = events.pop()
    assert (press["type"], press["button"], press["accepted"]) == ("button", "volume_up", True)
    assert [(e["old"], e["new"]) for e in events] == [
        ("idle", "ambient"), ("ambient", "welcome"), ("welcome", "active"),
        ("active", "receptive"), ("receptive", "reflection"), ("reflection", "idle")]
    # a clean stop says offline itself (no last will needed)
    assert sub.on("therapy-room/room-a/availability")[-1][1] == "offline"


def test_commands_over_mqtt_drive_the_room_and_are_heard(room_factory, recorder, mosquitto,
                                                         subscriber_factory):
    broker = mosquitto()
    sub = subscriber_factory(broker.port)
    room = room_factory(extra=mqtt_section(broker.port))
    with room:
        online(sub)
        send(sub, "ambient")
        room.wait_for(lambda s: s["phase"] == "ambient", what="ambient over MQTT")
        time.sleep(0.8)
        sent = send(sub, "welcome", "{}")
        room.wait_for(lambda s: s["phase"] == "welcome", what="welcome over MQTT")
        time.sleep(1.2)
        heard_until = time.monotonic()
        send(sub, "volume", '{"level": 50}')
        room.wait_for(lambda s: s["volume"] == 50, what="volume over MQTT")
        send(sub, "receptive", '{"minutes": 20}')
        status = room.wait_for(lambda s: s["phase"] == "receptive", what="receptive over MQTT")
        assert status["remaining_s"] > 1190
        sub.wait_for(lambda m: len(results(sub)) == 4, what="four command results")
    rec = recorder.take()
    onset = rec.onset(WELCOME_HZ, after=sent, threshold_db=-60)
    assert onset is not None and onset < heard_until, "the welcome song was not heard"
    assert results(sub) == [{"action": a, "ok": True, "error": None, "kind": None}
                            for a in ("ambient", "welcome", "volume", "receptive")]


def test_bad_command_messages_are_ignored_and_logged_once(room_factory, mosquitto,
                                                          subscriber_factory, caplog):
    broker = mosquitto()
    sub = subscriber_factory(broker.port)
    room = room_factory(extra=mqtt_section(broker.port))
    caplog.set_level(logging.WARNING, logger="appliance.mqtt")
    bad = [("receptive", "{minutes: 20"), ("receptive", '{"minutes": "lots"}'),
           ("receptive", "[20]"), ("dance", ""), ("dance", ""),
           ("welcome", '{"track": "' + "x" * 5000 + '"}'), ("quiet", '{"now": true}')]
    with room:
        online(sub)
        for action, payload in bad:
            send(sub, action, payload)
        sub.wait_for(lambda m: len(results(sub)) == len(bad), what="all refusals")
        status = room.status()
        assert (status["phase"], status["volume"], status["faults"]) == ("idle", 70, {})
        send(sub, "ambient")  # still listening
        room.wait_for(lambda s: s["phase"] == "ambient", what="ambient after the bad input")
        send(sub, "x" * 60)
        sub.wait_for(lambda m: len(results(sub)) == len(bad) + 2, what="long action refused")
    got = results(sub)
    assert [r["ok"] for r in got] == [False] * len(bad) + [True, False]
    errors = [r["error"] for r in got]
    assert "not valid JSON" in errors[0] and "minutes must be a number" in errors[1]
    assert [r["kind"] for r in got[:len(bad)]] == ["invalid"] * 3 + ["unknown"] * 2 + [
        "invalid"] * 2
    assert "JSON object" in errors[2] and "unknown command 'dance'" in errors[3]
    assert "over 4096" in errors[5] and "unexpected argument 'now'" in errors[6]
    dance_lines = [r for r in caplog.records if "cmd/dance" in r.getMessage()]
    assert len(dance_lines) == 1, "an unknown action is logged once, not per message"


def test_two_rooms_on_one_broker_stay_apart_and_are_discovered(room_factory, mosquitto,
                                                               subscriber_factory):
    broker = mosquitto()
    sub = subscriber_factory(broker.port)
    room_a = room_factory(extra=mqtt_section(broker.port, "room-a"))
    room_b = room_factory(extra=mqtt_section(broker.port, "room-b"))
    with room_a, room_b:
        online(sub, "room-a")
        online(sub, "room-b")
        send(sub, "ambient", room_id="room-a")
        send(sub, "volume", '{"level": 33}', room_id="room-b")
        sub.wait_for(lambda m: results(sub, "room-b"), what="room-b's result")
        room_a.wait_for(lambda s: s["phase"] == "ambient", what="room-a in ambient")
        # the broker delivers one publisher's messages in order: room-b had its chance
        assert room_b.status()["phase"] == "idle"
        assert room_a.status()["volume"] != 33
        sub.wait_for(lambda m: scenes(sub, "room-a")[-1:] == ["ambient"], what="a's scene")
        assert scenes(sub, "room-b") == ["idle"]

        def discovery(m):
            return [(t, x) for _, t, x, _r in m if t.startswith("homeassistant/")
                    and t.endswith("/config")]
        first = sub.wait_for(lambda m: len(discovery(m)) >= 16 and discovery(m),
                             what="discovery for both rooms")
    configs = [json.loads(x) for _, x in first[:16]]
    ids = [c["unique_id"] for c in configs]
    assert len(set(ids)) == 16
    for room_id in ("room-a", "room-b"):
        mine = [c for c in configs if room_id.replace("-", "_") in c["unique_id"]
                or room_id in c["unique_id"]]
        assert sorted(c["unique_id"].rsplit("_", 1)[-1] for c in mine) == sorted(
            ["phase", "left", "logins", "clock", "volume", "welcome", "quiet", "receptive"])
        assert len({json.dumps(c["device"], sort_keys=True) for c in mine}) == 1
        volume = next(c for c in mine if c["unique_id"].endswith("_volume"))
        assert volume["command_topic"] == f"therapy-room/{room_id}/cmd/volume"
        assert volume["max"] == 80
        assert all(c["availability_topic"] == f"therapy-room/{room_id}/availability"
                   for c in mine)


def test_last_will_says_offline_when_the_appliance_is_killed(pulse, tones, tmp_path, mosquitto,
                                                             subscriber_factory):
    broker = mosquitto()
    sub = subscriber_factory(broker.port)
    config = write_config(tmp_path / "room", tones, extra=mqtt_section(broker.port))
    log = open(tmp_path / "appliance.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "appliance", "run", "--config", str(config)],
                            env=dict(os.environ), stdout=log, stderr=log)
    try:
        online(sub)
        sub.wait_for(lambda m: states(sub) and scenes(sub), what="state and scene")
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
        sub.wait_for(lambda m: m[-1][1:3] == ("therapy-room/room-a/availability", "offline"),
                     what="the last will")  # the appliance could not say it itself
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        log.close()


def test_broker_away_mid_session(room_factory, recorder, mosquitto, subscriber_factory):
    broker = mosquitto(persistence=True)
    # a persistent session: messages for it are kept whichever of us reconnects first
    sub = subscriber_factory(broker.port, persistent_id="listener")
    room = room_factory(extra=mqtt_section(broker.port, scene_qos=1))
    with room:
        online(sub)
        room.send("ambient")
        sub.wait_for(lambda m: scenes(sub)[-1:] == ["ambient"], what="ambient scene")
        broker.stop()
        room.wait_for(lambda s: "mqtt" in s["faults"], what="the fault in status")
        sent = room.send("welcome")   # the room goes on without its broker
        time.sleep(1.5)
        room.send("active")
        before = len(sub.messages)
        broker.start()
        back = time.monotonic()
        state = sub.wait_for(lambda m: [json.loads(x) for t, x in
                                        [(t, x) for _, t, x, _r in m[before:]]
                                        if t == "therapy-room/room-a/state"
                                        and json.loads(x)["phase"] == "active"],
                             timeout=8, what="the state again after the broker's return")
        sub.wait_for(lambda m: "mqtt" not in room.status()["faults"], what="fault cleared")
        time.sleep(0.5)  # anything stale would have arrived by now
        assert room.status()["phase"] == "active"
    rec = recorder.take()
    onset = rec.onset(WELCOME_HZ, after=sent, threshold_db=-60)
    assert onset is not None and onset < back, "the welcome song was not heard while offline"
    arrived = [t for t, top, x, _r in sub.messages[before:]
               if top == "therapy-room/room-a/state" and json.loads(x)["phase"] == "active"]
    assert state and arrived[0] - back <= 5.0, f"state came back after {arrived[0] - back:.1f} s"
    after = [json.loads(x)["scene"] for _, top, x, _r in sub.messages[before:]
             if top == "lights/room-a/lamp/set"]
    assert after == ["active"], f"stale scenes after the broker's return: {after}"


def test_broker_down_at_boot_and_wrong_credentials_are_faults(room_factory, mosquitto,
                                                              subscriber_factory, tmp_path,
                                                              capsys):
    from appliance.__main__ import main

    broker = mosquitto(users={"room": "right horse battery", "viewer": "viewer"})
    broker.stop()  # not there when the appliance boots
    wrong = room_factory(extra=mqtt_section(broker.port, "room-w", username="room",
                                            password="staple"))
    (tmp_path / "secret").write_text("right horse battery\n")
    right = room_factory(extra=mqtt_section(broker.port, "room-r", username="room",
                                            password_file=str(tmp_path / "secret")))
    with wrong, right:
        for room in (wrong, right):  # both up, audio works, and status says what is wrong
            status = room.wait_for(lambda s: "mqtt" in s["faults"], what="broker down fault")
            assert "not reachable" in status["faults"]["mqtt"]
        right.send("ambient")
        assert main(["mqtt", "--socket", str(right.cfg.socket_path)]) == 0
        shown = capsys.readouterr().out
        assert "(not connected)" in shown and "not reachable" in shown
        broker.start()
        sub = subscriber_factory(broker.port, login=("viewer", "viewer"))
        sub.wait_for(lambda m: states(sub, "room-r"), what="room-r state after the broker came")
        status = wrong.wait_for(lambda s: "refused" in s["faults"].get("mqtt", ""),
                                what="wrong credentials fault")
        assert "mqtt.username / password" in status["faults"]["mqtt"]
        right.wait_for(lambda s: "mqtt" not in s["faults"], what="fault cleared")
        assert states(sub, "room-r")[-1]["phase"] == "ambient"
        assert main(["mqtt", "--socket", str(right.cfg.socket_path)]) == 0
        assert f"127.0.0.1:{broker.port} (connected)" in capsys.readouterr().out
        assert wrong.status()["phase"] == "idle" and not states(sub, "room-w")



def test_tls_with_the_wrong_ca_is_a_fault_and_the_right_one_connects(room_factory, mosquitto,
                                                                      subscriber_factory,
                                                                      tmp_path):
    from .broker import make_test_ca
    broker = mosquitto(tls=True)
    sub = subscriber_factory(broker.port)  # the plain listener
    stranger = make_test_ca(tmp_path, "some-other-ca")[1]
    wrong = room_factory(extra=mqtt_section(broker.tls_port, "room-w") +
                         f'[mqtt.tls]\nca_file = "{stranger}"\n')
    right = room_factory(extra=mqtt_section(broker.tls_port, "room-r") +
                         f'[mqtt.tls]\nca_file = "{broker.ca[1]}"\n')
    (tmp_path / "garbage.pem").write_text("-----BEGIN CERTIFICATE-----\nnot one\n")
    broken = room_factory(extra=mqtt_section(broker.tls_port, "room-b") +
                          f'[mqtt.tls]\nca_file = "{tmp_path / "garbage.pem"}"\n')
    with wrong, right, broken:
        online(sub, "room-r")
        sub.wait_for(lambda m: states(sub, "room-r"), what="room-r's state over TLS")
        # the fault is reported at start; the status shows it once the engine has taken it
        status = broken.wait_for(lambda s: "mqtt" in s["faults"], what="the TLS setup fault")
        assert "TLS setup failed" in status["faults"]["mqtt"]
        broken.send("ambient")  # the room itself is fine
        status = wrong.wait_for(lambda s: "mqtt" in s["faults"], what="the TLS fault")
        assert "TLS error" in status["faults"]["mqtt"]
        assert "CERTIFICATE_VERIFY_FAILED" in status["faults"]["mqtt"]
        assert "mqtt" not in right.status()["faults"]
    assert not states(sub, "room-w")


def test_a_broker_that_wants_a_client_certificate(room_factory, mosquitto, subscriber_factory):
    from .broker import make_server_cert
    broker = mosquitto(tls=True, client_certs=True)
    sub = subscriber_factory(broker.port)
    key, cert = make_server_cert(broker.folder, broker.ca, "room-c")
    tls = f'[mqtt.tls]\nca_file = "{broker.ca[1]}"\n'
    with_cert = room_factory(extra=mqtt_section(broker.tls_port, "room-c") + tls
                             + f'certfile = "{cert}"\nkeyfile = "{key}"\n')
    without = room_factory(extra=mqtt_section(broker.tls_port, "room-n") + tls)
    with with_cert, without:
        sub.wait_for(lambda m: states(sub, "room-c"), what="room-c's state with its cert")
        status = without.wait_for(lambda s: "mqtt" in s["faults"], what="no-cert fault")
        # the broker's alert or a bare EOF, whichever came first: the fault names what is missing
        assert "no client certificate (mqtt.tls.certfile)" in status["faults"]["mqtt"]
        assert "mqtt" not in with_cert.status()["faults"]
    assert not states(sub, "room-n")
