"""HTTPS through Debian's Caddy with its internal CA, as the README sets it up: the panel behind
it on loopback, __Host- cookies, the client's address from the proxy only."""
from __future__ import annotations

import http.client
import json
import re
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import PANEL_PASSPHRASE
from .test_web_e2e import CHROMIUM, CHROMIUM_ARGS
from .test_web_server import served  # noqa: F401  (the fixture)

README = Path(__file__).resolve().parent.parent / "README.md"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def readme_caddyfile(panel_port: int, https_port: int, storage: Path) -> str:
    block = re.search(r"```\n(# /etc/caddy/Caddyfile\n.*?)```", README.read_text(), re.S)
    assert block, "README: the Caddyfile example is gone"
    text = block.group(1)
    assert "https://therapy-room.local, https://localhost {" in text
    text = text.replace("https://therapy-room.local, https://localhost {",
                        f"https://localhost:{https_port} {{")
    text = text.replace("reverse_proxy 127.0.0.1:8080", f"reverse_proxy 127.0.0.1:{panel_port}")
    # test-only globals: no admin port, its own storage and plain-HTTP port
    return text.replace("{\n", f"{{\n\tadmin off\n\tstorage file_system {storage}\n"
                               f"\thttp_port {_free_port()}\n", 1)


class _PortTaken(Exception):
    pass


@pytest.fixture
def caddy(tmp_path):
    if not shutil.which("caddy"):
        pytest.skip("Debian's caddy is not installed (./setup.sh test installs it)")
    procs = []

    def start(panel_port):
        for _ in range(3):  # the free port may be taken again before caddy binds it
            try:
                return _start(panel_port)
            except _PortTaken:
                continue
        raise AssertionError("caddy found no free port in 3 tries")

    def _start(panel_port):
        port = _free_port()
        conf = tmp_path / "Caddyfile"
        conf.write_text(readme_caddyfile(panel_port, port, tmp_path / "caddy"))
        env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "xdg"),
               "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "PATH": "/usr/bin:/bin"}
        log = open(tmp_path / "caddy.log", "w")
        proc = subprocess.Popen(["caddy", "run", "--config", str(conf), "--adapter",
                                 "caddyfile"], env=env, stdout=log, stderr=log)
        procs.append((proc, log))
        root = tmp_path / "caddy" / "pki" / "authorities" / "local" / "root.crt"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if root.exists():
                try:
                    context = ssl.create_default_context(cafile=str(root))
                    with socket.create_connection(("127.0.0.1", port), timeout=1) as s, \
                            context.wrap_socket(s, server_hostname="localhost"):
                        return port, context
                except (OSError, ssl.SSLError):
                    pass
            if proc.poll() is not None:
                text = (tmp_path / "caddy.log").read_text()
                if "address already in use" in text:
                    raise _PortTaken()
                raise AssertionError(text)
            time.sleep(0.1)
        raise AssertionError("caddy did not come up: " + (tmp_path / "caddy.log").read_text())
    yield start
    for proc, log in procs:
        proc.terminate()
        proc.wait(5)
        log.close()


def _https(port, context, method, path, body=None, headers=None, source="127.0.0.1"):
    conn = http.client.HTTPSConnection("localhost", port, context=context, timeout=10,
                                       source_address=(source, 0))
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body),
                     headers={"Content-Type": "application/json", **(headers or {})})
        answer = conn.getresponse()
        return answer.status, answer.read(), answer
    finally:
        conn.close()


