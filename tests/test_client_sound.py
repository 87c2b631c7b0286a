"""A chosen client's profile, heard at the sink on both paths (issue 13, part 6): their own
welcome song (a tone of its own), and their cap below the room's holding with `volume 100`
asked, applied at once to the bed that is already playing."""
from __future__ import annotations

import logging
import time

from appliance.profiles.desk import ClientDesk

from .conftest import AMBIENT_HZ, WELCOME_HZ, both_paths
from .sound import heard_at, write_tone

import pytest

pytestmark = pytest.mark.sound

THEIR_HZ = 880.0     # the client's own welcome song
HEARD_DB = -60.0
CODE = "Q7x-k"       # never in a log line


@both_paths
def test_the_chosen_clients_welcome_and_cap_are_heard(room_factory, recorder, tones, tmp_path,
                                                       caplog):
    theirs = write_tone(tmp_path / "their-hello.wav", THEIR_HZ, 2.0)
    room = room_factory(audio={"cap": 80, "volume": 70, "ambient_level": 60},
                        playlists={"welcome": [("Welcome tone", tones / "welcome.wav"),
                                               ("Their hello", theirs)]})
    ClientDesk.of(room.cfg).change(CODE, {"welcome": "their hello", "cap": 40}, adding=True)
    caplog.set_level(logging.INFO)
    with room:
        room.send("ambient")
        time.sleep(0.8)
        chosen = room.send("client use", code=CODE)
        assert (room.status()["client"], room.status()["cap"]) == (CODE, 40)
        time.sleep(1.0)
        loud = room.send("volume", level=100)  # the bed: asked for more than their cap
        time.sleep(0.6)
        welcome = room.send("welcome")
        time.sleep(0.6)
        room.send("volume", level=100)         # the song: the same
        time.sleep(1.0)
        assert room.status()["now_playing"] == "Their hello"
    rec = recorder.take()
    bed = [db for _, db in rec.tone_levels(AMBIENT_HZ, chosen - 0.4, chosen)]
    assert min(bed) > heard_at(60) - 2, "the bed was not at the room's level before"
    under = [db for _, db in rec.tone_levels(AMBIENT_HZ, chosen + 0.6, welcome)]
    assert abs(under[0] - heard_at(40)) <= 2, "the bed did not move under their cap at once"
    assert max(under) <= heard_at(40) + 0.5, f"the bed went over their cap after {loud:.0f}"
    onset = rec.onset(THEIR_HZ, after=welcome, threshold_db=HEARD_DB)
    assert onset is not None and onset - welcome < 1.0, "their welcome song was not heard"
    song = [db for _, db in rec.tone_levels(THEIR_HZ, onset + 0.4, onset + 1.6)]  # 2 s long
    assert max(song) <= heard_at(40) + 0.5, "their song went over their cap"
    assert min(song) > heard_at(40) - 3, "their song was not at their cap (volume 100 asked)"
    room_song = [db for _, db in rec.tone_levels(WELCOME_HZ, welcome, rec.end)]
    assert max(room_song) < HEARD_DB, "the room's own welcome song was heard"
    assert CODE not in caplog.text, "a log line carries the client's code"
