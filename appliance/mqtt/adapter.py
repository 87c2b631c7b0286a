"""The MQTT adapter: state, events and light scenes out; commands in; Home Assistant discovery.

One thread: paho's network loop (connect_async + loop_start), which also reconnects with
backoff. The engine's callbacks only hand messages to paho (publish() queues and returns).
While the broker is away nothing is queued: state, scenes and events are dropped, and after
each (re)connect the current state and the current phase's scene are published once, so a
returning broker never releases a burst of stale light commands.
"""
from __future__ import annotations

import logging
import ssl
import threading
import time

import paho.mqtt.client as mqtt

from ..session.phases import Phase
from .config import CUE, MqttConfig
from .discovery import STATUS_SUFFIX, _slug, discovery_messages
from .messages import Ignored, Topics, event_payload, parse_cmd, result_payload, state_payload

log = logging.getLogger(__name__)

QUEUE_LIMIT = 32        # paho's QoS>0 queue; only a publish racing a disconnect ends up there
CONNECT_TIMEOUT_S = 2   # a silent broker must not hold up a stop for long
LOGGED_ONCE_LIMIT = 200
LOGIN_CODES = (4, 5, 134, 135)  # bad user name or password / not authorized (MQTT 3 and 5)
DISCOVERY_EVERY_S = 60  # Home Assistant's birth message re-sends discovery at most this often


class _Client(mqtt.Client):
    """paho's client, remembering why the last connection attempt failed: paho's
    on_connect_fail does not say, and 'TLS: certificate verify failed' is what a person needs."""

    last_error: BaseException | None = None

    def reconnect(self):
        try:
            return super().reconnect()
        except OSError as exc:
            self.last_error = exc
            raise


