"""Choosing a client (issue 13, part 2): the pure core follows the profile, and the daemon's
`client use` resolves it from the store (a real engine, stand-in audio, a real state dir)."""
from __future__ import annotations

import json

import pytest

from appliance.engine import Engine
from appliance.errors import InvalidArgument, Refused
from appliance.levels import level_to_db
from appliance.profiles.desk import ClientDesk, change
from appliance.profiles.rules import Room
from appliance.session import Library, Settings, Track, new_state, step
from appliance.session import commands as c
from appliance.session.model import AMBIENT_CH, FOREGROUND_CH, Client
from appliance.verbs import Registry

from .conftest import SilentAudio, write_playlist

pytestmark = pytest.mark.fast

CALM = (Track("/m/calm-1.wav", "Calm 1"), Track("/m/calm-2.wav", "Calm 2"))
LIB = Library(ambient=(Track("/m/a.wav", "Ambient"),),
              welcome=(Track("/m/w.wav", "Hello song"), Track("/m/s.wav", "Short hello")),
              receptive=(Track("/m/r.wav", "Pad"),))
ROOM = Settings(cap=80, volume=70, ambient_level=40, fade_in_s=1, quiet_s=3,
                reflection_minutes=10)
K17 = Client("K17", welcome="Short hello", cap=50, volume=45, ambient_level=30, fade_in_s=4,
             quiet_s=8, reflection_minutes=5, receptive=CALM)


def run(state, *commands, now=0.0):
    out = None
    for command in commands:
        out = step(state, command, now)
        assert out.refusal is None, out.refusal
        state = out.state
    return out


def test_the_whole_session_follows_the_chosen_profile_and_its_end_gives_the_room_back():
    out = run(new_state(ROOM, LIB), c.ChooseClient(K17))
    s = out.state
    assert "K17" in out.message and s.client == K17
    assert (s.settings.cap, s.volume, s.ambient_level) == (50, 45, 30)
    assert (s.settings.fade_in_s, s.settings.quiet_s, s.settings.reflection_s) == (4, 8, 300)
    ambient = run(s, c.Ambient(), now=1).effects[0]
    assert (ambient.channel, ambient.level_db) == (AMBIENT_CH, level_to_db(30))
    welcome = run(run(s, c.Ambient()).state, c.Welcome(), now=2)
    song = next(e for e in welcome.effects if isinstance(e, c.Play))
    assert (song.track.title, song.level_db, song.fade_in_s) == ("Short hello", level_to_db(45), 4)
    loud = run(welcome.state, c.Volume(100))
    assert loud.message == "volume capped at 50" and loud.state.volume == 50
    receptive = run(loud.state, c.Receptive(5))
    block = next(e for e in receptive.effects if isinstance(e, c.Play))
    assert block.track.title == "Calm 1" and block.level_db == level_to_db(50)
    reflection = run(receptive.state, c.Reflection(), now=10)
    assert reflection.state.deadline == 10 + 300
    idle = step(reflection.state, c.Tick(), 310).state
    assert idle.phase == "idle" and idle.client is None and idle.room_own is None
    assert (idle.settings, idle.volume, idle.ambient_level) == (ROOM, 70, 40)
    assert run(idle, c.Welcome()).effects[0].track.title == "Hello song"


def test_chosen_during_ambient_the_bed_glides_under_the_profiles_cap_at_once():
    s = run(new_state(ROOM, LIB), c.Ambient(), c.Volume(80)).state  # the bed at 80
    out = run(s, c.ChooseClient(Client("K9", cap=35)))
    assert out.state.ambient_level == 35 and out.state.volume == 35
    [fade] = out.effects
    assert (fade.channel, fade.level_db) == (AMBIENT_CH, level_to_db(35)) and fade.seconds < 0.5
    cleared = run(out.state, c.ClearClient())
    assert cleared.state.client is None and cleared.state.ambient_level == 80
    assert [(e.channel, e.level_db) for e in cleared.effects] == [(AMBIENT_CH, level_to_db(80))]


def test_changing_the_client_starts_from_the_rooms_own_settings():
    s = run(new_state(ROOM, LIB), c.ChooseClient(K17), c.ChooseClient(Client("K18"))).state
    assert s.client.code == "K18" and s.settings == ROOM and (s.volume, s.ambient_level) == (70, 40)
    assert s.room_own.settings == ROOM


@pytest.mark.parametrize("phase_in", [(c.Welcome(),), (c.Active(),), (c.Receptive(5),),
                                      (c.Active(), c.Reflection())])
def test_after_the_welcome_the_client_stays_until_the_session_ends(phase_in):
    s = run(new_state(ROOM, LIB), c.ChooseClient(K17), *phase_in).state
    for command in (c.ChooseClient(Client("K18")), c.ClearClient()):
        out = step(s, command, 1)
        assert out.refusal == f"client: not possible during {s.phase} (possible during idle, " \
                              "ambient)"
        assert out.state.client == K17


def test_a_profile_whose_welcome_left_the_playlist_is_refused_naming_the_field():
    out = step(new_state(ROOM, LIB), c.ChooseClient(Client("K17", welcome="Gone song")), 0)
    assert out.refusal == ("client use: welcome: no track called 'Gone song' in the welcome "
                           "playlist (change the profile: appliance client set)")
    assert out.state.client is None


