# The service's life cycle on a Pi, sourced by setup.sh (uses say, apt_install, make_venv,
# HERE, VENV, APT_RUNTIME):
#   ./setup.sh install   [--root DIR]          user, /etc/therapy-room, the unit; start it
#   ./setup.sh upgrade   [--root DIR]          after `git pull`: venv, unit, config check, restart
#   ./setup.sh uninstall [--purge] [--root DIR]
# Every step looks first and changes only what differs, so running one twice changes nothing.
# --root DIR works on a system tree in DIR instead of / (the tests' throwaway root): users in
# DIR/etc/passwd, files under DIR, `systemctl --root` for enabling; nothing is started there.

SERVICE=therapy-room
SVC_USER=therapy-room
SVC_GROUPS=(audio gpio)       # supplementary groups, where the system has them
SYSTEM_CONFIG=/etc/therapy-room/config.toml
CHANGED=0                     # something on the system was written in this run

service_main() {
    local action="$1" purge=0
    shift
    ROOT=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --root) [ -n "${2:-}" ] || service_usage; ROOT=$(readlink -f "$2"); shift 2 ;;
            --root=*) ROOT=$(readlink -f "${1#--root=}"); shift ;;
            --purge) [ "$action" = uninstall ] || service_usage; purge=1; shift ;;
            *) service_usage ;;
        esac
    done
    [ "$ROOT" = / ] && ROOT=""
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup.sh $action: run it as root (sudo ./setup.sh $action)" >&2
        exit 2
    fi
    if [ -n "$ROOT" ] && [ ! -f "$ROOT/etc/passwd" ]; then
        echo "setup.sh: --root $ROOT: no $ROOT/etc/passwd (a system tree is needed)" >&2
        exit 2
    fi
    ETC=$ROOT/etc/therapy-room
    CONFIG=$ROOT$SYSTEM_CONFIG
    STATE=$ROOT/var/lib/therapy-room
    UNIT=$ROOT/etc/systemd/system/$SERVICE.service
    DROPIN=$UNIT.d
    case "$action" in
        install) service_install ;;
        upgrade) service_upgrade ;;
        uninstall) service_uninstall "$purge" ;;
    esac
}

service_usage() {
    echo "usage: ./setup.sh install | upgrade | uninstall [--purge]  [--root DIR]" >&2
    exit 2
}

# systemd runs this system (not a container or build machine, not a --root tree)
live() { [ -z "$ROOT" ] && [ -d /run/systemd/system ]; }

systemctl_here() { systemctl ${ROOT:+--root="$ROOT"} "$@"; }

# id_of passwd|group NAME: the numeric id in this system (empty: there is none)
id_of() {
    if [ -z "$ROOT" ]; then
        getent "$1" "$2" | cut -d: -f3
    else
        awk -F: -v name="$2" '$1 == name { print $3 }' "$ROOT/etc/$1"
    fi
}

# as_service CMD...: run as the service user, no other groups (works for a --root user too)
as_service() {
    setpriv --reuid="$(id_of passwd "$SVC_USER")" --regid="$(id_of group "$SVC_USER")" \
        --clear-groups -- "$@"
}

# --- install --------------------------------------------------------------------------------

service_install() {
    if [ -z "$ROOT" ]; then apt_install "${APT_RUNTIME[@]}"; fi
    make_venv ""
    ensure_user
    if ! as_service "$VENV/bin/python" -c "import appliance" 2>/dev/null; then
        echo "setup.sh: the service user cannot reach $HERE; clone the appliance to" \
             "/opt/therapy-room (readable by all) and run ./setup.sh install there" >&2
        exit 2
    fi
    ensure_config
    check_config || exit 2
    remember_shipped_keys
    render_unit
    render_groups
    ensure_state_dir
    ensure_passphrase
    start_service install
    if [ "$CHANGED" -eq 0 ]; then say "already installed: nothing changed"; fi
    echo "    admins in the group $SVC_USER can use the CLI:"
    echo "    $VENV/bin/appliance status --config $SYSTEM_CONFIG"
}

ensure_user() {
    [ -z "$(id_of passwd "$SVC_USER")" ] || return 0
    say "creating the system user $SVC_USER"
    local group=(--user-group)
    [ -z "$(id_of group "$SVC_USER")" ] || group=(--gid "$SVC_USER")  # kept by an admin
    useradd ${ROOT:+--root "$ROOT"} --system --home-dir /var/lib/therapy-room \
        --no-create-home --shell /usr/sbin/nologin "${group[@]}" "$SVC_USER"
    CHANGED=1
}

