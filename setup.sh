#!/usr/bin/env bash
# The appliance's one entry point for people and CI.
#   ./setup.sh demo      install what is needed, make the demo media, run on config.toml
#   ./setup.sh test      install the test dependencies too, then run the whole suite
#   ./setup.sh install   install as a systemd service (see README: "Installing on a Pi")
# Works on a fresh Debian 12 / Raspberry Pi OS (bookworm) machine, as root or with sudo.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
HERE=$(pwd)
VENV="$HERE/.venv"

# libVLC with its audio outputs, ALSA's plugins (the cap stage, PulseAudio routing), Python.
APT_RUNTIME=(libvlc5 vlc-plugin-base libasound2-plugins alsa-utils python3 python3-venv)
# What the tests listen through and talk to: PulseAudio's null sink; the Pi-like ALSA sink
# (a private PipeWire with WirePlumber under dbus-run-session); stress-ng loads the cores for
# the underrun test; chromium: the panel's end-to-end test; caddy: the HTTPS proxy the README
# documents, tested end to end.
APT_TEST=(pulseaudio pulseaudio-utils pipewire pipewire-bin wireplumber libspa-0.2-modules
          dbus stress-ng mosquitto openssl chromium caddy)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
}

python_ok() {
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}

make_venv() {
    # Debian's own Python first: a service user can run it (a pyenv under /root it cannot)
    local extras="$1" py=python3
    if python_ok /usr/bin/python3; then py=/usr/bin/python3; fi
    python_ok "$py" || { echo "setup.sh: Python 3.11 or newer is needed" >&2; exit 2; }
    if [ ! -x "$VENV/bin/python" ] || ! python_ok "$VENV/bin/python" \
            || [ "$(readlink -f "$VENV/bin/python")" != "$(readlink -f "$py")" ]; then
        say "creating $VENV"
        rm -rf "$VENV"
        "$py" -m venv "$VENV"
    fi
    say "installing the appliance into $VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -e ".$extras"
}

demo() {
    apt_install "${APT_RUNTIME[@]}"
    make_venv ""
    "$VENV/bin/appliance" demo-media media/demo
    "$VENV/bin/appliance" check-config --config config.toml
    panel_passphrase config.toml state
    say "starting the appliance on the demo config (Ctrl-C stops it with a short fade)"
    echo "    in another terminal: .venv/bin/appliance welcome | receptive 5 | quiet | status"
    exec "$VENV/bin/appliance" run --config config.toml
}