@pytest.mark.slow
def test_https_through_caddy_with_host_cookies_and_the_phones_own_address(
        served, caddy):  # noqa: F811
    panel = served(behind_proxy=True, secure_cookies=True)
    port, context = caddy(panel.port)
    status, body, answer = _https(port, context, "POST", "/api/login",
                                  {"passphrase": PANEL_PASSPHRASE})
    assert status == 200
    cookies = answer.headers.get_all("Set-Cookie")
    assert sorted(c.split("=", 1)[0] for c in cookies) == ["__Host-panel_csrf",
                                                           "__Host-panel_session"]
    assert all("Secure" in c and "Path=/" in c and "Domain" not in c for c in cookies)
    jar = "; ".join(c.split(";", 1)[0] for c in cookies)
    csrf = json.loads(body)["csrf"]
    status, body, _ = _https(port, context, "POST", "/api/commands/ambient", {},
                             {"Cookie": jar, "X-CSRF-Token": csrf,
                              "Origin": f"https://localhost:{port}"})
    assert status == 200 and json.loads(body)["status"]["phase"] == "ambient"
    # the plain-HTTP panel is on loopback only
    assert panel.host == "127.0.0.1"
    # behind the proxy each phone is itself: one guessing does not slow another down
    for i in range(6):
        _https(port, context, "POST", "/api/login", {"passphrase": f"guess {i}"},
               source="127.0.5.77")
    status, _, _ = _https(port, context, "POST", "/api/login", {"passphrase": PANEL_PASSPHRASE},
                          source="127.0.5.77")
    assert status == 429, "the guessing phone's backoff"
    status, _, _ = _https(port, context, "POST", "/api/login", {"passphrase": PANEL_PASSPHRASE},
                          source="127.0.5.78")
    assert status == 200, "another phone behind the same proxy is not held back"
    # a phone that says it is someone else (X-Forwarded-For of its own) changes nothing
    status, _, _ = _https(port, context, "POST", "/api/login", {"passphrase": PANEL_PASSPHRASE},
                          {"X-Forwarded-For": "127.0.5.99"}, source="127.0.5.77")
    assert status == 429


@pytest.mark.slow
def test_a_forwarded_address_is_believed_only_from_the_proxy(served):  # noqa: F811
    panel = served(behind_proxy=True, secure_cookies=True)
    codes = []
    for i in range(7):  # straight to the panel from another loopback address, lying
        conn = http.client.HTTPConnection(panel.host, panel.port, timeout=5,
                                          source_address=("127.0.6.5", 0))
        conn.request("POST", "/api/login", json.dumps({"passphrase": f"guess {i}"}),
                     {"Content-Type": "application/json", "X-Forwarded-For": f"10.9.9.{i}"})
        codes.append(conn.getresponse().status)
        conn.close()
    assert codes == [401] * 5 + [429] * 2


@pytest.mark.browser
def test_chromium_uses_the_panel_over_https(served, caddy, tmp_path):  # noqa: F811
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (./setup.sh test installs it)")
    panel = served(behind_proxy=True, secure_cookies=True)
    port, tls = caddy(panel.port)
    engine = panel.app.extensions["panel"].room.engine
    for n in range(6):  # someone guessed before the therapist came: 30 wrong passphrases
        for i in range(5):
            _https(port, tls, "POST", "/api/login", {"passphrase": f"guess {i}"},
                   source=f"127.0.7.{n + 1}")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # Chromium does not know the test's throwaway CA; Python checked it above
            context = browser.new_context(viewport={"width": 360, "height": 640},
                                          ignore_https_errors=True)
            page = context.new_page()
            page.goto(f"https://localhost:{port}/")
            page.fill("#passphrase", PANEL_PASSPHRASE)
            page.click("text=Unlock")
            sync_api.expect(page.locator("#phase")).to_have_text("Ready")
            sync_api.expect(page.locator("#faults")).to_contain_text("many failed logins")
            names = {c["name"]: c for c in context.cookies()}
            assert set(names) == {"__Host-panel_session", "__Host-panel_csrf"}
            assert all(c["secure"] for c in names.values())
            page.reload()  # the page finds its __Host- CSRF cookie again
            sync_api.expect(page.locator("#live")).to_have_text("live")
            page.click("[data-verb=welcome]")
            sync_api.expect(page.locator("#phase")).to_have_text("Welcome")
            assert engine.status().phase == "welcome"
            context.close()
        finally:
            browser.close()
