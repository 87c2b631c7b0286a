"""One table of good and bad arguments, sent through every input: the CLI, the control socket,
the panel, MQTT, the buttons' config and the schedule. Each answers a bad one with the same
one line (and the kind its adapter maps to its own code), and the room is undisturbed."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from appliance.__main__ import main
from appliance.cli_common import EXIT_CODE
from appliance.control import ControlSocket
from appliance.errors import KINDS, CommandError
from appliance.gpio.config import parse as gpio_parse
from appliance.mqtt.messages import Ignored, Topics, parse_cmd
from appliance.schema import Problems
from appliance.web.app import HTTP_STATUS

from .test_web_api import login, post
from .test_web_extras import offer_schedule

pytestmark = pytest.mark.fast

KNOWN = ("ambient, welcome, active, receptive, iso, hold, extend, shorten, skip, step_down, "
         "step_up, reflection, quiet, end, next, volume, volume_up, volume_down")
NAME_RULE = "must be a track name from the playlist"
#: (verb, args, kind, the one line every input answers with)
BAD = [
    ("volume", {"level": 150}, "invalid", "volume: level must be between 0 and 100, not 150"),
    ("volume", {"level": -1}, "invalid", "volume: level must be between 0 and 100, not -1"),
    ("volume", {"level": "loud"}, "invalid", "volume: level must be a number, not 'loud'"),
    ("volume", {"level": True}, "invalid", "volume: level must be a number, not True"),
    ("volume", {"level": [1, 2]}, "invalid", "volume: level must be a number, not [1, 2]"),
    ("volume", {"level": {"a": {"b": 1}}}, "invalid",
     "volume: level must be a number, not {'a': {'b': 1}}"),
    ("volume", {}, "invalid", "volume: missing level"),
    ("volume", {"level": 50, "loud": 1}, "invalid", "volume: unexpected argument 'loud'"),
    ("receptive", {"minutes": "ten"}, "invalid", "receptive: minutes must be a number, not 'ten'"),
    ("receptive", {"minutes": "9" * 60}, "invalid",
     f"receptive: minutes must be a number, not '{'9' * 56}..."),
    ("receptive", {"minutes": 0}, "refused", "receptive: minutes must be between 1 and 180, not 0"),
    ("receptive", {"minutes": 1e30}, "refused",
     "receptive: minutes must be between 1 and 180, not 1e+30"),
    ("welcome", {"track": "x" * 500}, "invalid", f"welcome: track {NAME_RULE}"),
    ("welcome", {"track": "../../etc/passwd"}, "invalid", f"welcome: track {NAME_RULE}, not a path"),
    ("welcome", {"track": "%2e%2e%2fpasswd"}, "invalid", f"welcome: track {NAME_RULE}, not a path"),
    ("welcome", {"track": ["a"]}, "invalid", f"welcome: track {NAME_RULE}"),
    ("welcome", {"track": "Birthday song"}, "refused",
     "welcome: no track called 'Birthday song' in the welcome playlist"),
    ("quiet", {"now": True}, "invalid", "quiet: unexpected argument 'now'"),
    ("iso", {"minutes": 0}, "invalid", "iso: minutes must be more than 0 and at most 1440, not 0"),
    ("iso", {"minutes": 10, "from": 300}, "invalid",
     "iso: from must be between 30 and 220, not 300"),
    ("iso", {"minutes": 10, "energy": "wild"}, "invalid",
     "iso: energy must be one of high, medium, low, not 'wild'"),
    ("iso", {"minutes": 10, "from": 90, "energy": "high"}, "invalid",
     "iso: give from or energy, not both"),
    ("iso", {"minutes": 10}, "refused", "iso: no tempo known for 1 tracks: run appliance analyse"),
    ("extend", {"minutes": 1000}, "invalid",
     "extend: minutes must be more than 0 and at most 120, not 1000"),
    ("hold", {}, "refused", "hold: not possible during idle (possible during receptive)"),
    ("dance", {}, "unknown", f"unknown command 'dance' (known: {KNOWN})"),
]
GOOD = [("volume", {"level": 60}, "idle"), ("volume", {"level": "55"}, "idle"),
        ("welcome", {"track": "Short hello"}, "welcome"), ("receptive", {"minutes": 20}, "receptive")]
#: the adapters' verbs, through the inputs that carry them
BAD_ADAPTER = [
    ("button", {"name": "session", "hold_s": 0}, "invalid",
     "button: hold_s must be more than 0 and at most 30, not 0"),
    ("button", {"name": "session", "hold_s": 31}, "invalid",
     "button: hold_s must be more than 0 and at most 30, not 31"),
    ("schedule add", {"start": "2026-03-04T10:00", "minutes": 3}, "invalid",
     "schedule add: minutes must be between 5 and 480, not 3"),
    ("schedule add", {"start": "2026-03-04T10:00", "minutes": 3000}, "invalid",
     "schedule add: minutes must be between 5 and 480, not 3000"),
    ("schedule add", {"start": "soon", "minutes": 50}, "invalid",
     "schedule add: start: 'soon' is not a date and time like 2026-12-01T10:00"),
    ("schedule add", {"start": "2026-03-04T10:00", "minutes": 50, "label": "Anna B"}, "invalid",
     "schedule add: label: 'Anna B' is not a client code: 1-32 letters, digits, '.', '-' or "
     "'_', no spaces (never a client's name)"),
    ("schedule list", {"limit": 0}, "invalid", "schedule list: limit must be between 1 and 100, "
                                               "not 0"),
    ("schedule list", {"limit": 101}, "invalid", "schedule list: limit must be between 1 and "
                                                 "100, not 101"),
]


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    """A real engine (audio stood in) with the real schedule and mock buttons, its panel and
    its control socket: one for the whole table (each case checks it left the room as it
    was)."""
    from appliance.engine import Engine
    from appliance.gpio.adapter import GpioAdapter
    from appliance.session import new_state
    from appliance.session.model import Library, Settings, Track
    from appliance.web.app import create_app
    from appliance.web.config import WebConfig
    from appliance.web.secrets_store import Credentials, set_passphrase

    from .conftest import PANEL_PASSPHRASE, FakeClock, SilentAudio, adapter_context
    from .test_web_extras import BUTTONS
    folder = tmp_path_factory.mktemp("bad-input")
    library = Library(welcome=(Track(str(folder / "w.wav"), "Welcome tone"),
                               Track(str(folder / "s.wav"), "Short hello")),
                      receptive=(Track(str(folder / "r.wav"), "Pad 1"),))
    audio = SilentAudio()
    engine = Engine(new_state(Settings(), library), audio, room={"id": "test-room"})
    engine.start()
    context = adapter_context(engine, "web", WebConfig(), folder)
    offer_schedule([])(context)
    gpio = GpioAdapter(BUTTONS, engine, folder, 20, kind="mock")
    gpio.start()
    context.verbs.offer("gpio", gpio.verbs())
    set_passphrase(context.room.state_dir, PANEL_PASSPHRASE)
    app = create_app(context, context.config, Credentials(context.room.state_dir), FakeClock())
    client = app.test_client()
    control = ControlSocket(context.verbs, folder / "run" / "control.sock")
    control.start()
    yield SimpleNamespace(engine=engine, audio=audio, context=context, client=client,
                          csrf=login(client), socket=control.path, state_dir=folder)
    control.stop()
    gpio.stop()
    engine.shutdown(fade_s=0)


@pytest.fixture
def fresh_room(web_panel):
    web = web_panel()
    web.csrf = login(web.client)
    web.socket = None
    return web


# --- each input, as (kind, the one line) --------------------------------------------------

def via_socket(room, verb, args):
    if verb.startswith("schedule "):
        verb, args = "schedule", dict(args, action=verb.split()[1])
    line = json.dumps({"verb": verb, "args": args}).encode() + b"\n"
    answer = ControlSocket(room.context.verbs, room.socket or "unused.sock").answer(line)
    return None if answer["ok"] else (answer["kind"], answer["error"])


def via_panel(room, verb, args):
    if verb == "button":
        body = {k: v for k, v in args.items() if k != "name"}
        answer = post(room.client, f"/api/buttons/{args['name']}", room.csrf, body)
    elif verb == "schedule add":
        answer = post(room.client, "/api/schedule", room.csrf, args)
    elif verb == "schedule list":
        answer = room.client.get(f"/api/schedule?limit={args['limit']}")
    else:
        answer = post(room.client, f"/api/commands/{verb}", room.csrf, args)
    if answer.status_code in (200, 201):
        return None
    kind = answer.json["kind"]
    assert answer.status_code == HTTP_STATUS[KINDS[kind]], answer.json
    return kind, answer.json["error"]


def via_mqtt(room, verb, args):
    topics = Topics.of("therapy-room", "test-room")
    try:
        _, command = parse_cmd(topics, topics.cmd(verb), json.dumps(args).encode())
    except Ignored as why:
        return why.kind, str(why)
    try:
        room.engine.submit(command, source="mqtt").result()
    except CommandError as exc:
        return exc.kind, exc.message
    return None


def via_cli(room, verb, args, capsys):
    """`appliance VERB ARG` in this process, against the running control socket."""
    if set(args) - {"level", "minutes", "track", "hold_s", "start", "limit", "label", "name",
                    "from", "energy"} \
            or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool)
                       for v in args.values()):
        return "skip"  # the command line cannot say it (a list, an extra argument)
    argv = {"button": lambda a: ["button", a["name"], "--hold", str(a["hold_s"])],
            "schedule add": lambda a: ["schedule", "add", a["start"], str(a["minutes"])]
            + (["--label", a["label"]] if "label" in a else []),
            "schedule list": lambda a: ["schedule", "list", "--limit", str(a["limit"])],
            "iso": lambda a: ["iso", str(a["minutes"])] + [
                part for k in ("from", "energy") if k in a for part in (f"--{k}", str(a[k]))],
            }.get(
        verb, lambda a: [verb, *[str(v) for v in a.values()]])(args)
    try:
        code = main(argv + ["--socket", str(room.socket)])
    except SystemExit as exit_:  # argparse: the table's line, as a usage error
        code = exit_.code
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize("verb, args, kind, line", BAD + BAD_ADAPTER)
def test_a_bad_argument_gets_the_same_line_from_every_input(room, capsys, verb, args, kind,
                                                            line):
    mqtt_can = verb not in ("button", "schedule add", "schedule list")
    for name, send in (("socket", via_socket), ("panel", via_panel)) + (
            (("mqtt", via_mqtt),) if mqtt_can else ()):
        assert send(room, verb, args) == (kind, line), name
    cli = via_cli(room, verb, args, capsys)
    if cli != "skip":
        code, err = cli
        # what the command line cannot even ask, argparse names in its own words
        own = {"volume: missing level": "the following arguments are required: level",
               f"unknown command 'dance' (known: {KNOWN})": "invalid choice: 'dance'"
               }.get(line, line)
        assert code == EXIT_CODE[KINDS[kind]] and own in err, (code, err)
    if verb == "receptive" and kind == "invalid":  # a button's action takes minutes too
        problems = Problems()
        gpio_parse({"buttons": [{"name": "door", "pin": 17, "on_press": f"receptive "
                                 f"{args['minutes']}"}]}, problems, room.state_dir)
        assert problems == [f"buttons[door].on_press: {line}"]
    assert room.engine.status().phase == "idle" and room.audio.played == []  # undisturbed


@pytest.mark.parametrize("send", [via_socket, via_panel, via_mqtt])
def test_good_arguments_work_through_every_input(fresh_room, send):
    for verb, args, phase in GOOD:
        assert send(fresh_room, verb, args) is None
        assert fresh_room.engine.status().phase == phase
    assert fresh_room.audio.played[0] == ("foreground", "Short hello")


@pytest.mark.parametrize("raw, prefix", [
    (b'{"verb": "volume", "args": {"level": "\xff"}}', "request: not UTF-8 text"),
    (b"[" * 100 + b"]" * 100, "request: nested deeper than 16 levels"),
    (b'{"verb": "volume", "args": {"level": NaN}}', "request: not valid JSON"),
    (b'{"verb": "button", "args": [1, 2]}', "button: arguments must be an object, not [1, 2]"),
    (b'{"verb": "volume", "args": "x"}', "volume: arguments must be an object, not 'x'"),
    (b'{"verb": 7}', "request: needs a 'verb'"),
])
def test_malformed_requests_get_one_line_on_the_socket(room, raw, prefix):
    answer = ControlSocket(room.context.verbs, room.socket).answer(raw + b"\n")
    assert answer["ok"] is False and answer["kind"] == "invalid"
    assert answer["error"].startswith(prefix) and "\n" not in answer["error"]
    assert room.engine.status().phase == "idle"


def test_malformed_bodies_get_one_line_from_the_panel_and_mqtt(room):
    headers = {"X-CSRF-Token": room.csrf, "Content-Type": "application/json"}
    for raw, prefix in ((b'{"level": "\xff"}', "the request body: not UTF-8 text"),
                        (b"[" * 100 + b"]" * 100, "the request body: nested deeper than 16")):
        answer = room.client.post("/api/commands/volume", data=raw, headers=headers)
        assert answer.status_code == 400 and answer.json["error"].startswith(prefix)
    topics = Topics.of("therapy-room", "test-room")
    with pytest.raises(Ignored, match="payload: not UTF-8 text"):
        parse_cmd(topics, topics.cmd("volume"), b'{"level": "\xff"}')
    with pytest.raises(Ignored, match="payload: nested deeper than 16 levels"):
        parse_cmd(topics, topics.cmd("volume"), b"[" * 100 + b"]" * 100)
    assert room.engine.status().phase == "idle"
