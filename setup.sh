#!/usr/bin/env bash
# The appliance's one entry point for people and CI.
#   ./setup.sh demo      install what is needed, make the demo media, run on config.toml
#   ./setup.sh test      install the test dependencies too, then run the whole suite
#   ./setup.sh install | upgrade | uninstall [--purge]   the systemd service on a Pi
#                        (systemd/service.sh; see README: "Installing on a Pi")
# Works on a fresh Debian 12 / Raspberry Pi OS (bookworm) machine, as root or with sudo.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
HERE=$(pwd)
VENV="$HERE/.venv"

# libVLC with its audio outputs, ALSA's plugins (the cap stage, PulseAudio routing), Python;
# track analysis (appliance analyse): aubio's tempo tool and ffmpeg's EBU R128 loudness meter,
# run as low-priority subprocesses (README: "Track analysis and matched loudness").
APT_RUNTIME=(libvlc5 vlc-plugin-base libasound2-plugins alsa-utils python3 python3-venv
             aubio-tools ffmpeg)
# What the tests listen through and talk to: PulseAudio's null sink; the Pi-like ALSA sink
# (a private PipeWire with WirePlumber under dbus-run-session); stress-ng loads the cores for
# the underrun test; chromium: the panel's end-to-end test; caddy: the HTTPS proxy the README
# documents, tested end to end; systemd: systemd-analyze verify and security on the unit as
# install renders it.
APT_TEST=(pulseaudio pulseaudio-utils pipewire pipewire-bin wireplumber libspa-0.2-modules
          dbus stress-ng mosquitto openssl chromium caddy systemd)

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
    # make_venv EXTRAS [force]: pip runs when pyproject.toml, the Python or the extras changed
    # (or with force: upgrade). Debian's own Python first: a service user can run it (a pyenv
    # under /root it cannot).
    local extras="$1" force="${2:-}" py=python3 want have
    if python_ok /usr/bin/python3; then py=/usr/bin/python3; fi
    python_ok "$py" || { echo "setup.sh: Python 3.11 or newer is needed" >&2; exit 2; }
    if [ ! -x "$VENV/bin/python" ] || ! python_ok "$VENV/bin/python" \
            || [ "$(readlink -f "$VENV/bin/python")" != "$(readlink -f "$py")" ]; then
        say "creating $VENV"
        rm -rf "$VENV"
        "$py" -m venv "$VENV"
    fi
    want="$(sha256sum pyproject.toml | cut -c1-16) $(readlink -f "$VENV/bin/python")"
    have=$(cat "$VENV/.setup-stamp" 2>/dev/null || true)
    if [ -z "$force" ] && [ "${have% *}" = "$want" ] \
            && { [ -z "$extras" ] || [ "${have##* }" = "$extras" ]; }; then
        say "$VENV is up to date"
        return
    fi
    say "installing the appliance into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".$extras"
    # a plain install keeps the test extras that are already there
    if [ -z "$extras" ] && [ "${have% *}" = "$want" ]; then extras=${have##* }; fi
    echo "$want ${extras:--}" > "$VENV/.setup-stamp"
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

# The phone panel has no passwordless mode: the demo's first run makes a passphrase, stores
# only its hash (appliance set-passphrase) and prints it once.
panel_passphrase() {
    local config="$1" state="$2" pass
    if [ -s "$state/web-passphrase.json" ]; then
        say "phone panel: $(panel_url) (passphrase as set before; change it: appliance set-passphrase)"
        return
    fi
    pass=$(new_passphrase)
    printf '%s\n' "$pass" | "$VENV/bin/appliance" set-passphrase --config "$config" >/dev/null
    say "phone panel: $(panel_url)  passphrase: $pass  (shown once; change it: appliance set-passphrase)"
}

panel_url() { echo "http://$(hostname -I 2>/dev/null | awk '{print $1}' || true):8080"; }

new_passphrase() {
    "$VENV/bin/python" -c 'import secrets as s; a="abcdefghjkmnpqrstuvwxyz23456789"; print("-".join("".join(s.choice(a) for _ in range(4)) for _ in range(3)))'
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

# shellcheck source=systemd/service.sh
. "$HERE/systemd/service.sh"

case "${1:-}" in
    demo) shift; demo "$@" ;;
    test) shift; run_tests "$@" ;;
    install | upgrade | uninstall) service_main "$@" ;;
    *) echo "usage: ./setup.sh demo | test [pytest args] | install | upgrade |" \
            "uninstall [--purge]  (install/upgrade/uninstall: [--root DIR])" >&2; exit 2 ;;
esac
