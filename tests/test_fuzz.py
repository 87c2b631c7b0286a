"""Fuzzing every parser that takes bytes from outside (issue 11): the panel's API against its
own openapi.json (Schemathesis), MQTT payloads, M3U files and config files (Hypothesis).
Bounded so the whole file runs in seconds. What must hold: no 500, no traceback, nothing but
the one error type each parser promises, and the room still answering afterwards."""
from __future__ import annotations

import logging
import string
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.config import load_config
from appliance.errors import ConfigError, PlaylistError
from appliance.mqtt.adapter import MqttAdapter
from appliance.mqtt.config import MqttConfig
from appliance.mqtt.messages import Ignored, Topics, parse_cmd
from appliance.playlist import load_playlist
from appliance.web.secrets_store import new_api_token

from .test_web_extras import offer_schedule, with_buttons  # noqa: F401  (a fixture)

FAST = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def _no_traceback(caplog):
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, [r.getMessage() for r in bad]
    assert "Traceback" not in caplog.text


# --- the panel's API, from its own OpenAPI description --------------------------------------

@pytest.fixture
def api(web_panel, with_buttons):  # noqa: F811
    """The panel with the real schedule, buttons and client profiles behind it (their verbs,
    as the daemon's)."""
    def offer(context):
        offer_schedule([])(context)
        with_buttons(context)
    web = web_panel(offer=offer, clients=True, commands_per_minute=10000)
    web.bearer = {"Authorization": f"Bearer {new_api_token(web.state_dir)}"}
    return web


OPENAPI = Path(__file__).resolve().parent.parent / "appliance" / "web" / "openapi.json"


@pytest.mark.slow
def test_the_api_never_answers_500_nor_logs_a_traceback(api, caplog):
    # imported here, and without schemathesis's pytest plugin (addopts): 1-2 s that every
    # other run of the suite, `-m fast` above all, does not pay
    import schemathesis
        # the live stream never ends by design: its own tests cover it
    schema = schemathesis.openapi.from_path(str(OPENAPI)).exclude(path="/api/events")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10, "openapi.json lost its operations"
    for operation in operations:  # 25 cases each, as schemathesis's own runner would
        @settings(max_examples=25, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def answers_well(case):
            with_token = case.call(app=api.app, headers=api.bearer)  # past the login
            without = case.call(app=api.app)
            for answer in (with_token, without):
                assert answer.status_code < 500 or answer.status_code == 503, (
                    case.method, case.formatted_path, answer.status_code, answer.text[:200])
                if answer.status_code >= 400:
                    assert isinstance(answer.json().get("error"), str) and answer.json()["error"]
        answers_well()
    _no_traceback(caplog)
    assert api.client.get("/api/status", headers=api.bearer).status_code == 200


# --- MQTT payloads --------------------------------------------------------------------------

TOPICS = Topics.of("therapy-room", "room-1")
ACTIONS = st.sampled_from(["welcome", "receptive", "volume", "quiet", "ambient", "end", "x",
                           "volume_up", ""]) | st.text(max_size=30)
JSON_ISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["minutes", "level", "track", "x"]) | st.text(max_size=8),
        inner, max_size=4), max_leaves=20)


def _payloads():
    import json
    as_json = JSON_ISH.map(lambda v: json.dumps(v, allow_nan=True).encode())
    nested = st.integers(1, 3000).map(lambda n: b'{"level": ' + b"[" * n + b"]" * n + b"}")
    return st.binary(max_size=300) | as_json | nested | st.text(max_size=100).map(str.encode)


@pytest.mark.fast
@FAST
@given(action=ACTIONS, payload=_payloads())
def test_mqtt_payloads_are_a_command_or_a_reason(action, payload):
    try:
        parsed_action, command = parse_cmd(TOPICS, f"therapy-room/room-1/cmd/{action}", payload)
    except Ignored as why:
        assert str(why) and "\n" not in str(why)
    else:
        assert parsed_action == action and command is not None


@pytest.mark.fast
def test_mqtt_messages_never_raise_in_pahos_thread(web_panel, caplog):
    engine = web_panel().engine
    adapter = MqttAdapter(MqttConfig(), engine, "room-1")

    @FAST
    @given(action=ACTIONS, payload=_payloads(), retain=st.booleans())
    def deliver(action, payload, retain):
        message = SimpleNamespace(topic=f"therapy-room/room-1/cmd/{action}", payload=payload,
                                  retain=retain)
        adapter._on_message(None, None, message)  # what paho calls, on its thread
    deliver()
    _no_traceback(caplog)
    assert engine.submit(parse_cmd(TOPICS, "therapy-room/room-1/cmd/quiet", b"")[1]).wait(5)


# --- control-socket lines (what `appliance VERB` and scripts send) ---------------------------

