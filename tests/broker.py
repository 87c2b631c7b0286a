"""MQTT for the tests: Debian's mosquitto on a free loopback port with a private config,
throwaway certificates, and a subscriber that records what the broker sent."""
from __future__ import annotations

import os
import time
from pathlib import Path


class Broker:
    """A private mosquitto: its own config, port and (optional) passwords; stop() and start()
    again on the same port to take the broker away mid-session."""

    def __init__(self, folder: Path, users=None, persistence=False, tls=False,
                 client_certs=False, acl=None):
        import socket
        import subprocess
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        import pwd
        # run as whoever runs the tests: as root mosquitto would become `mosquitto` and
        # could not read its files in pytest's private (0700) folders
        lines = [f"listener {self.port} 127.0.0.1", "log_dest stderr", "log_type error",
                 f"user {pwd.getpwuid(os.geteuid()).pw_name}"]
        if users:
            passwords = self.folder / "passwords"
            passwords.write_text("")
            for user, password in users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(passwords), user, password],
                               check=True, capture_output=True)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
            if acl is not None:  # mosquitto's acl_file: who may read and write which topics
                (self.folder / "acl").write_text(acl)
                lines.append(f"acl_file {self.folder / 'acl'}")
        else:
            lines.append("allow_anonymous true")
        if persistence:
            lines += ["persistence true", f"persistence_location {self.folder}/"]
        self.tls_port = None
        if tls:  # a second listener with TLS; the plain one stays for test subscribers
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.tls_port = s.getsockname()[1]
            self.ca = make_test_ca(self.folder, "broker-ca")
            key, cert = make_server_cert(self.folder, self.ca)
            lines += [f"listener {self.tls_port} 127.0.0.1", f"cafile {self.ca[1]}",
                      f"certfile {cert}", f"keyfile {key}"]
            if client_certs:  # only clients with a certificate from the broker's CA
                lines.append("require_certificate true")
        self.conf = self.folder / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc = None

    def start(self):
        import shutil
        import socket
        import subprocess
        if not shutil.which("mosquitto"):
            raise RuntimeError("mosquitto is needed (./setup.sh test installs it)")
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("mosquitto did not start")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.proc = None


def _openssl(*args, cwd):
    import subprocess
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_test_ca(folder: Path, name: str):
    """A throwaway certificate authority: (key, certificate) paths."""
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
             "-subj", f"/CN={name}", cwd=folder)
    return folder / f"{name}.key", folder / f"{name}.pem"


def make_server_cert(folder: Path, ca, name="server"):
    """A certificate for 127.0.0.1 / localhost signed by `ca`: (key, certificate) paths."""
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}",
             cwd=folder)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", str(ca[1]), "-CAkey", str(ca[0]),
             "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", "san.ext",
             cwd=folder)
    return folder / f"{name}.key", folder / f"{name}.pem"


class Subscriber:
    """Records every message on `topics` as (monotonic time, topic, text, retained)."""

    def __init__(self, port: int, topics=("#",), persistent_id=None, login=None):
        import threading

        import paho.mqtt.client as mqtt
        self.topics = topics
        self.messages = []
        self.changed = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=persistent_id or "",
                                  clean_session=persistent_id is None)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.reconnect_delay_set(1, 1)
        if login:
            self.client.username_pw_set(*login)
        self.connected = threading.Event()
        self.client.connect_async("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        assert self.connected.wait(10), "test subscriber could not connect"

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        # again on every connect: retained messages come again
        client.subscribe([(topic, 1) for topic in self.topics])

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        self.connected.set()  # subscribed: nothing published from now on is missed

    def _on_message(self, client, userdata, message):
        if message.dup:
            # the broker sends a QoS 1 message again when our ack did not reach it before it
            # went away: at-least-once delivery of what we already have, not a new publish
            return
        with self.changed:
            self.messages.append((time.monotonic(), message.topic,
                                  message.payload.decode("utf-8", "replace"), message.retain))
            self.changed.notify_all()

    def on(self, topic):
        with self.changed:
            return [(t, text) for t, top, text, _ in self.messages if top == topic]

    def wait_for(self, predicate, timeout=10.0, what="message"):
        """Wait until predicate(messages) is true; returns its value."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                value = predicate(list(self.messages))
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}; got "
                                         f"{[(m[1], m[2][:80]) for m in self.messages][-20:]}")
                self.changed.wait(min(left, 0.1))

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()
