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
# What the tests listen through and talk to (chromium: the panel's end-to-end test).
APT_TEST=(pulseaudio pulseaudio-utils chromium)

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
    local extras="$1" py=python3
    python_ok "$py" || { echo "setup.sh: Python 3.11 or newer is needed" >&2; exit 2; }
    if [ ! -x "$VENV/bin/python" ] || ! python_ok "$VENV/bin/python"; then
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
    demo_passphrase
    say "starting the appliance on the demo config (Ctrl-C stops it with a short fade)"
    echo "    in another terminal: .venv/bin/appliance welcome | receptive 5 | quiet | status"
    exec "$VENV/bin/appliance" run --config config.toml
}

# The phone panel has no passwordless mode: the first demo run makes a passphrase, stores
# only its hash (appliance set-passphrase) and prints it once.
demo_passphrase() {
    local url="http://$(hostname -I 2>/dev/null | awk '{print $1}' || true):8080"
    if [ -s state/web-passphrase.json ]; then
        say "phone panel: $url (passphrase as set before; change it: .venv/bin/appliance set-passphrase)"
        return
    fi
    local pass
    pass=$("$VENV/bin/python" -c 'import secrets as s; a="abcdefghjkmnpqrstuvwxyz23456789"; print("-".join("".join(s.choice(a) for _ in range(4)) for _ in range(3)))')
    printf '%s\n' "$pass" | "$VENV/bin/appliance" set-passphrase --config config.toml >/dev/null
    say "phone panel: $url  passphrase: $pass  (shown once; change it: .venv/bin/appliance set-passphrase)"
}

run_tests() {
    apt_install "${APT_RUNTIME[@]}" "${APT_TEST[@]}"
    make_venv "[test]"
    "$VENV/bin/appliance" demo-media media/demo >/dev/null
    say "running the tests"
    "$VENV/bin/python" -m pytest "$@"
}

case "${1:-}" in
    demo) shift; demo "$@" ;;
    test) shift; run_tests "$@" ;;
    *) echo "usage: ./setup.sh demo | test [pytest args]" >&2; exit 2 ;;
esac