def _lines():
    import json
    verbs = st.sampled_from(["status", "welcome", "receptive", "volume", "quiet", "button",
                             "schedule", "test-stall-engine", "x"]) | st.text(max_size=12)
    requests = st.fixed_dictionaries({"verb": verbs}, optional={"args": JSON_ISH})
    as_json = (requests | JSON_ISH).map(lambda v: json.dumps(v, allow_nan=True).encode())
    return as_json | _payloads()


@pytest.mark.fast
def test_control_socket_lines_get_an_answer_never_an_exception(web_panel, caplog):
    from appliance.control import ControlSocket
    web = web_panel()
    control = ControlSocket(web.context.verbs, web.state_dir / "unused.sock")  # not bound

    @FAST
    @given(line=_lines())
    def answered(line):
        answer = control.answer(line)
        assert answer["ok"] in (True, False)
        if not answer["ok"]:
            assert answer["kind"] and answer["error"] and "\n" not in answer["error"]
    answered()
    _no_traceback(caplog)
    assert control.answer(b'{"verb": "status"}')["ok"]


# --- M3U files ------------------------------------------------------------------------------

LINE = (st.sampled_from(["#EXTM3U", "#EXTINF:-1,Title", "#EXTINF:", "#EXTINF:5,", "tone.wav",
                         "./tone.wav", "../tone.wav", "/etc/passwd", "http://x/y.mp3",
                         "C:\\music\\a.mp3", "tone.wav\x00.mp3", "~/a.wav", "\ufefftone.wav",
                         "folder/", " ", "a" * 5000])
        | st.text(alphabet=st.characters(codec="utf-8"), max_size=60))


@pytest.mark.fast
@FAST
@given(lines=st.lists(LINE, max_size=12), newline=st.sampled_from(["\n", "\r\n", "\r"]),
       encoding=st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_m3u_files_give_tracks_and_one_line_problems(tmp_path_factory, lines, newline, encoding):
    folder = tmp_path_factory.mktemp("m3u")
    (folder / "tone.wav").write_bytes(b"RIFF" + bytes(100))
    (folder / "folder").mkdir()
    path = folder / "list.m3u"
    path.write_bytes(newline.join(lines).encode(encoding, "replace"))
    try:
        loaded = load_playlist(path)
    except PlaylistError as exc:
        assert str(path) in str(exc)
        return
    assert all(Path(t.path).is_file() for t in loaded.tracks)
    assert all("\n" not in p and str(path) in p for p in loaded.problems)


# --- config files ---------------------------------------------------------------------------

SECTIONS = {
    "room": ["id", "name"], "audio": ["cap", "volume", "output", "quiet_s", "fade_in_s"],
    "playlists": ["ambient", "welcome", "receptive"], "receptive": ["order", "min_minutes"],
    "web": ["port", "host", "allowed_hosts", "behind_proxy", "login_attempts", "threads",
            "secure_cookies", "session_idle_minutes"],
    "mqtt": ["enabled", "host", "port", "prefix", "room_id", "username", "tls", "scenes"],
    "schedule": ["timezone", "lead_minutes", "quiet_hours"], "gpio": ["pin_factory"],
    "control": ["socket"], "state": ["dir"], "nonsense": ["x"],
}
SCALAR = (st.integers(-10 ** 6, 10 ** 6) | st.floats(allow_nan=False, allow_infinity=False)
          | st.booleans() | st.text(alphabet=string.printable, max_size=12)
          | st.sampled_from(["", "self", "127.0.0.1", "0.0.0.0", "pulse", "mock", "order"]))


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f'"{k}" = {_toml(v)}' for k, v in value.items()) + "}"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") \
        .replace("\r", "\\r").replace("\t", "\\t") + '"'


VALUE = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.sampled_from(["a", "topic", "payload"]), inner,
                                       max_size=2), max_leaves=6)
DOCUMENT = st.dictionaries(
    st.sampled_from(sorted(SECTIONS)),
    st.dictionaries(st.sampled_from(sorted({k for ks in SECTIONS.values() for k in ks})), VALUE,
                    max_size=4) | SCALAR, max_size=5)


@pytest.mark.fast
@FAST
@given(document=DOCUMENT)
def test_config_files_load_or_list_their_problems(tmp_path_factory, document):
    folder = tmp_path_factory.mktemp("config")
    lines = []
    for section, table in document.items():
        if isinstance(table, dict):
            lines.append(f"[{section}]")
            lines += [f"{key} = {_toml(value)}" for key, value in table.items()]
        else:
            lines.insert(0, f"{section} = {_toml(table)}")
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    try:
        load_config(path, check_media=False)
    except ConfigError as exc:
        assert exc.problems and all(p and "\n" not in p for p in exc.problems)
