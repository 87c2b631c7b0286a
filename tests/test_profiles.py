"""Client profiles (issue 13, step 1): `appliance client ...` on a real config and state dir,
every bad input with its one line and exit code, the store's atomic write and corrupt file,
and that the code never reaches a log line."""
from __future__ import annotations

import errno
import json
import logging
import os
import stat
import subprocess
import sys
import threading

import pytest

from appliance.__main__ import main
from appliance.profiles.rules import Profile
from appliance.profiles.store import FILE_NAME, ProfileStore

from .conftest import write_config, write_playlist

pytestmark = pytest.mark.fast

CODE_RULE = ("is not a client code: 1-32 letters, digits, '.', '-' or '_', no spaces (never "
             "a client's name)")


@pytest.fixture
def room(tmp_path, tones):
    """A room's config (cap 80, welcome tracks 'Welcome tone' and 'Short hello'), its own
    receptive playlists inside its folder, and K17 already stored."""
    config = write_config(tmp_path / "room", tones)
    folder = config.parent
    (folder / "lists").mkdir()
    write_playlist(folder / "lists" / "calm.m3u", [("Calm", tones / "receptive-1.wav")])
    write_playlist(folder / "lists" / "empty.m3u", [])
    (tmp_path / "outside.m3u").write_text((folder / "lists" / "calm.m3u").read_text())
    os.symlink(tmp_path / "outside.m3u", folder / "lists" / "link.m3u")
    assert cli(config, "add", "K17", "--cap", "60", "--volume", "50")[0] == 0
    return config


def cli(config, *argv):
    """(exit code, stdout, stderr) of `appliance client ...` run in this process."""
    import contextlib
    import io
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["client", *argv, "--config", str(config)])
    return code, out.getvalue(), err.getvalue()


def stored(config) -> dict:
    return json.loads((config.parent / "state" / FILE_NAME).read_text())


def test_a_profile_is_added_changed_shown_listed_and_removed(room):
    code, out, _ = cli(room, "add", "K18.b", "--welcome", "short HELLO", "--cap", "70",
                       "--volume", "65", "--ambient-level", "30", "--fade-in", "4",
                       "--quiet", "6", "--receptive-playlist", "lists/calm.m3u",
                       "--reflection-minutes", "15", "--course", "8", "--review-every", "4")
    assert code == 0, out
    assert out == ("added: K18.b: welcome Short hello, cap 70, volume 65, ambient-level 30, "
                   "fade-in 4 s, quiet 6 s, receptive-playlist lists/calm.m3u, "
                   "reflection-minutes 15, course 8, review-every 4\n")
    path = room.parent / "state" / FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stored(room)["clients"][1] == {
        "code": "K18.b", "welcome": "Short hello", "cap": 70, "volume": 65,
        "ambient_level": 30, "fade_in_s": 4, "quiet_s": 6,
        "receptive_playlist": "lists/calm.m3u", "reflection_minutes": 15, "course": 8,
        "review_every": 4}
    # an absolute path inside the folder is kept relative to it, so the folder can move
    assert cli(room, "set", "K18.b", "--receptive-playlist",
               str(room.parent / "lists" / "calm.m3u"), "--unset", "course")[0] == 0
    assert cli(room, "show", "K17")[1] == "\n".join([
        "code: K17", "welcome: the first track of the welcome playlist", "cap: 60",
        "volume: 50", "ambient-level: as the room (40)", "fade-in: as the room (0.3 s)",
        "quiet: as the room (1.5 s)", "receptive-playlist: the room's receptive playlist",
        "reflection-minutes: as the room (1)", "course: none (no course length)",
        "review-every: 4 (the default)"]) + "\n"
    assert cli(room, "list")[1] == (
        "K17: cap 60, volume 50\n"
        "K18.b: welcome Short hello, cap 70, volume 65, ambient-level 30, fade-in 4 s, "
        "quiet 6 s, receptive-playlist lists/calm.m3u, reflection-minutes 15, "
        "review-every 4\n")
    listed = json.loads(cli(room, "list", "--json")[1])
    assert [p["code"] for p in listed] == ["K17", "K18.b"] and "course" not in listed[1]
    assert cli(room, "remove", "K17") == (0, "removed the profile of K17\n", "")
    assert [p["code"] for p in stored(room)["clients"]] == ["K18.b"]
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_the_real_command_line_without_a_daemon(room):
    """The installed entry point, with no daemon running: profiles need only the files."""
    result = subprocess.run([sys.executable, "-m", "appliance", "client", "list", "--config",
                             str(room)], capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stdout) == (0, "K17: cap 60, volume 50\n")


