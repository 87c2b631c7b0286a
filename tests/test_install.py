"""`./setup.sh install | upgrade | uninstall` into a throwaway system root (`--root`).

A copy of this checkout plays /opt/therapy-room. Its venv is seeded with copies of the
test venv's dependencies, so pip finds them installed and fetches only its build backend.
setup.sh itself runs exactly as on a Pi: useradd/userdel on ROOT/etc/passwd, `systemctl
--root` to enable, setpriv to act as the service user. Only starting the service is skipped (systemd is not
PID 1 here): the script says so, and the tests check that it says so when it should.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MAX_EXPOSURE = 2.0

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="setup.sh install needs root")


@pytest.fixture(scope="module")
def app():
    """A copy of the checkout (tracked and new files, no venv), readable by the service user."""
    base = Path(tempfile.mkdtemp(prefix="install-"))
    base.chmod(0o755)
    app = base / "therapy-room"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (app / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, app / name)
    for folder in [app, *[p for p in app.rglob("*") if p.is_dir()]]:
        folder.chmod(0o755)
    if (REPO / "media/demo").is_dir():  # ./setup.sh test made them: spare synthesising again
        shutil.copytree(REPO / "media/demo", app / "media/demo")
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(app / ".venv")], check=True)
    seed_dependencies(next((app / ".venv" / "lib").glob("python3*/site-packages")))
    yield app
    shutil.rmtree(base)


def seed_dependencies(site: Path):
    """Copy the distributions the appliance needs from this test venv into `site`, as pip
    would have installed them: pip then finds them there and downloads nothing."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    have = {canonicalize_name(d.metadata["Name"]) for d in metadata.distributions(path=[site])}
    todo, seen = ["therapy-room-appliance"], set()
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        dist = metadata.distribution(name)
        todo += [r.name for r in map(Requirement, dist.requires or [])
                 if r.marker is None or r.marker.evaluate({"extra": ""})]
        if name == "therapy-room-appliance" or name in have:
            continue  # the appliance itself is what setup.sh installs
        for file in dist.files or []:
            if not str(file).startswith(".."):  # scripts in bin/ point at the test venv
                (site / file).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(dist.locate_file(file), site / file)


@pytest.fixture
def root(app):
    """A minimal system tree: root, the audio group, no gpio group (plain Debian)."""
    root = app.parent / f"root-{len(list(app.parent.glob('root-*')))}"
    (root / "etc").mkdir(parents=True)
    (root / "usr/sbin").mkdir(parents=True)
    (root / "usr/sbin/nologin").write_text("#!/bin/sh\nexit 1\n")
    (root / "usr/sbin/nologin").chmod(0o755)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc/group").write_text("root:x:0:\naudio:x:29:\n")
    (root / "etc/shadow").write_text("root:*:19000:0:99999:7:::\n")
    (root / "etc/gshadow").write_text("root:*::\naudio:*::\n")
    for name in ("shadow", "gshadow"):
        (root / "etc" / name).chmod(0o640)
    root.chmod(0o755)
    yield root
    shutil.rmtree(root)


def setup(app: Path, *args, ok=True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "VIRTUAL_ENV")}
    result = subprocess.run([str(app / "setup.sh"), *args], cwd=app, capture_output=True,
                            text=True, env=env, timeout=300)
    if ok:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def entry(root: Path, table: str, name: str):
    for line in (root / "etc" / table).read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return fields
    return None


def tree(root: Path) -> dict:
    """Every path under root -> (mode, uid, gid, content hash or link target)."""
    seen = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            what = os.readlink(path)
        elif stat.S_ISREG(st.st_mode):
            what = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            what = None
        seen[str(path.relative_to(root))] = (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                                             what)
    return seen


def owner(path: Path):
    st = path.stat()
    return oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid


