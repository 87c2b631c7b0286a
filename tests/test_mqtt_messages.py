"""The [mqtt] config and the MQTT payloads, without a broker."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.config import parse_config
from appliance.errors import ConfigError
from appliance.mqtt.config import Publish, parse
from appliance.mqtt.discovery import discovery_messages
from appliance.mqtt.messages import (Ignored, Topics, event_payload, parse_cmd, state_payload)
from appliance.schema import Problems
from appliance.session import commands as c
from appliance.status import ChannelStatus, Status

pytestmark = pytest.mark.fast

WALL = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC


def problems_of(mqtt: dict, base=Path(".")):
    problems = Problems()
    cfg = parse({"mqtt": mqtt}, problems, base)
    return cfg, list(problems)


def test_mqtt_is_off_without_the_section_or_when_disabled():
    assert parse({}, Problems(), Path(".")) is None
    cfg, problems = problems_of({"enabled": False, "host": "broker.lan"})
    assert cfg is None and problems == []


def test_defaults_and_scenes():
    cfg, problems = problems_of({
        "enabled": True, "host": "broker.lan",
        "scenes": {"ambient": [{"topic": "zigbee2mqtt/lamp/set", "qos": 1,
                                "payload": {"brightness": 60, "color_temp": 454,
                                            "transition": 5}}],
                   "reflection_cue": [{"topic": "cmnd/tasmota/Power", "payload": "BLINK"}]}})
    assert problems == []
    assert (cfg.port, cfg.prefix, cfg.discovery, cfg.discovery_prefix, cfg.room_id) == (
        1883, "therapy-room", True, "homeassistant", None)
    assert cfg.scenes["ambient"] == (Publish(
        "zigbee2mqtt/lamp/set", '{"brightness":60,"color_temp":454,"transition":5}', False, 1),)
    assert cfg.scenes["reflection_cue"][0].payload == "BLINK"


@pytest.mark.parametrize("mqtt, expected", [
    ({"prefix": "clinic/+/rooms"}, "mqtt.prefix: must not contain the MQTT wildcards"),
    ({"prefix": "clinic/#"}, "mqtt.prefix: must not contain the MQTT wildcards"),
    ({"prefix": "clinic//rooms"}, "mqtt.prefix: has an empty level"),
    ({"prefix": "/clinic"}, "mqtt.prefix: has an empty level"),
    ({"prefix": ""}, "mqtt.prefix: must not be empty"),
    ({"discovery_prefix": "ha/"}, "mqtt.discovery_prefix: has an empty level"),
    ({"room_id": "room 1"}, "mqtt.room_id: use letters, digits"),
    ({"port": 70000}, "mqtt.port: must be between 1 and 65535"),
    ({"host": "mqtt://broker"}, "mqtt.host: not a host name"),
    ({"hots": "broker"}, "mqtt.hots: unknown key (did you mean 'host'?)"),
    ({"password": "x"}, "mqtt.username: missing: a password needs a username"),
    ({"password_file": "nowhere/secret"}, "mqtt.password_file: no such file"),
    ({"tls": {"ca_file": "nowhere/ca.pem"}}, "mqtt.tls.ca_file: no such file"),
    ({"tls": {"cafile": "ca.pem"}}, "mqtt.tls.cafile: unknown key (did you mean 'ca_file'?)"),
    ({"scenes": {"ambient": [{"payload": "ON"}]}},
     "mqtt.scenes.ambient[1].topic: missing"),
    ({"scenes": {"ambient": [{"topic": "a"}, {"topic": "lamps/+/set"}]}},
     "mqtt.scenes.ambient[2].topic: must not contain the MQTT wildcards"),
    ({"scenes": {"welcome": [{"topic": "a", "qos": 3}]}},
     "mqtt.scenes.welcome[1].qos: must be between 0 and 2"),
    ({"scenes": {"welcome": [{"topic": "a", "retian": True}]}},
     "mqtt.scenes.welcome[1].retian: unknown key (did you mean 'retain'?)"),
    ({"scenes": {"ambiant": []}}, "mqtt.scenes.ambiant: unknown key (did you mean 'ambient'?)"),
    ({"scenes": {"idle": {"topic": "a"}}}, "mqtt.scenes.idle: must be a list of publishes"),
])
def test_config_problems_name_the_key(mqtt, expected):
    _, problems = problems_of(dict({"enabled": True}, **mqtt))
    assert any(p.startswith(expected) for p in problems), problems


def test_a_bad_mqtt_section_stops_the_whole_config_with_every_problem(tmp_path):
    data = {"mqtt": {"enabled": True, "prefix": "a/#", "port": "1883"}}
    with pytest.raises(ConfigError) as err:
        parse_config(data, tmp_path / "config.toml", check_media=False)
    assert {p.split(":")[0] for p in err.value.problems} == {"mqtt.prefix", "mqtt.port"}


def test_password_file_and_tls_files_are_read_relative_to_the_config(tmp_path):
    (tmp_path / "secret").write_text("s3cret\n")
    (tmp_path / "ca.pem").write_text("not checked here\n")
    cfg, problems = problems_of({"enabled": True, "username": "room1",
                                 "password_file": "secret", "tls": {"ca_file": "ca.pem"}},
                                tmp_path)
    assert problems == []
    assert cfg.password == "s3cret" and cfg.tls.ca_file == tmp_path / "ca.pem"
    assert cfg.port == 8883  # the TLS port unless one is given


def test_state_carries_only_what_a_light_or_dashboard_needs():
    status = Status(room="room-1", room_name="Anna's room", phase="receptive",
                    deadline=1600.0, volume=70, room_volume=70, ambient_level=40, cap=80,
                    now_playing="Pad 1",
                    channels={"foreground": ChannelStatus("playing", "Pad 1", -15.0)},
                    notices=["skipped: /home/anna/private.mp3"],
                    faults={"web": "/home/anna/state: damaged", "logins": "many failed logins"})
    state = json.loads(state_payload(status, WALL, 1000.0))  # 600 s before the deadline
    assert state == {"phase": "receptive", "remaining_s": 600.0,
                     "ends_at": "2027-01-15T08:10:00+00:00", "volume": 70, "cap": 80,
                     "now_playing": "Pad 1", "faults": ["logins", "web"]}  # names, no text
    idle = json.loads(state_payload(Status("idle"), WALL, 1000.0))
    assert idle["ends_at"] is None and idle["remaining_s"] is None


def test_events_are_phase_changes_and_button_presses_only():
    phase = json.loads(event_payload({"type": "phase", "old": "idle", "new": "ambient"}, WALL))
    assert phase == {"type": "phase", "old": "idle", "new": "ambient",
                     "at": "2027-01-15T08:00:00.000+00:00"}
    press = json.loads(event_payload({"type": "command", "verb": "welcome",
                                      "source": "button:welcome", "accepted": False,
                                      "reason": "already in welcome"}, WALL))
    assert (press["type"], press["button"], press["verb"], press["accepted"]) == (
        "button", "welcome", "welcome", False)
    for source in ("cli", "panel", "mqtt", "schedule", ""):
        assert event_payload({"type": "command", "verb": "quiet", "source": source,
                              "accepted": True, "reason": None}, WALL) is None


TOPICS = Topics.of("therapy-room", "room-1")


@pytest.mark.parametrize("action, payload, command", [
    ("welcome", b"", c.Welcome()),
    ("welcome", b"{}", c.Welcome()),
    ("welcome", b'{"track": "Short hello"}', c.Welcome("Short hello")),
    ("receptive", b'{"minutes": 20}', c.Receptive(20.0)),
    ("volume", b' {"level": "55"} ', c.Volume(55.0)),
    ("quiet", b"", c.Quiet()),
])
def test_commands_take_the_same_arguments_as_the_cli(action, payload, command):
    assert parse_cmd(TOPICS, f"therapy-room/room-1/cmd/{action}", payload) == (action, command)


@pytest.mark.parametrize("topic, payload, reason", [
    ("therapy-room/room-1/cmd/receptive", b"{minutes: 20}", "not valid JSON"),
    ("therapy-room/room-1/cmd/receptive", b"20", "JSON object"),
    ("therapy-room/room-1/cmd/receptive", b"{}", "receptive: missing minutes"),
    ("therapy-room/room-1/cmd/volume", b'{"level": NaN}', "NaN is not a number JSON allows"),
    ("therapy-room/room-1/cmd/volume", b'{"level": [1, 2]}', "level must be a number"),
    ("therapy-room/room-1/cmd/volume", b"[" * 2000 + b"]" * 2000, "nested deeper than 16"),
    ("therapy-room/room-1/cmd/shutdown", b"", "unknown command 'shutdown'"),
    ("therapy-room/room-1/cmd/welcome", b"{" + b" " * 5000 + b"}", "over 4096"),
    ("therapy-room/room-1/cmd/welcome/extra", b"", "not a command topic"),
    ("therapy-room/room-2/cmd/welcome", b"", "not a command topic"),
    ("therapy-room/room-1/cmd/welcome", b"\xff\xfe", "not UTF-8 text"),
])
def test_bad_commands_are_refused_with_a_reason(topic, payload, reason):
    with pytest.raises(Ignored) as why:
        parse_cmd(TOPICS, topic, payload)
    assert reason in str(why.value)


def test_discovery_one_device_per_room_with_unique_ids():
    def ids(room_id, prefix="therapy-room"):
        msgs = discovery_messages("homeassistant", prefix, room_id, "Room", Topics.of(
            prefix, room_id), 80, 20)
        configs = [json.loads(p) for _, p in msgs]
        assert len({json.dumps(cfg["device"], sort_keys=True) for cfg in configs}) == 1
        assert all(t.startswith("homeassistant/") and t.endswith("/config") for t, _ in msgs)
        receptive = next(cfg for cfg in configs if cfg["unique_id"].endswith("receptive"))
        assert json.loads(receptive["payload_press"]) == {"minutes": 20}
        return [cfg["unique_id"] for cfg in configs]
    a, b, other_clinic = ids("room-1"), ids("room-2"), ids("room-1", "clinic/north")
    assert len(set(a)) == 8
    assert not set(a) & set(b) and not set(a) & set(other_clinic)


def test_the_demo_config_keeps_mqtt_off_and_its_example_scenes_valid():
    import tomllib
    path = Path(__file__).resolve().parent.parent / "config.toml"
    data = tomllib.loads(path.read_text())
    assert parse_config(data, path, check_media=False).adapters["mqtt"] is None
    data["mqtt"]["enabled"] = True
    cfg = parse_config(data, path, check_media=False).adapters["mqtt"]
    assert set(cfg.scenes) == {"idle", "ambient", "welcome", "active", "receptive",
                               "reflection", "reflection_cue"}
    assert json.loads(cfg.scenes["receptive"][0].payload)["transition"] == 20