WELCOME_TITLES = "its tracks: 'Welcome tone', 'Short hello'"


BAD_INPUT = [
    (["add", "Anna Smith"], f"client add: code: 'Anna Smith' {CODE_RULE}"),
    (["add", "../K17"], f"client add: code: '../K17' {CODE_RULE}"),
    (["add", "K" * 33], f"client add: code: {'K' * 33!r} {CODE_RULE}"),
    (["show", "/etc/passwd"], f"client show: code: '/etc/passwd' {CODE_RULE}"),
    (["remove", "a b"], f"client remove: code: 'a b' {CODE_RULE}"),
    (["add", "K18", "--cap", "90"], "client add: cap: 90 is above the room's cap (80)"),
    (["add", "K18", "--cap", "0"], "client add: cap: must be between 1 and 100, not 0"),
    (["add", "K18", "--cap", "loud"], "client add: cap: must be a number, not 'loud'"),
    (["add", "K18", "--volume", "150"],
     "client add: volume: must be between 0 and 100, not 150"),
    (["add", "K18", "--volume", "85"], "client add: volume: 85 is above the room's cap (80)"),
    (["add", "K18", "--cap", "50", "--ambient-level", "60"],
     "client add: ambient-level: 60 is above the profile's cap (50)"),
    (["add", "K18", "--ambient-level", "-1"],
     "client add: ambient-level: must be between 0 and 100, not -1"),
    (["set", "K17", "--volume", "70"], "client set: volume: 70 is above the profile's cap (60)"),
    (["set", "K17", "--cap", "40"], "client set: volume: 50 is above the profile's cap (40)"),
    (["add", "K18", "--fade-in", "0"], "client add: fade-in: must be between 0.05 and 30, not 0"),
    (["add", "K18", "--quiet", "nan"], "client add: quiet: must be a number, not nan"),
    (["add", "K18", "--reflection-minutes", "121"],
     "client add: reflection-minutes: must be between 0.05 and 120, not 121"),
    (["add", "K18", "--course", "0"], "client add: course: must be between 1 and 52, not 0"),
    (["add", "K18", "--course", "2.5"], "client add: course: must be a whole number, not 2.5"),
    (["add", "K18", "--review-every", "53"],
     "client add: review-every: must be between 1 and 52, not 53"),
    (["add", "K18", "--welcome", "Nope"],
     f"client add: welcome: no track called 'Nope' in the welcome playlist ({WELCOME_TITLES})"),
    (["add", "K18", "--welcome", "../welcome.wav"], "client add: welcome: no track called "
     f"'../welcome.wav' in the welcome playlist ({WELCOME_TITLES})"),
    (["add", "K18", "--welcome", ""],
     "client add: welcome: must be text of 1-200 printable characters, not ''"),
    (["add", "K18", "--receptive-playlist", "/etc/x.m3u"],
     "client add: receptive-playlist: '/etc/x.m3u' is outside the config's folder ({room})"),
    (["add", "K18", "--receptive-playlist", "../outside.m3u"],
     "client add: receptive-playlist: '../outside.m3u' is outside the config's folder ({room})"),
    (["add", "K18", "--receptive-playlist", "lists/link.m3u"],
     "client add: receptive-playlist: 'lists/link.m3u' leads outside the config's folder "
     "({room})"),
    (["add", "K18", "--receptive-playlist", "lists/none.m3u"],
     "client add: receptive-playlist: 'lists/none.m3u': no such file in {room}"),
    (["add", "K18", "--receptive-playlist", "config.toml"],
     "client add: receptive-playlist: 'config.toml' is not an .m3u playlist"),
    (["add", "K18", "--receptive-playlist", "lists/empty.m3u"],
     "client add: receptive-playlist: 'lists/empty.m3u' has no track that can be played"),
    (["set", "K17", "--cap", "50", "--unset", "cap"], "client set: cap: given and unset at once"),
]