@pytest.mark.install
def test_install_writes_user_config_unit_and_state_then_again_changes_nothing(app, root):
    first = setup(app, "install", "--root", str(root))
    user = entry(root, "passwd", "therapy-room")
    group = entry(root, "group", "therapy-room")
    assert user and group, first.stdout
    uid, gid = int(user[2]), int(group[2])
    assert 0 < uid < 1000 and user[5:] == ["/var/lib/therapy-room", "/usr/sbin/nologin"]

    etc = root / "etc/therapy-room"
    config = etc / "config.toml"
    assert owner(config) == ("0o640", 0, gid), "every local user could read an MQTT password"
    text = config.read_text()
    assert 'output = "alsa"' in text
    assert 'alsa_device = "default"' in text, "no sound card in this root"
    assert re.search(r'WARNING: .*keeping alsa_device = "default"', first.stderr)
    assert 'socket = "/run/therapy-room/control.sock"' in text
    assert 'dir = "/var/lib/therapy-room"' in text
    assert sorted(p.name for p in (etc / "media/demo").iterdir())[:1] == ["ambient-drone.wav"]

    unit = root / "etc/systemd/system/therapy-room.service"
    assert owner(unit) == ("0o644", 0, 0)
    assert f"ExecStart={app}/.venv/bin/appliance run --config /etc/therapy-room/config.toml" \
        in unit.read_text()
    groups = root / "etc/systemd/system/therapy-room.service.d/groups.conf"
    assert "SupplementaryGroups=audio\n" in groups.read_text(), "gpio is not on plain Debian"
    assert "no 'gpio' group on this system" in first.stderr
    wants = root / "etc/systemd/system/multi-user.target.wants/therapy-room.service"
    assert os.readlink(wants) == "/etc/systemd/system/therapy-room.service"
    assert "skipped: systemctl restart therapy-room.service" in first.stdout

    state = root / "var/lib/therapy-room"
    assert owner(state) == ("0o750", uid, gid)
    stored = state / "web-passphrase.json"
    assert owner(stored) == ("0o600", uid, gid), "the service user owns the panel's hash"
    shown = re.search(r"passphrase: (\S+)", first.stdout).group(1)
    from appliance.web.secrets_store import Credentials
    assert Credentials(state).check_passphrase(shown), "the printed passphrase does not log in"
    assert not Credentials(state).check_passphrase(shown + "x")

    before = tree(root)
    again = setup(app, "install", "--root", str(root))
    assert tree(root) == before, "a second install changed the system"
    assert "nothing changed" in again.stdout and "passphrase:" not in again.stdout


# /proc/asound of a Pi 4: the headphone jack and two HDMI outputs
PI_CARDS = {
    "cards": " 0 [Headphones     ]: bcm2835_headpho - bcm2835 Headphones\n"
             "                      bcm2835 Headphones\n"
             " 1 [vc4hdmi0       ]: vc4-hdmi - vc4-hdmi-0\n"
             "                      vc4-hdmi-0\n"
             " 2 [vc4hdmi1       ]: vc4-hdmi - vc4-hdmi-1\n"
             "                      vc4-hdmi-1\n",
    "pcm": "00-00: bcm2835 Headphones : bcm2835 Headphones : playback 8\n"
           "01-00: MAI PCM i2s-hifi-0 : MAI PCM i2s-hifi-0 : playback 1\n"
           "02-00: MAI PCM i2s-hifi-0 : MAI PCM i2s-hifi-0 : playback 1\n",
    "card0/id": "Headphones\n", "card1/id": "vc4hdmi0\n", "card2/id": "vc4hdmi1\n",
    "card0/pcm0p/info": "card: 0\ndevice: 0\nsubdevice: 0\nstream: PLAYBACK\n"
                        "id: bcm2835 Headphones\nname: bcm2835 Headphones\n"
                        "subname: subdevice #0\nclass: 0\nsubclass: 0\n"
                        "subdevices_count: 8\nsubdevices_avail: 8\n",
    "card1/pcm0p/info": "card: 1\ndevice: 0\nsubdevice: 0\nstream: PLAYBACK\n"
                        "id: MAI PCM i2s-hifi-0\nname: MAI PCM i2s-hifi-0\n"
                        "subname: subdevice #0\nclass: 0\nsubclass: 0\n"
                        "subdevices_count: 1\nsubdevices_avail: 1\n",
    "card2/pcm0p/info": "card: 2\ndevice: 0\nsubdevice: 0\nstream: PLAYBACK\n"
                        "id: MAI PCM i2s-hifi-0\nname: MAI PCM i2s-hifi-0\n"
                        "subname: subdevice #0\nclass: 0\nsubclass: 0\n"
                        "subdevices_count: 1\nsubdevices_avail: 1\n",
}


