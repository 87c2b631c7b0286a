"""The contracts at the edges, checked against their one source:

- the phase table (session/phases.py) against the core's behaviour, the README's table, the
  OpenAPI enum, the panel's buttons and the MQTT / Home Assistant payloads;
- the status fields against the README and openapi.json;
- the stand-ins tests use against the Protocols of the real things (so they cannot drift);
- every adapter package against the shape the daemon's registry expects.
"""
from __future__ import annotations

import importlib
import inspect
import json
import re
import typing
from pathlib import Path

import pytest

from appliance.adapters import ADAPTERS
from appliance.cli_common import EXIT_CODE
from appliance.daemon import Adapter, EngineView
from appliance.engine import AudioOutput, Engine
from appliance.errors import KINDS
from appliance.mqtt.config import SCENE_NAMES
from appliance.mqtt.discovery import discovery_messages
from appliance.mqtt.messages import Topics, parse_cmd
from appliance.session import Library, Settings, Track, new_state, step
from appliance.session.model import Client
from appliance.session import commands as c
from appliance.session.phases import NEXT_VERB, PHASES, TRANSITIONS, Phase, refusal
from appliance.status import FIELDS
from appliance.verbs import ROOM_VERBS, TABLE
from appliance.web.app import HTTP_STATUS

from .conftest import SilentAudio

pytestmark = pytest.mark.fast

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
OPENAPI = json.loads((REPO / "appliance" / "web" / "openapi.json").read_text())
STATIC = REPO / "appliance" / "web" / "static"
LIB = Library(ambient=(Track("/a.wav", "A"),), welcome=(Track("/w.wav", "W"),),
              # tempos to plan with, and a slower and a faster one to step to
              receptive=tuple(Track(f"/r{bpm}.wav", f"R{bpm}", seconds=240, bpm=bpm)
                              for bpm in (80, 60, 100)))
#: how to bring a fresh room into each phase
INTO = {Phase.IDLE: (), Phase.AMBIENT: (c.Ambient(),), Phase.WELCOME: (c.Welcome(),),
        Phase.ACTIVE: (c.Active(),), Phase.RECEPTIVE: (c.Receptive(20),),
        Phase.REFLECTION: (c.Active(), c.Reflection())}
COMMAND = {"receptive": c.Receptive(20), "iso": c.Iso(20), "extend": c.Extend(1),
           "shorten": c.Shorten(1), "step_down": c.Step(-1), "step_up": c.Step(1),
           "volume": c.Volume(50),
           "volume_up": c.VolumeStep(5), "volume_down": c.VolumeStep(-5),
           "client": c.ChooseClient(Client("K17", cap=50))}


def room_in(phase):
    state = new_state(Settings(), LIB)
    for command in INTO[phase]:
        state = step(state, command, 0.0).state
    assert state.phase == phase
    return state


# --- the phase table ------------------------------------------------------------------------

@pytest.mark.parametrize("verb", list(TRANSITIONS))
@pytest.mark.parametrize("phase", PHASES)
def test_the_core_does_what_the_phase_table_says(verb, phase):
    out = step(room_in(phase), COMMAND.get(verb) or c.VERBS[verb](), 1.0)
    if phase in TRANSITIONS[verb]:
        assert out.refusal is None and out.state.phase == TRANSITIONS[verb][phase]
    else:
        assert out.refusal == refusal(verb, phase)


def _readme_table():
    """{verb: {phase: cell}} from the README's 'What each command does in each phase'."""
    start = README.index("| command | idle | ambient |")
    rows = README[start:].split("\n\n", 1)[0].splitlines()
    header = [cell.strip() for cell in rows[0].strip("|").split("|")][1:]
    table = {}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        verb = cells[0].split("`")[1].split()[0]
        table[verb] = dict(zip(header, cells[1:]))
    return table


def test_the_readmes_phase_table_is_the_phase_table():
    table = _readme_table()
    assert set(table) == {v for v in TRANSITIONS if v not in ("volume_up", "volume_down")}
    for verb, cells in table.items():
        assert list(cells) == list(PHASES)
        for phase, cell in cells.items():
            if cell.startswith("-"):
                assert phase not in TRANSITIONS[verb], f"README refuses {verb} in {phase}"
                continue
            assert phase in TRANSITIONS[verb], f"README allows {verb} in {phase}: {cell!r}"
            moved = re.search(r"→ (\w+)", cell)
            assert Phase(moved.group(1) if moved else phase) == TRANSITIONS[verb][phase], \
                f"README: {verb} in {phase} -> {cell!r}"