def test_bad_input_is_one_line_naming_the_field_exit_2_and_nothing_stored_changes(room):
    """Every case in one room (one fixture, not 30: the fast suite has a 30 s budget)."""
    path = room.parent / "state" / FILE_NAME
    before = path.read_bytes()
    wrong = []
    for argv, line in BAD_INPUT:
        got = cli(room, *argv)
        if got != (2, "", line.format(room=room.parent) + "\n") or path.read_bytes() != before:
            wrong.append(f"{argv}: {got}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("argv, line", [
    (["add", "K17"], "client add: 'K17' already has a profile (change it with appliance "
                     "client set K17)"),
    (["set", "K18", "--cap", "50"],
     "client set: no profile with the code 'K18' (see appliance client list)"),
    (["show", "K18"], "client show: no profile with the code 'K18' (see appliance client list)"),
    (["remove", "K18"],
     "client remove: no profile with the code 'K18' (see appliance client list)"),
])
def test_an_unknown_or_taken_code_is_refused_exit_1(room, argv, line):
    before = (room.parent / "state" / FILE_NAME).read_bytes()
    assert cli(room, *argv) == (1, "", line + "\n")
    assert (room.parent / "state" / FILE_NAME).read_bytes() == before


@pytest.mark.parametrize("content, why", [
    (b'{"version": 1, "clients": [{"code": "K1', "file: not valid JSON"),  # a torn write
    (b"\xff\xfe\x00", "file: not valid JSON"),
    (b'{"version": 2, "clients": []}', "file: not a profiles file (version 1 with clients)"),
    (b'{"version": 1, "clients": [{"code": "K17", "cap": "loud"}]}',
     "clients[0]: cap: must be a number, not 'loud'"),
    (b'{"version": 1, "clients": [{"code": "K17"}, {"code": "K17"}]}',
     "clients[1]: the same code twice"),
    (b'{"version": 1, "clients": [{"code": "K17", "receptive_playlist": "../x.m3u"}]}',
     "clients[0]: receptive-playlist: not a path inside the config's folder"),
])
def test_a_corrupt_store_is_moved_aside_reported_in_one_line_and_a_new_one_begun(
        room, content, why):
    path = room.parent / "state" / FILE_NAME
    path.write_bytes(content)
    code, out, err = cli(room, "list")
    aside = [p for p in path.parent.iterdir() if p.name.startswith(FILE_NAME + ".corrupt-")]
    assert len(aside) == 1 and aside[0].read_bytes() == content, "kept for the IT person"
    assert (code, out) == (0, "no client profiles (add one with appliance client add CODE)\n")
    assert err.startswith(f"client: {path}: {why}")
    assert err.endswith(f"; moved aside to {aside[0].name}, starting with no profiles\n")
    assert err.count("\n") == 1 and "K17" not in err  # the line may be logged: no code
    assert cli(room, "add", "K19")[0] == 0
    assert [p["code"] for p in stored(room)["clients"]] == ["K19"]


def test_a_failing_write_leaves_the_old_file_whole_and_says_nothing_changed(room, monkeypatch):
    path = room.parent / "state" / FILE_NAME
    before = path.read_bytes()

    def disk_full(*_):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "replace", disk_full)
    assert cli(room, "set", "K17", "--cap", "70") == (
        1, "", f"client set: cannot write {path.parent}: No space left on device; "
               "nothing changed\n")
    assert cli(room, "remove", "K17")[0] == 1
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [".clients.lock", FILE_NAME]


def test_changes_at_the_same_time_are_not_lost(tmp_path):
    """Two commands at once (a therapist's terminal and the panel later) each read, change
    and write under the store's lock."""
    store = ProfileStore(tmp_path / "state")

    def add(code):
        with store.locked():
            profiles, _ = store.load()
            store.save({**profiles, code: Profile(code, course=8)})
    threads = [threading.Thread(target=add, args=(f"C{i}",)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(store.load()[0]) == sorted(f"C{i}" for i in range(12))


def test_no_log_line_at_info_or_above_carries_the_code(room, caplog):
    """The code never leaves the box: the journal is shipped off it, so nothing the
    profiles do logs it (or anything at INFO and above)."""
    code = "Q7x-secret"
    caplog.set_level(logging.DEBUG)
    assert cli(room, "add", code, "--welcome", "Welcome tone", "--course", "8")[0] == 0
    for argv in (["set", code, "--cap", "55"], ["show", code], ["list"], ["list", "--json"],
                 ["add", code], ["set", code, "--cap", "99"], ["remove", code],
                 ["remove", code]):
        cli(room, *argv)
    (room.parent / "state" / FILE_NAME).write_text(json.dumps(
        {"version": 1, "clients": [{"code": code, "cap": "x"}]}))
    assert "Q7x" not in cli(room, "list")[2]  # the corrupt-file line
    loud = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert not [r.getMessage() for r in loud if "Q7x" in r.getMessage()]
    assert not [r for r in caplog.records if r.name.startswith("appliance.profiles")]