@pytest.mark.install
def test_a_new_config_gets_the_card_that_appliance_audio_devices_picks(app, root):
    asound = root / "proc/asound"
    for name, text in PI_CARDS.items():
        (asound / name).parent.mkdir(parents=True, exist_ok=True)
        (asound / name).write_text(text)
    pick = subprocess.run([str(app / ".venv/bin/appliance"), "audio", "devices", "--pick"],
                          capture_output=True, text=True,
                          env=dict(os.environ, APPLIANCE_ASOUND_ROOT=str(asound)))
    assert pick.returncode == 0 and len(pick.stdout.splitlines()) == 1, pick.stderr
    device = pick.stdout.strip()
    out = setup(app, "install", "--root", str(root)).stdout
    text = (root / "etc/therapy-room/config.toml").read_text()
    assert 'output = "alsa"' in text and f'alsa_device = "{device}"' in text
    assert f"ALSA output: {device}" in out


@pytest.mark.install
def test_the_unit_as_installed_passes_verify_and_scores_at_most_2(app, root):
    setup(app, "install", "--root", str(root))
    unit = root / "etc/systemd/system/therapy-room.service"
    verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                            text=True)
    assert verify.returncode == 0 and verify.stdout + verify.stderr == "", verify.stderr
    security = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)],
                              capture_output=True, text=True)
    score = re.search(r"Overall exposure level for therapy-room\.service: ([0-9.]+)",
                      security.stdout)
    assert score, security.stdout + security.stderr
    assert float(score.group(1)) <= MAX_EXPOSURE, security.stdout
    # what the room needs is still there (the drop-in is part of what systemd reads)
    text = security.stdout
    assert "char-alsa:rw" in text and "char-gpiochip:rw" in text
    assert re.search(r"✗ SupplementaryGroups=", text), "the groups drop-in was not read"
    for line in ("After=sound.target network.target", "WatchdogSec=10",
                 "RestartPreventExitStatus=2", "Environment=PYTHONFAULTHANDLER=1"):
        assert line in unit.read_text()
    assert not re.search(r"(?m)^(After|Wants|Requires)=.*time-sync", unit.read_text()), \
        "an offline clinic would get no room at all"


@pytest.mark.install
def test_a_gpio_group_a_hand_edited_unit_and_an_old_config_mode_are_put_right(app, root):
    with open(root / "etc/group", "a") as f:
        f.write("gpio:x:997:\n")
    setup(app, "install", "--root", str(root))
    groups = root / "etc/systemd/system/therapy-room.service.d/groups.conf"
    assert "SupplementaryGroups=audio gpio\n" in groups.read_text()

    unit = root / "etc/systemd/system/therapy-room.service"
    rendered = unit.read_text()
    unit.write_text(rendered.replace("WatchdogSec=10", "WatchdogSec=0"))
    config = root / "etc/therapy-room/config.toml"
    config.chmod(0o644)  # what the first setup.sh wrote
    os.chown(config, 0, 0)
    upgrade = setup(app, "upgrade", "--root", str(root))
    assert unit.read_text() == rendered
    kept = list((root / "etc/therapy-room").glob("therapy-room.service.edited-*"))
    assert len(kept) == 1 and "WatchdogSec=0" in kept[0].read_text()
    assert "was edited by hand" in upgrade.stderr and "systemctl edit" in upgrade.stderr
    gid = int(entry(root, "group", "therapy-room")[2])
    assert owner(config) == ("0o640", 0, gid) and "mode/owner 644 0 0 -> 640 0" in upgrade.stdout


@pytest.mark.install
def test_upgrade_rebuilds_the_venv_reports_new_keys_rerenders_and_restarts(app, root):
    shipped = (app / "config.toml").read_text()
    template = (app / "systemd/therapy-room.service").read_text()
    pyproject = (app / "pyproject.toml").read_text()
    try:
        # the version before: no trust_clock in its config.toml
        (app / "config.toml").write_text(re.sub(r"(?m)^trust_clock = .*\n", "", shipped))
        setup(app, "install", "--root", str(root))
        # `git pull`: the new version ships a new key, a new unit and a new version number
        (app / "config.toml").write_text(shipped)
        (app / "systemd/therapy-room.service").write_text(
            template.replace("TimeoutStopSec=8", "TimeoutStopSec=9"))
        (app / "pyproject.toml").write_text(pyproject.replace('version = "0.1.0"',
                                                              'version = "0.1.1"'))
        upgrade = setup(app, "upgrade", "--root", str(root))
    finally:
        (app / "config.toml").write_text(shipped)
        (app / "systemd/therapy-room.service").write_text(template)
        (app / "pyproject.toml").write_text(pyproject)
    out = upgrade.stdout
    assert "installing the appliance into" in out
    version = subprocess.run([str(app / ".venv/bin/python"), "-I", "-c",
                              "import importlib.metadata as m; "
                              "print(m.version('therapy-room-appliance'))"],
                             capture_output=True, text=True).stdout.strip()
    assert version == "0.1.1", "the venv was not rebuilt"
    assert re.search(r"new settings in this version.*\n\s+schedule\.trust_clock\n", out), out
    unit = root / "etc/systemd/system/therapy-room.service"
    assert "TimeoutStopSec=9" in unit.read_text() and "edited by hand" not in upgrade.stderr
    assert "skipped: systemctl restart therapy-room.service" in out
    assert out.index("config.toml: ok") < out.index("skipped: systemctl restart")


