"""Home Assistant MQTT discovery: one device per room, its sensors, volume and buttons.

Each entity gets its own retained config message under
<discovery_prefix>/<component>/<node>/<object>/config, the form every Home Assistant release
with MQTT discovery understands. Unique ids carry the prefix and the room id, so rooms on one
broker never merge into one device.
"""
from __future__ import annotations

import json
import re

from ..session.phases import Phase
from .messages import Topics

STATUS_SUFFIX = "status"  # <discovery_prefix>/status: Home Assistant says "online" on start


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "x"


def discovery_messages(discovery_prefix: str, prefix: str, room_id: str, room_name: str,
                       topics: Topics, cap: float, receptive_minutes: float):
    """[(topic, payload)] for every entity of this room (payloads are JSON strings)."""
    node = f"{_slug(prefix)}_{_slug(room_id)}"
    device = {
        "identifiers": [node],
        "name": room_name or room_id,
        "manufacturer": "therapy-room appliance",
        "model": "music therapy room",
    }
    common = {
        "availability_topic": topics.availability,
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": device,
    }
    entities = [
        ("sensor", "phase", {
            "name": "Phase", "state_topic": topics.state, "device_class": "enum",
            "options": [str(phase) for phase in Phase],
            "value_template": "{{ value_json.phase }}", "icon": "mdi:music-circle"}),
        ("sensor", "time_left", {
            # a timestamp: Home Assistant shows "in 12 minutes" and counts down by itself
            "name": "Time left", "state_topic": topics.state, "device_class": "timestamp",
            "value_template": "{{ value_json.ends_at if value_json.ends_at else None }}",
            "icon": "mdi:timer-sand"}),
        ("binary_sensor", "failed_logins", {
            # on while the panel sees many wrong passphrases (appliance/web/logins.py)
            "name": "Many failed logins", "state_topic": topics.state,
            "device_class": "problem", "entity_category": "diagnostic",
            "value_template": "{{ 'ON' if 'logins' in (value_json.faults or []) else 'OFF' }}",
            "icon": "mdi:shield-alert"}),
        ("binary_sensor", "waiting_for_clock", {
            # on while the schedule waits for NTP before acting on the clock (schedule/clock.py)
            "name": "Waiting for the clock", "state_topic": topics.state,
            "device_class": "problem", "entity_category": "diagnostic",
            "value_template": "{{ 'ON' if 'clock' in (value_json.faults or []) else 'OFF' }}",
            "icon": "mdi:clock-alert"}),
        ("number", "volume", {
            "name": "Volume", "state_topic": topics.state,
            "value_template": "{{ value_json.volume }}",
            "command_topic": topics.cmd("volume"),
            "command_template": '{"level": {{ value }}}',
            "min": 0, "max": cap, "step": 1, "mode": "slider", "icon": "mdi:volume-high"}),
        ("button", "welcome", {
            "name": "Welcome", "command_topic": topics.cmd("welcome"), "payload_press": "{}",
            "icon": "mdi:hand-wave"}),
        ("button", "quiet", {
            "name": "Quiet", "command_topic": topics.cmd("quiet"), "payload_press": "{}",
            "icon": "mdi:volume-off"}),
        ("button", "receptive", {
            "name": "Receptive listening", "command_topic": topics.cmd("receptive"),
            "payload_press": json.dumps({"minutes": receptive_minutes}),
            "icon": "mdi:headphones"}),
    ]
    messages = []
    for component, key, config in entities:
        payload = dict(common, **config, unique_id=f"{node}_{key}")
        messages.append((f"{discovery_prefix}/{component}/{node}/{key}/config",
                         json.dumps(payload, sort_keys=True)))
    return messages