install_service() {
    # For the clinic's IT person, on the Pi: a system user, /etc/therapy-room, systemd.
    apt_install "${APT_RUNTIME[@]}"
    make_venv ""
    local etc=/etc/therapy-room
    if ! id therapy-room >/dev/null 2>&1; then
        say "creating the system user therapy-room"
        as_root useradd --system --home-dir /var/lib/therapy-room --shell /usr/sbin/nologin \
            --user-group therapy-room
    fi
    for group in audio gpio; do
        if getent group "$group" >/dev/null; then as_root usermod -aG "$group" therapy-room; fi
    done
    if ! as_root runuser -u therapy-room -- "$VENV/bin/python" -c "import appliance" 2>/dev/null; then
        echo "setup.sh: the service user cannot reach $HERE; clone the appliance to" \
             "/opt/therapy-room (readable by all) and run ./setup.sh install there" >&2
        exit 2
    fi
    as_root install -d -m 0755 "$etc" "$etc/playlists"
    if [ ! -f "$etc/config.toml" ]; then
        say "writing $etc/config.toml (ALSA output, system paths)"
        sed -e 's|^output = "auto" |output = "alsa" |' \
            -e 's|^socket = "run/control.sock"|socket = "/run/therapy-room/control.sock"|' \
            -e 's|^dir = "state"|dir = "/var/lib/therapy-room"|' config.toml \
            | as_root tee "$etc/config.toml" >/dev/null
        as_root cp -n playlists/*.m3u "$etc/playlists/"
        as_root "$VENV/bin/appliance" demo-media "$etc/media/demo"
    else
        say "keeping the existing $etc/config.toml"
    fi
    as_root "$VENV/bin/appliance" check-config --config "$etc/config.toml"
    sed "s|@APP_DIR@|$HERE|g" systemd/therapy-room.service \
        | as_root tee /etc/systemd/system/therapy-room.service >/dev/null
    if [ -d /run/systemd/system ]; then
        as_root systemctl daemon-reload
        as_root systemctl enable --now therapy-room.service
        say "running: systemctl status therapy-room; logs: journalctl -u therapy-room -f"
    else
        say "systemd is not running here; start it with: systemctl enable --now therapy-room"
    fi
    as_root install -d -o therapy-room -g therapy-room -m 0750 /var/lib/therapy-room
    # the service user owns the stored hash (mode 0600), so it sets it
    panel_passphrase "$etc/config.toml" /var/lib/therapy-room as_root runuser -u therapy-room --
    echo "    admins in the group therapy-room can use the CLI:"
    echo "    $VENV/bin/appliance status --config $etc/config.toml"
}

# The phone panel has no passwordless mode: the first run makes a passphrase, stores only its
# hash (appliance set-passphrase) and prints it once.
#   panel_passphrase CONFIG STATE_DIR [COMMAND PREFIX TO RUN AS ...]
panel_passphrase() {
    local config="$1" state="$2"
    shift 2
    local url="http://$(hostname -I 2>/dev/null | awk '{print $1}' || true):8080"
    if [ -s "$state/web-passphrase.json" ]; then
        say "phone panel: $url (passphrase as set before; change it: appliance set-passphrase)"
        return
    fi
    local pass
    pass=$("$VENV/bin/python" -c 'import secrets as s; a="abcdefghjkmnpqrstuvwxyz23456789"; print("-".join("".join(s.choice(a) for _ in range(4)) for _ in range(3)))')
    printf '%s\n' "$pass" | "$@" "$VENV/bin/appliance" set-passphrase --config "$config" >/dev/null
    say "phone panel: $url  passphrase: $pass  (shown once; change it: appliance set-passphrase)"
}

# PipeWire's ALSA plugin for the Pi-like test sink, taken out of Debian's pipewire-alsa
# package without installing it: that package conflicts with pulseaudio and takes over ALSA's
# default for the whole machine. The tests name the plugin's file in their own ALSA config.
pipewire_alsa_plugin() {
    local dest="$VENV/lib/alsa-pipewire" version tmp
    version=$(dpkg-query -W -f='${Version}' libpipewire-0.3-0)
    if [ -f "$dest/libasound_module_pcm_pipewire.so" ] && [ "$(cat "$dest/version" 2>/dev/null)" = "$version" ]; then
        return 0
    fi
    say "extracting PipeWire's ALSA plugin $version (for the Pi-like test sink)"
    tmp=$(mktemp -d)
    chmod 0755 "$tmp"
    (cd "$tmp" && apt-get download -qq "pipewire-alsa=$version" 2>/dev/null \
        || { as_root apt-get update -qq && apt-get download -qq "pipewire-alsa=$version"; })
    dpkg-deb -x "$tmp"/pipewire-alsa_*.deb "$tmp/root"
    mkdir -p "$dest"
    cp "$(find "$tmp/root" -name libasound_module_pcm_pipewire.so)" "$dest/"
    echo "$version" > "$dest/version"
    rm -rf "$tmp"
}

run_tests() {
    apt_install "${APT_RUNTIME[@]}" "${APT_TEST[@]}"
    make_venv "[test]"
    pipewire_alsa_plugin
    "$VENV/bin/appliance" demo-media media/demo >/dev/null
    say "running the tests"
    "$VENV/bin/python" -m pytest "$@"
}

case "${1:-}" in
    demo) shift; demo "$@" ;;
    test) shift; run_tests "$@" ;;
    install) shift; install_service "$@" ;;
    *) echo "usage: ./setup.sh demo | test [pytest args] | install" >&2; exit 2 ;;
esac