class MqttAdapter:
    def __init__(self, cfg: MqttConfig, engine, room_id: str, room_name: str = "",
                 cap: float = 100, receptive_minutes: float = 20, wall_clock=time.time,
                 clock=time.monotonic):
        self.cfg = cfg
        self.engine = engine
        self.room_id = room_id
        self.room_name = room_name
        self.cap = cap
        self.receptive_minutes = receptive_minutes
        self.wall_clock = wall_clock
        self.clock = clock
        self._discovery_sent_at = None  # on self.clock
        self.topics = Topics.of(cfg.prefix, room_id)
        self.ha_status_topic = f"{cfg.discovery_prefix}/{STATUS_SUFFIX}"
        self.broker = f"{cfg.host}:{cfg.port}"
        self._lock = threading.Lock()  # connected flag + phase: decided together
        self._connected = False
        self._stopping = False
        self._phase = None
        self._fault = None
        self._network_error = None  # paho's last word on a failed socket, for the fault text
        self._logged = set()
        self.client = None

    # --- life cycle -------------------------------------------------------------------------

    def start(self):
        cfg = self.cfg
        client = _Client(mqtt.CallbackAPIVersion.VERSION2,
                         client_id=f"{_slug(cfg.prefix)}-{self.room_id}")
        client.on_log = self._on_log
        client.suppress_exceptions = True  # a bug in a callback is logged, the loop lives on
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.will_set(self.topics.availability, "offline", qos=1, retain=True)
        client.reconnect_delay_set(1, cfg.reconnect_max_s)
        client.max_queued_messages_set(QUEUE_LIMIT)
        client.connect_timeout = CONNECT_TIMEOUT_S
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        self.client = client
        self._phase = self.engine.status().phase
        self.engine.subscribe(self._on_status)
        self.engine.subscribe_events(self._on_event)
        if cfg.tls is not None:
            try:
                client.tls_set_context(_tls_context(cfg.tls))
            except (OSError, ValueError) as exc:
                self._set_fault(f"TLS setup failed ({exc}); MQTT stays off until restart")
                return
        client.connect_async(cfg.host, cfg.port, keepalive=cfg.keepalive_s)
        client.loop_start()
        log.info("MQTT: connecting to %s as room %s (topics under %s/)", self.broker,
                 self.room_id, self.topics.base)

    def stop(self):
        self.engine.unsubscribe(self._on_status)
        self.engine.unsubscribe(self._on_event)
        with self._lock:
            self._stopping = True
            was_connected = self._connected
        client = self.client
        if was_connected:
            # a clean goodbye: the broker sends no last will after a DISCONNECT
            info = client.publish(self.topics.availability, "offline", qos=1, retain=True)
            try:
                info.wait_for_publish(1.0)
            except (ValueError, RuntimeError):
                pass
        client.disconnect()
        client.loop_stop()

    # --- paho's thread ----------------------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            hint = " (check mqtt.username / password)" if reason_code.value in LOGIN_CODES else ""
            self._set_fault(f"broker {self.broker} refused the connection: {reason_code}{hint}; "
                            "retrying")
            return
        log.info("MQTT: connected to %s", self.broker)
        self._network_error = None
        self._set_fault(None)
        client.subscribe(self.topics.cmd_filter, qos=1)
        if self.cfg.discovery:
            client.subscribe(self.ha_status_topic, qos=1)
        client.publish(self.topics.availability, "online", qos=1, retain=True)
        if self.cfg.discovery:
            self._send_discovery()
        with self._lock:
            self._connected = True
            status = self.engine.status()
            self._phase = status.phase
            self._publish_state(status)
            self._publish_scene(self._phase)

    def _on_connect_fail(self, client, userdata):
        why = client.last_error
        if isinstance(why, ssl.SSLError):
            text = (f"TLS error with broker {self.broker}: {why.reason or why}"
                    f"{self._no_cert_hint()}")
        elif isinstance(why, ConnectionRefusedError):
            text = f"broker {self.broker} is not reachable (connection refused)"
        else:
            text = f"cannot connect to broker {self.broker}: {why}"
        self._set_fault(f"{text}; retrying")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        with self._lock:
            was_connected, self._connected = self._connected, False
            stopping = self._stopping
        if stopping:
            return
        why = self._network_error or reason_code
        if was_connected:
            self._set_fault(f"lost the connection to broker {self.broker} ({why}); retrying")
        elif self._fault is None or "refused" not in self._fault:
            # e.g. TLS 1.3: the broker rejects a missing client certificate after the handshake
            self._set_fault(f"broker {self.broker} closed the connection before accepting it "
                            f"({why}){self._no_cert_hint()}; retrying")

    def _no_cert_hint(self) -> str:
        """TLS 1.3 refuses a missing client certificate after the handshake: the broker's
        alert ("certificate required") or a bare EOF reaches us, whichever wins the race. Say
        what the room lacks either way."""
        if self.cfg.tls is not None and self.cfg.tls.certfile is None:
            return ("; this room has no client certificate (mqtt.tls.certfile), if the broker "
                    "wants one")
        return ""

    def _on_log(self, client, userdata, level, text):
        """paho's own log: its socket errors go into the fault text (said once there), bugs in
        our callbacks are errors, the rest is debug detail."""
        if level == mqtt.MQTT_LOG_ERR and text.startswith("Caught exception"):
            log.error("MQTT: %s", text)
        elif level == mqtt.MQTT_LOG_ERR:
            self._network_error = text
            log.debug("paho: %s", text)
        else:
            log.debug("paho: %s", text)

    def _on_message(self, client, userdata, message):
        if message.topic == self.ha_status_topic:
            if message.payload == b"online" and self.cfg.discovery:
                self._birth()
            return
        if message.retain:
            # a retained command would act again at every reconnect (the room back at the
            # level someone left there days ago, the welcome song at each restart)
            self._log_once(f"retained {message.topic[:120]}",
                           "MQTT: ignored a retained command on %s (commands must not be "
                           "retained; clear it: mosquitto_pub -r -n -t '%s')",
                           message.topic[:120], message.topic[:120])
            return
        try:
            action, command = parse_cmd(self.topics, message.topic, message.payload)
        except Ignored as why:
            self._log_once(f"{message.topic[:120]}", "MQTT: ignored %s: %s",
                           message.topic[:120], why)
            self._publish_if_connected(self.topics.cmd_result,
                                       result_payload(why.action, False, str(why), why.kind))
            return
        pending = self.engine.submit(command, source="mqtt")
        if pending.refusal:  # refused before the engine saw it (inbox full): no event comes
            self._publish_if_connected(self.topics.cmd_result,
                                       result_payload(action, False, pending.refusal,
                                                      pending.error.kind))

    # --- the engine's thread: only hand messages to paho ------------------------------------

    def _on_status(self, status):
        with self._lock:
            if self._connected:
                self._publish_state(status)

    def _on_event(self, event: dict):
        with self._lock:
            if event.get("type") == "phase":
                self._phase = event.get("new")
                if self._connected:
                    self._publish_scene(self._phase)
                    if self._phase == Phase.REFLECTION:
                        self._publish_scene(CUE)
            elif event.get("type") == "command" and event.get("source") == "mqtt":
                if self._connected:
                    accepted = bool(event.get("accepted"))  # not accepted: the room refused
                    self.client.publish(self.topics.cmd_result, result_payload(
                        event.get("verb"), accepted, event.get("reason"),
                        None if accepted else "refused"))
            payload = event_payload(event, self.wall_clock())
            if payload is not None and self._connected:
                self.client.publish(self.topics.event, payload)

    # --- helpers (callers hold self._lock where it says so) ---------------------------------

    def _publish_state(self, status):
        self.client.publish(self.topics.state, state_payload(status, self.wall_clock(),
                                                             self.engine.clock()),
                            qos=0, retain=True)

    def _publish_scene(self, name):
        if not self.cfg.scenes_enabled:
            return
        for p in self.cfg.scenes.get(name, ()):
            self.client.publish(p.topic, p.payload, qos=p.qos, retain=p.retain)

    def _publish_if_connected(self, topic, payload):
        with self._lock:
            if self._connected:
                self.client.publish(topic, payload)

    def _birth(self):
        """Home Assistant (re)started: its discovery again, but at most once a minute, so a
        client repeating the birth message cannot make the room flood the broker."""
        sent = self._discovery_sent_at
        if sent is not None and self.clock() - sent < DISCOVERY_EVERY_S:
            self._log_once("birth", "MQTT: Home Assistant's birth message came again within "
                                    "%d s of the last discovery; not sent again (logged once)",
                           DISCOVERY_EVERY_S)
            return
        log.info("MQTT: Home Assistant came online; sending discovery again")
        self._send_discovery()

    def _send_discovery(self):
        self._discovery_sent_at = self.clock()
        for topic, payload in discovery_messages(
                self.cfg.discovery_prefix, self.cfg.prefix, self.room_id, self.room_name,
                self.topics, self.cap, self.receptive_minutes):
            self.client.publish(topic, payload, qos=1, retain=True)

    def _set_fault(self, message):
        if message == self._fault:
            return  # every retry fails the same way: say it once
        self._fault = message
        if message:
            log.warning("MQTT: %s", message)
        self.engine.report_fault("mqtt", message)

    def _log_once(self, key, text, *args):
        if key in self._logged or len(self._logged) >= LOGGED_ONCE_LIMIT:
            return
        self._logged.add(key)
        log.warning(text, *args)

    def verbs(self) -> dict:
        return {"mqtt": lambda args: self.describe()}

    def describe(self) -> dict:
        with self._lock:
            connected = self._connected
        return {"broker": self.broker, "connected": connected,
                "topics": self.topics.base + "/", "fault": self._fault}


class _ClosingSSLSocket(ssl.SSLSocket):
    """paho drops a socket whose TLS handshake failed without closing it (one open file per
    retry until garbage collection): close it here."""

    def do_handshake(self, *args, **kwargs):
        try:
            return super().do_handshake(*args, **kwargs)
        except BaseException:
            self.close()
            raise


def _tls_context(tls) -> ssl.SSLContext:
    """Verify the broker against ca_file (or the system's CAs) and its host name."""
    context = ssl.create_default_context(
        cafile=None if tls.ca_file is None else str(tls.ca_file))
    if tls.certfile is not None:
        context.load_cert_chain(str(tls.certfile),
                                None if tls.keyfile is None else str(tls.keyfile))
    context.sslsocket_class = _ClosingSSLSocket
    return context


def create(context, **options) -> MqttAdapter:
    """The broker connection from [mqtt] (the daemon's registry)."""
    cfg, room = context.config, context.room
    return MqttAdapter(cfg, context.engine, cfg.room_id or room.id, room.name,
                       room.settings.cap, room.settings.receptive_default_minutes, **options)