def test_a_booked_ambient_chooses_its_client_first_but_not_over_one_chosen_by_hand():
    booked = c.Ambient(fade_in_s=60, welcome_track="Hello song", client=K17)
    out = run(new_state(ROOM, LIB), booked)
    play = out.effects[0]
    assert out.state.client == K17 and play.level_db == level_to_db(30) and play.fade_in_s == 60
    assert out.state.session_welcome == "Short hello"  # the profile's, over the booking's
    by_hand = run(new_state(ROOM, LIB), c.ChooseClient(Client("K18")), booked).state
    assert by_hand.client.code == "K18" and by_hand.session_welcome == "Hello song"
    assert run(by_hand, c.ClearClient()).state.session_welcome == "Hello song"


def test_a_booking_whose_client_cannot_be_used_is_a_notice_without_the_code():
    problem = "one-off session o-1: no client profile could be found for its code; the room " \
              "runs on its own settings"
    out = run(new_state(ROOM, LIB), c.Ambient(client_problem=problem))
    assert out.state.phase == "ambient" and out.state.client is None
    assert [e.message for e in out.effects if isinstance(e, c.Notice)] == [problem]
    out = run(new_state(ROOM, LIB), c.Ambient(client=Client("Q7", welcome="Gone")))
    [notice] = [e.message for e in out.effects if isinstance(e, c.Notice)]
    assert notice.startswith("the booked client's profile was not used: welcome:")
    assert "Q7" not in notice and out.state.client is None


def test_the_mqtt_state_is_built_field_by_field_and_never_carries_the_code():
    from appliance.mqtt.messages import state_payload
    from appliance.status import FIELDS, Status
    status = Status(phase="ambient", client="Q7x-k", cap=40, room="r", room_name="Room")
    sent = json.loads(state_payload(status, 1e9, 0.0))
    assert "Q7x-k" not in json.dumps(sent) and "client" in FIELDS
    assert set(sent) == {"phase", "remaining_s", "ends_at", "volume", "cap", "now_playing",
                         "faults"}


# --- the daemon's side: resolved from the store ------------------------------------------------

@pytest.fixture
def desk(tmp_path, tones):
    folder = tmp_path / "room"
    folder.mkdir()
    write_playlist(folder / "calm.m3u", [("Calm", tones / "receptive-1.wav")])
    welcome = (Track(str(tones / "welcome.wav"), "Welcome tone"),
               Track(str(tones / "welcome-short.wav"), "Short hello"))
    room = Room(cap=80, folder=folder, welcome=welcome)
    desk = ClientDesk(tmp_path / "state", room)
    change(desk.store, room, "K17", {"welcome": "short hello", "cap": "60",
                                     "receptive-playlist": "calm.m3u"}, adding=True)
    engine = Engine(new_state(ROOM, Library(ambient=LIB.ambient, welcome=welcome,
                                            receptive=LIB.receptive)), SilentAudio())
    engine.start()
    registry = Registry(engine)
    registry.offer_commands("clients", desk.commands())
    yield desk, registry, engine
    engine.shutdown(0.01)


def test_client_use_resolves_the_profile_and_the_status_shows_the_code(desk):
    desk, registry, engine = desk
    answer = registry.call("client use", {"code": "K17"}, source="cli")
    assert answer["status"]["client"] == "K17" and answer["status"]["cap"] == 60
    assert engine.state.client.receptive[0].title == "Calm"
    assert engine.state.session_welcome == "Short hello"
    assert registry.call("client clear", {})["status"]["client"] is None


def test_client_use_refuses_a_name_an_unknown_code_and_a_profile_that_no_longer_fits(desk):
    desk, registry, engine = desk
    with pytest.raises(InvalidArgument, match=r"^client use: code: 'Anna Smith' is not a "
                                               r"client code: .*no spaces"):
        registry.call("client use", {"code": "Anna Smith"})
    with pytest.raises(Refused, match=r"^client use: no profile with the code 'K99'"):
        registry.call("client use", {"code": "K99"})
    gone = ClientDesk(desk.store.dir, Room(80, desk.room.folder, desk.room.welcome[:1]))
    registry.offer_commands("clients", gone.commands())  # the welcome playlist lost a song
    with pytest.raises(Refused, match=r"^client use: welcome: no track called 'Short hello'"):
        registry.call("client use", {"code": "K17"})
    assert engine.status().client is None


def test_the_command_line_refuses_a_name_before_anything_is_sent(capsys):
    from appliance.__main__ import main
    with pytest.raises(SystemExit) as exit_:
        main(["client", "use", "Anna Smith", "--socket", "/nonexistent/control.sock"])
    assert exit_.value.code == 2
    assert "client use: code: 'Anna Smith' is not a client code" in capsys.readouterr().err


def test_a_state_dir_that_refuses_is_a_refusal_and_the_room_runs_on(desk, monkeypatch):
    desk, registry, engine = desk

    def refuse(*_):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(desk.store, "locked", refuse)
    with pytest.raises(Refused, match=r"^client use: cannot read .*clients.json \(Permission "):
        registry.call("client use", {"code": "K17"})
    assert engine.status().client is None and engine.status().fault is None


def test_the_chosen_clients_welcome_song_is_the_one_kept_ready():
    """On a Pi the welcome waits pre-rolled, so a press only resumes it (38 ms, not the 85 ms
    of a fresh play()): the engine tells the audio which song that is whenever it changes:
    the room's at start, the client's once chosen, the room's again after the session."""
    audio = SilentAudio()
    engine = Engine(new_state(ROOM, LIB), audio)
    engine.start()
    try:
        def expected_after(command):
            assert engine.submit(command).wait(5)
            return audio.expected.title
        assert expected_after(c.ClearClient()) == "Hello song"
        assert expected_after(c.ChooseClient(K17)) == "Short hello"
        assert expected_after(c.Ambient()) == "Short hello"
        assert expected_after(c.End()) == "Hello song"  # the session is over
    finally:
        engine.shutdown(fade_s=0.05)