# ensure_mode PATH MODE UID GID: set them where they differ, and say so
ensure_mode() {
    local want="$2 $3 $4" have
    have=$(stat -c '%a %u %g' "$1")
    [ "$have" != "$want" ] || return 0
    chown "$3:$4" "$1"
    chmod "$2" "$1"
    say "$1: mode/owner $have -> $want"
    CHANGED=1
}

ensure_config() {
    local gid
    gid=$(id_of group "$SVC_USER")
    [ -d "$ETC" ] || { install -d -m 0755 "$ETC"; CHANGED=1; }
    ensure_mode "$ETC" 755 0 0
    if [ -f "$CONFIG" ]; then
        say "keeping the existing $CONFIG"
    else
        local device
        device=$(pick_audio_device)
        say "writing $CONFIG (ALSA output: $device; system paths)"
        system_config config.toml "$device" > "$CONFIG.new" || { rm -f "$CONFIG.new"; exit 2; }
        install -m 0640 -o 0 -g "$gid" "$CONFIG.new" "$CONFIG"
        rm -f "$CONFIG.new"
        install -d -m 0755 "$ETC/playlists"
        cp -n playlists/*.m3u "$ETC/playlists/"
        install -d -m 0755 "$ETC/media"
        if [ -d media/demo ]; then  # made by ./setup.sh demo or test: the same tracks
            cp -rn media/demo "$ETC/media/"
        fi
        "$VENV/bin/appliance" demo-media "$ETC/media/demo" >/dev/null
        CHANGED=1
    fi
    # an inline MQTT password must not be readable by every local user
    ensure_mode "$CONFIG" 640 0 "$gid"
}

# system_config DEMO_CONFIG DEVICE: the demo config with the system's values, comments kept
system_config() {
    "$VENV/bin/python" - "$1" "$2" <<'EOF'
import json, re, sys, tomllib
wanted = {("audio", "output"): "alsa", ("audio", "alsa_device"): sys.argv[2],
          ("control", "socket"): "/run/therapy-room/control.sock",
          ("state", "dir"): "/var/lib/therapy-room"}
section, out = None, []
for line in open(sys.argv[1], encoding="utf-8").read().splitlines():
    head = re.match(r"\s*\[\[?([^\[\]]+)\]\]?\s*(#.*)?$", line)  # [table] or [[array]]
    if head:
        section = head.group(1).strip()
    key = re.match(r'(\s*)([A-Za-z_]+)(\s*=\s*)("(?:[^"\\]|\\.)*")(.*)$', line)
    if key and (section, key.group(2)) in wanted:
        value = json.dumps(wanted[(section, key.group(2))])
        line = key.group(1) + key.group(2) + key.group(3) + value + key.group(5)
    out.append(line)
text = "\n".join(out) + "\n"
data = tomllib.loads(text)
missing = [f"{s}.{k}" for (s, k), v in wanted.items() if data.get(s, {}).get(k) != v]
if missing:
    sys.exit(f"setup.sh: {sys.argv[1]} has no {', '.join(missing)} to set for the system")
sys.stdout.write(text)
EOF
}

# The ALSA device for a new config: `appliance audio devices --pick` (the first usable card,
# read from $APPLIANCE_ASOUND_ROOT, default ROOT/proc/asound); "default" with a warning else.
pick_audio_device() {
    local err device rc=0
    err=$(mktemp)
    device=$(APPLIANCE_ASOUND_ROOT="${APPLIANCE_ASOUND_ROOT:-$ROOT/proc/asound}" \
        "$VENV/bin/appliance" audio devices --pick 2>"$err") || rc=$?
    if [ "$rc" -eq 0 ] && [ -n "$device" ]; then
        printf '%s\n' "$device"
    elif [ "$rc" -eq 1 ]; then
        echo "WARNING: no usable sound card: $(head -n1 "$err"); keeping alsa_device =" \
             "\"default\" (set audio.alsa_device in $SYSTEM_CONFIG, see README)" >&2
        echo default
    else
        echo "WARNING: appliance audio devices --pick failed: $(head -n1 "$err"); keeping" \
             "alsa_device = \"default\" (set audio.alsa_device in $SYSTEM_CONFIG, see README)" >&2
        echo default
    fi
    rm -f "$err"
}

check_config() {
    local out rc=0
    out=$(as_service "$VENV/bin/appliance" check-config --config "$CONFIG" 2>&1) || rc=$?
    if [ "$rc" -ne 0 ]; then
        printf '%s\n' "$out" >&2
        echo "setup.sh: $CONFIG has the problems above; fix them, then run ./setup.sh" \
             "${1:-install} again" >&2
        return 1
    fi
    printf '%s\n' "$out"
}

# the unit as this checkout renders it, with a checksum line so a hand edit can be told apart
rendered_unit() {
    local body
    body=$(sed -e "s|@APP_DIR@|$HERE|g" -e "s|@CONFIG@|$SYSTEM_CONFIG|g" \
        systemd/therapy-room.service)
    printf '# %s, rendered by setup.sh (checksum %s)\n%s\n' "$SERVICE.service" \
        "$(printf '%s\n' "$body" | sha256sum | cut -c1-16)" "$body"
}

render_unit() {
    local new
    new=$(rendered_unit)
    if [ -f "$UNIT" ]; then
        [ "$(cat "$UNIT")" != "$new" ] || return 0
        local sum
        sum=$(head -n1 "$UNIT" | sed -n 's/.*(checksum \([0-9a-f]*\))$/\1/p')
        if [ -z "$sum" ] || [ "$(tail -n +2 "$UNIT" | sha256sum | cut -c1-16)" != "$sum" ]; then
            local kept
            kept="$ETC/$SERVICE.service.edited-$(date +%Y%m%d-%H%M%S)"
            cp -p "$UNIT" "$kept"
            echo "WARNING: $UNIT was edited by hand; it is replaced, the edited copy is" \
                 "$kept. Put local changes in a drop-in: systemctl edit $SERVICE" >&2
        fi
        say "updating $UNIT"
    else
        say "writing $UNIT"
    fi
    install -d -m 0755 "$(dirname "$UNIT")"
    printf '%s\n' "$new" > "$UNIT.new"
    chmod 0644 "$UNIT.new"
    mv "$UNIT.new" "$UNIT"
    CHANGED=1
}

# SupplementaryGroups only for groups this system has: a missing one fails the start (216/GROUP)
render_groups() {
    local have=() group new
    for group in "${SVC_GROUPS[@]}"; do
        if [ -n "$(id_of group "$group")" ]; then
            have+=("$group")
        elif [ "$group" = gpio ]; then
            echo "note: no 'gpio' group on this system: real GPIO pins need one with access" \
                 "to /dev/gpiochip* (Raspberry Pi OS has it); the room runs without" >&2
        else
            echo "WARNING: no '$group' group on this system: the service may not open the" \
                 "sound card" >&2
        fi
    done
    new=$(printf '%s\n' "# rendered by setup.sh: the groups this system has (see README)" \
        "[Service]" "SupplementaryGroups=${have[*]}")
    [ "$(cat "$DROPIN/groups.conf" 2>/dev/null)" != "$new" ] || return 0
    install -d -m 0755 "$DROPIN"
    printf '%s\n' "$new" > "$DROPIN/groups.conf"
    chmod 0644 "$DROPIN/groups.conf"
    say "$DROPIN/groups.conf: SupplementaryGroups=${have[*]}"
    CHANGED=1
}

ensure_state_dir() {
    local uid gid stray
    uid=$(id_of passwd "$SVC_USER")
    gid=$(id_of group "$SVC_USER")
    [ -d "$STATE" ] || { install -d -m 0750 -o "$uid" -g "$gid" "$STATE"; CHANGED=1; }
    ensure_mode "$STATE" 750 "$uid" "$gid"
    # files kept from an earlier install belong to that install's (now other) user id
    stray=$(find "$STATE" -mindepth 1 \( ! -user "$uid" -o ! -group "$gid" \) -print | wc -l)
    if [ "$stray" -gt 0 ]; then
        find "$STATE" -mindepth 1 -exec chown -h "$uid:$gid" {} +
        say "$STATE: $stray files given back to $SVC_USER"
        CHANGED=1
    fi
}

# The phone panel has no passwordless mode: the first install makes a passphrase and prints
# it once. The service user writes the hash (mode 0600) into its own state folder.
ensure_passphrase() {
    if [ -s "$STATE/web-passphrase.json" ]; then
        say "phone panel: passphrase as set before (change it: appliance set-passphrase)"
        return
    fi
    local pass tmp
    pass=$(new_passphrase)
    tmp=$(mktemp -d)
    printf '[state]\ndir = "%s"\n' "$STATE" > "$tmp/config.toml"
    chmod 0755 "$tmp"
    chmod 0644 "$tmp/config.toml"
    printf '%s\n' "$pass" | as_service "$VENV/bin/appliance" set-passphrase \
        --config "$tmp/config.toml" >/dev/null
    rm -rf "$tmp"
    say "phone panel: $(panel_url)  passphrase: $pass  (shown once; change it: appliance" \
        "set-passphrase --config $SYSTEM_CONFIG)"
    CHANGED=1
}

# the keys this version ships in config.toml, kept so `upgrade` can tell which are new
remember_shipped_keys() {
    local keys
    keys=$(config_keys config.toml)
    [ "$(cat "$ETC/.shipped-keys" 2>/dev/null)" != "$keys" ] || return 0
    printf '%s\n' "$keys" > "$ETC/.shipped-keys"
    chmod 0644 "$ETC/.shipped-keys"
}

# config_keys FILE: its keys, dotted, one a line (a list of tables counts as one key)
config_keys() {
    "$VENV/bin/python" - "$1" <<'EOF'
import sys, tomllib
def walk(table, prefix=""):
    for key, value in table.items():
        if isinstance(value, dict) and not prefix.startswith("mqtt.scenes"):
            yield from walk(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"
with open(sys.argv[1], "rb") as f:
    print("\n".join(sorted(walk(tomllib.load(f)))))
EOF
}

start_service() {
    if live; then
        systemctl daemon-reload
        systemctl enable --quiet "$SERVICE.service"
        # a person is here now: a crash loop's start-limit-hit must not block the start
        systemctl reset-failed "$SERVICE.service" 2>/dev/null || true
        if [ "$1" = upgrade ] || [ "$CHANGED" -eq 1 ]; then
            say "restarting $SERVICE.service"
            systemctl restart "$SERVICE.service" || true
        else
            systemctl start "$SERVICE.service" || true
        fi
        if systemctl is-active --quiet "$SERVICE.service"; then
            say "running: systemctl status $SERVICE; logs: journalctl -u $SERVICE -f"
        else
            journalctl -u "$SERVICE" -n 20 --no-pager >&2 || true
            echo "setup.sh: $SERVICE.service did not start (its log is above)" >&2
            exit 1
        fi
    else
        if ! systemctl_here is-enabled --quiet "$SERVICE.service" 2>/dev/null; then
            systemctl_here enable --quiet "$SERVICE.service"
            CHANGED=1
        fi
        say "systemd is not running${ROOT:+ in $ROOT}: skipped: systemctl restart" \
            "$SERVICE.service"
    fi
}

# --- upgrade (after git pull) ---------------------------------------------------------------

service_upgrade() {
    if [ ! -f "$UNIT" ] || [ -z "$(id_of passwd "$SVC_USER")" ]; then
        echo "setup.sh upgrade: $SERVICE is not installed here; run ./setup.sh install" >&2
        exit 2
    fi
    if [ -z "$ROOT" ]; then apt_install "${APT_RUNTIME[@]}"; fi
    make_venv "" force
    ensure_config
    report_new_keys
    if ! check_config upgrade; then
        echo "setup.sh upgrade: nothing restarted: the running service keeps the version it" \
             "started with" >&2
        exit 2
    fi
    remember_shipped_keys
    render_unit
    render_groups
    ensure_state_dir
    start_service upgrade
}

report_new_keys() {
    local before new
    if [ -f "$ETC/.shipped-keys" ]; then
        before="$ETC/.shipped-keys"
    else  # installed before setup.sh kept the list: what the config itself has
        before=$(mktemp)
        config_keys "$CONFIG" > "$before" 2>/dev/null || true
    fi
    new=$(config_keys config.toml | grep -vxF -f "$before" || true)
    [ "$before" = "$ETC/.shipped-keys" ] || rm -f "$before"
    if [ -n "$new" ]; then
        say "new settings in this version (their defaults apply; see README and config.toml):"
        printf '    %s\n' $new
    fi
}

# --- uninstall ------------------------------------------------------------------------------

service_uninstall() {
    local purge="$1"
    if live; then
        systemctl disable --now --quiet "$SERVICE.service" 2>/dev/null || true
    elif [ -f "$UNIT" ]; then
        systemctl_here disable --quiet "$SERVICE.service" 2>/dev/null || true
    fi
    if [ -f "$UNIT" ]; then rm -f "$UNIT"; say "removed $UNIT"; fi
    rm -f "$DROPIN/groups.conf"
    if [ -d "$DROPIN" ] && ! rmdir "$DROPIN" 2>/dev/null; then
        say "kept $DROPIN: it holds local drop-ins"
    fi
    if live; then systemctl daemon-reload; fi
    if [ -n "$(id_of passwd "$SVC_USER")" ]; then
        userdel ${ROOT:+--root "$ROOT"} "$SVC_USER"
        say "removed the user $SVC_USER"
    fi
    if [ -n "$(id_of group "$SVC_USER")" ]; then
        groupdel ${ROOT:+--root "$ROOT"} "$SVC_USER"
    fi
    if [ "$purge" -eq 1 ]; then
        rm -rf "$ETC" "$STATE"
        say "removed $ETC and $STATE"
    else
        say "kept $ETC and $STATE (./setup.sh uninstall --purge removes them)"
    fi
}