def test_openapi_panel_and_mqtt_use_the_same_phases_and_verbs():
    schemas = OPENAPI["components"]["schemas"]
    assert schemas["Status"]["properties"]["phase"]["enum"] == list(PHASES)
    command = OPENAPI["paths"]["/api/commands/{name}"]["post"]["parameters"][0]
    assert command["schema"]["enum"] == list(ROOM_VERBS)
    # the page: its buttons are verbs of the table, its phase labels are the phases
    html = (STATIC / "index.html").read_text()
    assert set(re.findall(r'data-verb="(\w+)"', html)) <= set(TRANSITIONS)
    script = (STATIC / "app.js").read_text()
    labels = re.search(r"var PHASES = \{(.*?)\};", script, re.S).group(1)
    assert re.findall(r"(\w+):", labels) == list(PHASES)
    assert "s.possible" in script  # which buttons are enabled comes from the status
    # MQTT: a scene per phase, HA's phase sensor lists them, HA's commands pass the table
    assert SCENE_NAMES[:-1] == tuple(PHASES)
    topics = Topics.of("therapy-room", "room-1")
    for topic, payload in discovery_messages("homeassistant", "therapy-room", "room-1", "R",
                                             topics, 80, 20):
        entity = json.loads(payload)
        if entity["unique_id"].endswith("_phase"):
            assert entity["options"] == list(PHASES)
        if "payload_press" in entity:
            verb, command = parse_cmd(topics, entity["command_topic"],
                                      entity["payload_press"].encode())
            assert verb in TRANSITIONS


def test_status_says_what_the_room_accepts_now():
    engine = Engine(room_in(Phase.WELCOME), SilentAudio())
    possible = engine.status().possible
    assert possible == tuple(v for v in TRANSITIONS if Phase.WELCOME in TRANSITIONS[v])
    assert "welcome" not in possible and "quiet" in possible and "next" in possible
    assert NEXT_VERB[Phase.WELCOME] == "active"


# --- the status fields and the error kinds --------------------------------------------------

def test_status_fields_are_documented_in_readme_and_openapi():
    assert list(OPENAPI["components"]["schemas"]["Status"]["properties"]) == list(FIELDS)
    documented = README[README.index("### Status fields"):].split("\n### ", 1)[0]
    for name in FIELDS:
        assert f"`{name}`" in documented, f"README's status fields miss {name}"


def test_every_error_kind_has_an_answer_in_every_adapter():
    assert set(HTTP_STATUS) == set(KINDS.values()) == set(EXIT_CODE)
    documented = README[README.index("### Error kinds"):].split("\n### ", 1)[0]
    for kind, cls in KINDS.items():
        assert f"`{kind}`" in documented and str(HTTP_STATUS[cls]) in documented


# --- stand-ins built from the Protocols -----------------------------------------------------

def _methods(protocol) -> dict:
    return {name: inspect.signature(member) for name, member in vars(protocol).items()
            if callable(member) and not name.startswith("_")}


def _conforms(cls, protocol):
    for name, wanted in _methods(protocol).items():
        got = getattr(cls, name, None)
        assert got is not None, f"{cls.__name__} has no {name}()"
        assert list(inspect.signature(got).parameters) == list(wanted.parameters), \
            f"{cls.__name__}.{name}{inspect.signature(got)} is not {name}{wanted}"


def test_audio_stand_ins_and_libvlc_offer_the_same_audio_output():
    from appliance.audio.vlc_output import VlcAudio
    for cls in (VlcAudio, SilentAudio):
        _conforms(cls, AudioOutput)


def test_the_engine_and_its_test_stand_in_offer_the_same_view():
    from .test_schedule_scheduler import FakeRoom
    _conforms(Engine, EngineView)
    for name in ("submit", "status", "subscribe_events", "unsubscribe", "report_fault"):
        assert list(inspect.signature(getattr(FakeRoom, name)).parameters) == \
            list(inspect.signature(getattr(Engine, name)).parameters), name


def test_button_actions_are_verbs_of_the_table():
    from appliance.gpio.config import ACTIONS
    assert set(ACTIONS) == set(ROOM_VERBS) - {"volume"}  # a button has no level to give


@pytest.mark.parametrize("name", ADAPTERS)
def test_every_adapter_package_has_the_shape_the_daemon_expects(name):
    config = importlib.import_module(f"appliance.{name}.config")
    adapter = importlib.import_module(f"appliance.{name}.adapter")
    cli = importlib.import_module(f"appliance.{name}.cli")
    assert config.SECTIONS and callable(config.parse) and callable(cli.register)
    assert list(inspect.signature(config.parse).parameters)[:4] == [
        "data", "problems", "base", "library"]
    made = typing.get_type_hints(adapter.create)["return"]  # the class, or Optional[class]
    cls = next(t for t in (typing.get_args(made) or (made,)) if t is not type(None))
    _conforms(cls, Adapter)


def test_adapters_offer_only_verbs_the_table_gives_them(tmp_path):
    from appliance.gpio.adapter import GpioAdapter
    from appliance.gpio.config import GpioConfig
    from appliance.schedule.adapter import ScheduleAdapter
    engine = Engine(room_in(Phase.IDLE), SilentAudio())
    from appliance.record.adapter import RecordAdapter
    from appliance.record.config import RecordConfig
    from .conftest import adapter_context
    offered = {"gpio": GpioAdapter(GpioConfig(pin_factory="mock"), engine, tmp_path, 20,
                                   kind="mock").verbs(),
               "schedule": ScheduleAdapter(None).verbs(),
               "record": RecordAdapter(adapter_context(engine, "record", RecordConfig(),
                                                       tmp_path), RecordConfig()).verbs()}
    for owner, verbs in offered.items():
        assert verbs and all(TABLE[v].owner == owner for v in verbs)
    assert {v for v, spec in TABLE.items() if spec.owner in offered} == \
        {v for verbs in offered.values() for v in verbs}