@pytest.mark.install
def test_upgrade_with_a_config_that_does_not_parse_restarts_nothing(app, root):
    setup(app, "install", "--root", str(root))
    unit = root / "etc/systemd/system/therapy-room.service"
    before = unit.read_text()
    config = root / "etc/therapy-room/config.toml"
    config.write_text(config.read_text().replace("volume = 70", "volumee = 70"))
    template = (app / "systemd/therapy-room.service").read_text()
    try:
        (app / "systemd/therapy-room.service").write_text(template.replace("RestartSec=5",
                                                                            "RestartSec=6"))
        upgrade = setup(app, "upgrade", "--root", str(root), ok=False)
    finally:
        (app / "systemd/therapy-room.service").write_text(template)
    assert upgrade.returncode == 2
    assert "config: audio.volumee: unknown key (did you mean 'volume'?)" in upgrade.stderr
    assert "nothing restarted" in upgrade.stderr
    assert "restart" not in upgrade.stdout
    assert unit.read_text() == before, "the unit changed under a service that keeps running"


@pytest.mark.install
def test_uninstall_keeps_config_and_state_unless_purge_and_a_reinstall_owns_them(app, root):
    setup(app, "install", "--root", str(root))
    (root / "var/lib/therapy-room/schedule.json").write_text("{}")
    gone = setup(app, "uninstall", "--root", str(root))
    system = root / "etc/systemd/system"
    assert not (system / "therapy-room.service").exists()
    assert not (system / "therapy-room.service.d").exists()
    assert not (system / "multi-user.target.wants/therapy-room.service").is_symlink()
    assert entry(root, "passwd", "therapy-room") is None
    assert entry(root, "group", "therapy-room") is None
    assert (root / "etc/therapy-room/config.toml").is_file()
    assert (root / "var/lib/therapy-room/web-passphrase.json").is_file()
    assert "kept" in gone.stdout and "--purge" in gone.stdout
    again = setup(app, "uninstall", "--root", str(root))  # nothing left to do: no error
    assert "removed" not in again.stdout

    with open(root / "etc/passwd", "a") as f:  # someone else took the old user id meanwhile
        f.write("someone:x:999:999::/home/someone:/bin/sh\n")
    setup(app, "install", "--root", str(root))
    uid = int(entry(root, "passwd", "therapy-room")[2])
    assert uid != 999
    for name in ("web-passphrase.json", "schedule.json"):
        assert (root / "var/lib/therapy-room" / name).stat().st_uid == uid

    setup(app, "uninstall", "--purge", "--root", str(root))
    assert not (root / "etc/therapy-room").exists()
    assert not (root / "var/lib/therapy-room").exists()


@pytest.mark.install
def test_bad_arguments_say_what_is_wrong(app, tmp_path):
    bare = setup(app, "install", "--root", str(tmp_path), ok=False)
    assert bare.returncode == 2 and "no " + str(tmp_path) + "/etc/passwd" in bare.stderr
    purge = setup(app, "install", "--purge", ok=False)
    assert purge.returncode == 2 and "usage:" in purge.stderr


@pytest.mark.fast
def test_lgpio_is_required_where_a_wheel_exists():
    import tomllib

    from packaging.requirements import Requirement
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    [lgpio] = [Requirement(d) for d in deps if d.startswith("lgpio")]
    # armv7l: 32-bit Raspberry Pi OS (cp311 wheel); aarch64: 64-bit, or 32-bit on a 64-bit
    # kernel; armv6l (Pi 1, Zero): no wheel, a source build would fail the install
    for machine, wanted in (("armv7l", True), ("aarch64", True), ("x86_64", True),
                            ("armv6l", False)):
        assert lgpio.marker.evaluate({"platform_machine": machine}) is wanted, machine
