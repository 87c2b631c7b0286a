"""The client's code never leaves the box (issue 13, part 6): a real mosquitto, a subscriber on
'#', a session with a chosen client from the CLI's socket; and MQTT cannot choose one, nor
echoes a name typed where a code belongs."""
from __future__ import annotations

import json
import logging

from appliance.__main__ import main
from appliance.profiles.desk import ClientDesk

from .test_mqtt import mqtt_section, online, results, send, states

import pytest

pytestmark = pytest.mark.broker

CODE = "Q7x-k"
NAME = "Anna Smith"


def test_no_mqtt_message_carries_the_code_and_mqtt_cannot_choose_a_client(
        room_factory, mosquitto, subscriber_factory, caplog, capsys):
    broker = mosquitto()
    sub = subscriber_factory(broker.port)
    room = room_factory(extra=mqtt_section(broker.port))
    ClientDesk.of(room.cfg).change(CODE, {"cap": 40, "welcome": "Short hello"}, adding=True)
    caplog.set_level(logging.INFO)
    with room:
        online(sub)
        socket = str(room.cfg.socket_path)
        assert main(["client", "use", CODE, "--socket", socket]) == 0  # the CLI, the socket
        assert capsys.readouterr().out == f"ok: idle (client {CODE}: the session follows " \
                                          "their profile)\n"
        assert main(["status", "--socket", socket]) == 0
        assert f"client: {CODE}\n" in capsys.readouterr().out
        room.send("ambient")
        sub.wait_for(lambda m: states(sub)[-1:] and states(sub)[-1]["phase"] == "ambient",
                     what="ambient with the client chosen")
        room.send("welcome")
        room.send("volume", level=100)
        sub.wait_for(lambda m: states(sub)[-1]["cap"] == 40 and states(sub)[-1]["volume"] == 40,
                     what="the profile's cap in the state")
        # MQTT cannot choose a client, and does not echo what it was sent
        for action, payload in (("client", {"code": NAME}), ("client use", {"code": NAME}),
                                ("client_use", {"code": CODE}), ("client clear", {})):
            send(sub, action, json.dumps(payload))
        sub.wait_for(lambda m: len(results(sub)) == 4, what="four refusals")
        assert room.status()["client"] == CODE
        room.send("end")
        room.send("end")
        sub.wait_for(lambda m: states(sub)[-1]["phase"] == "idle", what="idle")
    assert [(r["ok"], r["kind"]) for r in results(sub)] == [(False, "unknown")] * 4
    sent_by_the_test = "therapy-room/room-a/cmd/"
    theirs = [(topic, text) for _, topic, text, _ in sub.messages
              if not topic.startswith(sent_by_the_test)]
    assert any(topic.startswith("homeassistant/") for topic, _ in theirs), "no discovery seen"
    for topic, text in theirs:
        for secret in (CODE, NAME):
            assert secret not in topic and secret not in text, (topic, text)
    assert CODE not in caplog.text and NAME not in caplog.text
