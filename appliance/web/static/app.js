// The therapist's panel. Talks only to this box's own JSON API (see /api/openapi.json).
"use strict";
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var PHASES = { idle: "Ready", ambient: "Ambient", welcome: "Welcome", active: "Active",
    receptive: "Receptive", reflection: "Reflection" };
  var LENGTHS = [5, 10, 15, 20, 25, 30, 40, 45, 60, 90];
  // behind HTTPS the cookies carry the __Host- prefix (bound to this host and port)
  var csrf = readCookie("__Host-panel_csrf") || readCookie("panel_csrf");
  var status = null, statusAt = 0, source = null, info = null, retryTimer = null;
  var courseFor = undefined;  // (client, phase) the course line was last asked for
  // the client and booking parts (clients.js) hook in: info(panel info), status(status)
  var hooks = [];

  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
    }
    return null;
  }

  // --- talking to the box --------------------------------------------------------------
  function plain(code, error, retryAfter) {
    var reason = (error || "").charAt(0).toUpperCase() + (error || "").slice(1);
    if (code === 0) return "Cannot reach the room's box. Check the Wi-Fi and try again.";
    if (code === 400) return "That did not work. " + reason;
    if (code === 401) return /^wrong passphrase/.test(error || "") ? "Wrong passphrase. Try again"
      + (retryAfter ? " in " + retryAfter + " seconds." : ".") : "Please log in again.";
    if (code === 403) return "Refused by a security check. Reload the page and try again.";
    if (code === 409) return "Not now. " + reason;
    if (code === 413) return "That request was too large.";
    if (code === 429) return "Too many tries. Wait " + (retryAfter || "a few") + " seconds.";
    return reason || ("Something went wrong (error " + code + ").");
  }

  function api(method, path, body) {
    var init = { method: method, headers: {}, credentials: "same-origin", cache: "no-store" };
    if (method !== "GET") init.headers["X-CSRF-Token"] = csrf || "";
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (r.ok) return data;
        if (r.status === 401 && path !== "/api/login") showLogin("Your login has ended. Please log in again.");
        var err = new Error(plain(r.status, data.error, r.headers.get("Retry-After")));
        err.code = r.status;
        throw err;
      });
    }, function () {
      var err = new Error(plain(0));
      err.code = 0;
      throw err;
    });
  }

  var sayTimer = null;
  function say(text, ok) {
    var m = $("message");
    m.textContent = text || "";
    m.className = ok ? "message ok" : "message";
    clearTimeout(sayTimer);
    if (text) sayTimer = setTimeout(function () { m.textContent = ""; }, 12000);
  }

  // --- showing the room ------------------------------------------------------------------
  function clock(seconds) {
    seconds = Math.max(0, Math.ceil(seconds));
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function render(s) {
    status = s;
    statusAt = Date.now();
    $("phase").textContent = PHASES[s.phase] || s.phase;
    $("playing").textContent = (s.now_playing ? "\u266A " + s.now_playing : "Nothing playing") +
      (s.block && s.block.held ? " \u00B7 held" : "");
    $("volume").textContent = Math.round(s.volume);
    $("cap").textContent = "cap " + Math.round(s.cap) +
      (s.room_spl != null ? " \u00b7 \u2248" + s.room_spl + " dB SPL" : "");
    if (s.room_name) { $("room").textContent = s.room_name; document.title = s.room_name; }
    $("client").textContent = s.client ? "Client " + s.client : "";
    $("client").hidden = !s.client;
    // what the room accepts now comes from the server's phase table (status.possible);
    // a dimmed button still works: pressed, it says why not (so no aria-disabled)
    var buttons = document.querySelectorAll("[data-verb]"), possible = s.possible || [];
    for (var i = 0; i < buttons.length; i++) {
      var verb = buttons[i].getAttribute("data-verb"), can = possible.indexOf(verb) >= 0;
      buttons[i].classList.toggle("current", verb === s.phase);
      buttons[i].classList.toggle("unavailable", !can);
    }
    var faults = s.faults || {}, lines = [];
    Object.keys(faults).forEach(function (k) { lines.push(k + ": " + faults[k]); });
    if (s.fault) lines.unshift(s.fault);
    $("faults").textContent = lines.length ? "Needs attention: " + lines.join("; ") : "";
    $("faults").hidden = !lines.length;
    loadCourse(s);
    $("iso-start").classList.toggle("unavailable", possible.indexOf("iso") < 0);
    drawBlock(s.block, s.remaining_s);
    tick();
    hooks.forEach(function (h) { if (h.status) h.status(s); });
  }

  // "session 5 of 8 · goal review due": counted by the session record, for the chosen client
  function loadCourse(s) {
    var key = (s.client || "") + "/" + s.phase;
    if (!info || !info.record || key === courseFor) return;
    courseFor = key;
    if (!s.client) { $("course").hidden = true; return; }
    api("GET", "/api/sessions?limit=1").then(function (answer) {
      var c = answer.chosen;
      $("course").textContent = c ? c.client + ": " + c.line : "";
      $("course").hidden = !c;
    }, function () { courseFor = undefined; });
  }

  // the block's tempo curve: planned pieces dashed, what was heard solid, now a line
  var SVG = "http://www.w3.org/2000/svg";
  function svg(name, attrs) {
    var el = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    return el;
  }
  function drawBlock(block, left) {
    $("block").hidden = !block;
    if (!block) return;
    $("hold").textContent = block.held ? "Release" : "Hold";
    $("hold").classList.toggle("current", block.held);
    var curve = $("curve");
    while (curve.firstChild) curve.removeChild(curve.firstChild);
    var plan = block.plan || [], played = (block.played || []).filter(function (p) { return p[1]; });
    var bpms = plan.map(function (p) { return p.bpm; }).concat(played.map(function (p) { return p[1]; }));
    if (!bpms.length) return;  // a plain block with no tempos known: nothing to draw
    var total = Math.max(1, block.elapsed_s + (left || 0));
    var low = Math.min.apply(null, bpms) - 5, high = Math.max.apply(null, bpms) + 5;
    var x = function (t) { return 4 + 292 * Math.min(1, t / total); };
    var y = function (b) { return 82 - 74 * (b - low) / (high - low); };
    function steps(points, end) {
      var d = "";
      points.forEach(function (p, i) {
        var next = i + 1 < points.length ? points[i + 1][0] : end;
        d += (i ? " L" : "M") + x(p[0]) + " " + y(p[1]) + " L" + x(next) + " " + y(p[1]);
      });
      return d;
    }
    var planned = plan.map(function (p) { return [p.starts_s, p.bpm]; });
    if (planned.length) curve.appendChild(svg("path", { d: steps(planned, total), "class": "planned" }));
    if (played.length) curve.appendChild(svg("path", { d: steps(played, block.elapsed_s), "class": "played" }));
    curve.appendChild(svg("line", { x1: x(block.elapsed_s), x2: x(block.elapsed_s), y1: 4, y2: 86, "class": "now" }));
    [high - 5, low + 5].forEach(function (b) {
      var label = svg("text", { x: 296, y: y(b) + 4, "class": "bpm" });
      label.textContent = Math.round(b);
      curve.appendChild(label);
    });
  }

  function tick() {
    if (!status) return;
    var left = status.remaining_s;
    var none = left === null || left === undefined;
    var held = status.block && status.block.held;  // held: the time left stands still
    $("countdown").textContent = none ? "\u2013" :
      clock(left - (held ? 0 : (Date.now() - statusAt) / 1000));
    $("countdown").classList.toggle("held", !!held);
    $("countdown").classList.toggle("none", none);
  }

  function setLive(on, text) {
    $("live").textContent = text || (on ? "live" : "reconnecting…");
    $("live").classList.toggle("on", !!on);
  }

  // --- live updates (Server-Sent Events; the browser reconnects, we retry after errors) ---
  function connect() {
    if (source) source.close();
    clearTimeout(retryTimer);
    source = new EventSource("/api/events");
    source.onopen = function () { setLive(true); };
    source.onmessage = function (e) { render(JSON.parse(e.data)); };
    source.addEventListener("expired", function () {
      source.close();
      showLogin("Your login has ended. Please log in again.");
    });
    source.onerror = function () {
      setLive(false);
      if (source.readyState === EventSource.CLOSED) retryTimer = setTimeout(recover, 3000);
    };
  }

  function recover() {
    api("GET", "/api/status").then(function (s) { render(s); connect(); }, function (e) {
      if (e.code !== 401) retryTimer = setTimeout(recover, 3000);
    });
  }

  // --- actions -----------------------------------------------------------------------------
  function command(verb, args, button) {
    if (button) button.classList.add("busy");
    return api("POST", "/api/commands/" + verb, args || {}).then(function (answer) {
      if (answer.status) render(answer.status);
      say(answer.message || "", true);
    }, function (e) { say(e.message); }).then(function () {
      if (button) button.classList.remove("busy");
    });
  }

  function fillLengths() {
    var r = info.receptive, select = $("minutes"), choices = LENGTHS.slice();
    if (choices.indexOf(r["default"]) < 0) choices.push(r["default"]);
    choices.sort(function (a, b) { return a - b; });
    select.textContent = "";
    choices.forEach(function (m) {
      if (m < r.min || m > r.max) return;
      var o = document.createElement("option");
      o.value = m;
      o.textContent = m + " min";
      o.selected = m === r["default"];
      select.appendChild(o);
    });
  }

  function showButtons() {
    var box = $("vbuttons");
    box.textContent = "";
    (info.buttons || []).forEach(function (b) {
      // a virtual hold lasts a little longer than the button's own hold time
      [[b.press, null], [b.hold, (b.hold_s || 2.5) + 0.5]].forEach(function (kind) {
        if (!kind[0]) return;
        var el = document.createElement("button"), small = document.createElement("small");
        el.type = "button";
        el.textContent = b.name + (kind[1] ? " (hold)" : "");
        small.textContent = kind[0];
        el.appendChild(small);
        el.addEventListener("click", function () {
          api("POST", "/api/buttons/" + encodeURIComponent(b.name),
            kind[1] ? { hold_s: kind[1] } : {}).then(function (a) {
            if (a.status) render(a.status);
            say("", true);
          }, function (e) { say(e.message); });
        });
        box.appendChild(el);
      });
    });
    $("buttons").hidden = !(info.buttons && info.buttons.length);
  }

  // --- logging in and out ----------------------------------------------------------------
  function showLogin(why) {
    if (source) { source.close(); source = null; }
    $("panel").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = why || "";
    $("passphrase").focus();
  }

  function showPanel() {
    return api("GET", "/api/panel").then(function (i) {
      info = i;
      hooks.forEach(function (h) { if (h.info) h.info(i); });
      fillLengths();
      showButtons();
      $("record-link").hidden = !i.record;
      if (i.room_name) $("login-room").textContent = i.room_name;
      $("login").hidden = true;
      $("panel").hidden = false;
      return api("GET", "/api/status");
    }).then(function (s) {
      render(s);
      connect();
    });
  }

  $("login-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var field = $("passphrase");
    $("login-error").textContent = "";
    api("POST", "/api/login", { passphrase: field.value }).then(function (answer) {
      csrf = answer.csrf;
      field.value = "";
      return showPanel();
    }).catch(function (err) { $("login-error").textContent = err.message; });
  });

  $("logout").addEventListener("click", function () {
    api("POST", "/api/logout").then(function () { showLogin(""); }, function () { showLogin(""); });
  });

  document.querySelector(".actions").addEventListener("click", function (e) {
    var button = e.target.closest("[data-verb]");
    if (!button) return;
    var verb = button.getAttribute("data-verb");
    command(verb, verb === "receptive" ? { minutes: Number($("minutes").value) } : {}, button);
  });
  $("iso-start").addEventListener("click", function () {
    command("iso", { minutes: Number($("minutes").value), energy: $("energy").value },
            $("iso-start"));
  });
  $("block").addEventListener("click", function (e) {
    var button = e.target.closest("[data-live]");
    if (!button) return;
    var verb = button.getAttribute("data-live");
    command(verb, verb === "extend" || verb === "shorten" ? { minutes: 5 } : {}, button);
  });
  $("vol-down").addEventListener("click", function () { command("volume_down"); });
  $("vol-up").addEventListener("click", function () { command("volume_up"); });

  setInterval(tick, 250);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && !$("panel").hidden && (!source || source.readyState === EventSource.CLOSED)) recover();
  });

  window.Panel = { api: api, say: say, render: render, hooks: hooks };
  if (csrf) showPanel().catch(function () { showLogin(""); });
  else showLogin("");
})();
