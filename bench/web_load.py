"""Phone panel under load on loopback: figures printed from one run, never asserted.

    python bench/web_load.py [--clients 20] [--requests 200]

The panel runs as the daemon runs it (create_app served by waitress, the real engine thread);
only the audio output is a silent stand-in, so the figures are the web path's own cost.
Measures: GET /api/status and POST /api/commands/volume latency with N concurrent clients
(each on its own keep-alive connection and login), and the delay from a phase change in the
engine to its arrival at N open event streams. Also the cost of one login (scrypt).
"""
from __future__ import annotations

import argparse
import http.client
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.engine import Engine  # noqa: E402
from appliance.session import commands as c  # noqa: E402
from appliance.session import new_state  # noqa: E402
from appliance.session.model import Library, Settings, Track  # noqa: E402
from appliance.web.adapter import serve  # noqa: E402
from appliance.web.config import WebConfig  # noqa: E402
from appliance.web.secrets_store import Credentials, set_passphrase  # noqa: E402
from tests.conftest import SilentAudio, adapter_context  # noqa: E402  (built from the Protocol)

PASSPHRASE = "bench passphrase"


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def ms(values):
    return (f"p50 {1000 * pct(values, 50):6.2f} ms  p99 {1000 * pct(values, 99):6.2f} ms  "
            f"max {1000 * max(values):6.2f} ms  (n={len(values)})")


class Phone:
    count = 0

    def __init__(self, port):
        # each phone its own loopback address, as on the clinic's Wi-Fi (the panel's limits
        # count per address)
        Phone.count += 1
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                               source_address=(f"127.0.8.{Phone.count}", 0))
        answer = self.call("POST", "/api/login", {"passphrase": PASSPHRASE})
        self.csrf = answer["csrf"]

    def call(self, method, path, body=None):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if getattr(self, "csrf", None):
            headers["X-CSRF-Token"] = self.csrf
        if getattr(self, "cookie", None):
            headers["Cookie"] = self.cookie
        self.conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        r = self.conn.getresponse()
        data = r.read()
        cookies = r.headers.get_all("Set-Cookie") or []
        if cookies:
            self.cookie = "; ".join(h.split(";", 1)[0] for h in cookies)
        if r.status != 200:
            raise RuntimeError(f"{method} {path}: {r.status} {data[:200]!r}")
        return json.loads(data)


def load(port, clients, requests):
    phones = [Phone(port) for _ in range(clients)]
    status_times, command_times = [], []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def run(phone, n):
        mine_s, mine_c = [], []
        barrier.wait()
        for i in range(requests):
            t = time.perf_counter()
            phone.call("GET", "/api/status")
            mine_s.append(time.perf_counter() - t)
        barrier.wait()
        for i in range(requests // 2):
            t = time.perf_counter()
            phone.call("POST", "/api/commands/volume", {"level": 40 + (n + i) % 30})
            mine_c.append(time.perf_counter() - t)
        with lock:
            status_times.extend(mine_s)
            command_times.extend(mine_c)
    threads = [threading.Thread(target=run, args=(p, n)) for n, p in enumerate(phones)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    for p in phones:
        p.conn.close()
    return status_times, command_times, wall


def sse_delay(port, engine, listeners, changes):
    phone = Phone(port)
    arrivals = [[] for _ in range(listeners)]
    ready = threading.Barrier(listeners + 1)
    done = threading.Event()

    def listen(k):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                          source_address=(f"127.0.9.{k + 1}", 0))
        conn.request("GET", "/api/events", headers={"Cookie": phone.cookie})
        r = conn.getresponse()
        assert r.status == 200, r.status
        first = True
        while not done.is_set():
            line = r.fp.readline()
            if not line:
                break
            if line.startswith(b"data: "):
                now = time.perf_counter()
                if first:
                    first = False
                    ready.wait()
                    continue
                arrivals[k].append((now, json.loads(line[6:])["phase"]))
        conn.close()
    threads = [threading.Thread(target=listen, args=(k,), daemon=True) for k in range(listeners)]
    for t in threads:
        t.start()
    ready.wait()
    sent = []
    for i in range(changes):
        command = c.Ambient() if i % 2 == 0 else c.Quiet()
        t = time.perf_counter()
        assert engine.submit(command, source="bench").wait()
        sent.append(t)
        time.sleep(0.05)
    time.sleep(0.3)
    done.set()
    delays = []
    for got in arrivals:
        phases = [(t, p) for t, p in got]
        # each command changes the phase once; match the i-th arrival with a new phase
        changes_seen, last = [], None
        for t, p in phases:
            if p != last:
                changes_seen.append(t)
                last = p
        delays.extend(a - s for a, s in zip(changes_seen, sent))
    return delays


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--changes", type=int, default=30)
    args = p.parse_args(argv)
    state_dir = Path(tempfile.mkdtemp(prefix="web-bench-"))
    set_passphrase(state_dir, PASSPHRASE)
    credentials = Credentials(state_dir)
    t = time.perf_counter()
    credentials.check_passphrase(PASSPHRASE)
    login_s = time.perf_counter() - t
    library = Library(ambient=(Track("/bench/a.wav", "Ambient"),),
                      welcome=(Track("/bench/w.wav", "Welcome"),))
    engine = Engine(new_state(Settings(), library), SilentAudio(), room={"id": "bench"})
    engine.start()
    cfg = WebConfig(host="127.0.0.1", port=0, commands_per_minute=10000,
                    event_streams=args.clients, threads=args.clients + 24)
    context = adapter_context(engine, "web", cfg, state_dir)
    panel = serve(context, cfg, credentials)
    try:
        status_t, command_t, wall = load(panel.port, args.clients, args.requests)
        delays = sse_delay(panel.port, engine, args.clients, args.changes)
    finally:
        panel.stop()
        engine.shutdown(fade_s=0)
    print(f"web_load: {args.clients} concurrent clients on loopback, waitress "
          f"{cfg.threads} threads, python {sys.version.split()[0]}")
    print(f"  login check (scrypt n=2^14)        {1000 * login_s:7.1f} ms")
    print(f"  GET /api/status                    {ms(status_t)}")
    print(f"  POST /api/commands/volume          {ms(command_t)}")
    print(f"  throughput (both phases)           "
          f"{(len(status_t) + len(command_t)) / wall:7.0f} requests/s")
    print(f"  SSE phase change -> {args.clients} listeners  {ms(delays)}")


if __name__ == "__main__":
    main()
