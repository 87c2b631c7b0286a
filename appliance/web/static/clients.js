// The panel's client and booking parts: choose the session's client before the welcome, edit
// the profiles, book and cancel one-off sessions. Uses app.js's Panel (api, say, render).
"use strict";
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var P = window.Panel;
  // a profile's fields as the API names them, and how the page labels them
  var FIELDS = [["welcome", "Welcome song"], ["cap", "Cap"], ["volume", "Volume"],
    ["ambient_level", "Ambient level"], ["fade_in_s", "Fade-in (s)"], ["quiet_s", "Quiet (s)"],
    ["receptive_playlist", "Receptive playlist"], ["reflection_minutes", "Reflection (min)"],
    ["course", "Course (sessions)"], ["review_every", "Review every"]];
  var profiles = [], welcomeTitles = [], phasePossible = [], info = null, shown = null;

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function fillCodes(select, none, chosen) {
    select.textContent = "";
    select.appendChild(el("option", none)).value = "";
    profiles.forEach(function (p) { select.appendChild(el("option", p.code)).value = p.code; });
    select.value = chosen || "";
  }

  // --- the session's client --------------------------------------------------------------
  function showClient(s) {
    phasePossible = s.possible || [];
    shown = s.client || null;
    var pick = $("client-pick");
    if (document.activeElement !== pick) fillCodes(pick, "No client: the room's settings", shown);
    pick.classList.toggle("unavailable", phasePossible.indexOf("client") < 0);
  }

  $("client-pick").addEventListener("change", function () {
    var code = this.value;
    var call = code ? P.api("PUT", "/api/client", { code: code }) : P.api("DELETE", "/api/client");
    call.then(function (a) { P.render(a.status); P.say(a.message, true); },
      function (e) { P.say(e.message); $("client-pick").value = shown || ""; });
  });

  // --- the profiles --------------------------------------------------------------------------
  function loadProfiles() {
    return P.api("GET", "/api/clients").then(function (a) {
      profiles = a.clients;
      welcomeTitles = a.welcome;
      var list = $("profiles");
      list.textContent = "";
      profiles.forEach(function (p) {
        var li = el("li"), text = el("span", p.code), edit = el("button", "Edit"),
          drop = el("button", "Remove");
        var parts = FIELDS.filter(function (f) { return p[f[0]] !== undefined; })
          .map(function (f) { return f[1] + " " + p[f[0]]; });
        text.appendChild(el("small", parts.join(" \u00B7 ") || "as the room is set"));
        edit.type = drop.type = "button";
        edit.addEventListener("click", function () { fillForm(p); });
        drop.addEventListener("click", function () {
          P.api("DELETE", "/api/clients/" + encodeURIComponent(p.code)).then(function () {
            P.say("Removed the profile of " + p.code + ".", true);
            loadProfiles();
          }, function (e) { P.say(e.message); });
        });
        li.appendChild(text); li.appendChild(edit); li.appendChild(drop);
        list.appendChild(li);
      });
      fillCodes($("book-client"), "No client code", $("book-client").value);
      showClient({ client: shown, possible: phasePossible });
      if (!$("pf-fields").childNodes.length) makeForm();
    }, function (e) { P.say(e.message); });
  }

  function makeForm() {
    FIELDS.forEach(function (f) {
      var input = f[0] === "welcome" ? el("select") : el("input");
      input.id = "pf-" + f[0];
      input.setAttribute("aria-label", f[1]);
      if (f[0] === "welcome") {
        input.appendChild(el("option", "Welcome: the room's")).value = "";
        welcomeTitles.forEach(function (t) { input.appendChild(el("option", t)).value = t; });
      } else {
        input.placeholder = f[1];
        if (f[0] !== "receptive_playlist") input.inputMode = "decimal";
      }
      $("pf-fields").appendChild(input);
    });
  }

  function fillForm(p) {
    $("pf-code").value = p.code;
    FIELDS.forEach(function (f) { $("pf-" + f[0]).value = p[f[0]] === undefined ? "" : p[f[0]]; });
  }

  $("profile-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var code = $("pf-code").value.trim(), body = {}, unset = [];
    var old = profiles.filter(function (p) { return p.code === code; })[0];
    FIELDS.forEach(function (f) {
      var value = $("pf-" + f[0]).value.trim();
      if (value !== "") body[f[0]] = value;
      else if (old && old[f[0]] !== undefined) unset.push(f[0]);
    });
    var call;
    if (old) {
      if (unset.length) body.unset = unset;
      call = P.api("PATCH", "/api/clients/" + encodeURIComponent(code), body);
    } else {
      body.code = code;
      call = P.api("POST", "/api/clients", body);
    }
    call.then(function () {
      P.say("Saved the profile of " + code + ".", true);
      loadProfiles();
    }, function (err) { P.say(err.message); });
  });

  // --- booked sessions -----------------------------------------------------------------------
  var DAY = { weekday: "short", hour: "2-digit", minute: "2-digit" };

  function loadSchedule() {
    if (!info || !info.schedule) return;
    P.api("GET", "/api/schedule?limit=5").then(function (answer) {
      var list = $("sessions");
      list.textContent = "";
      answer.sessions.forEach(function (s) {
        var li = el("li"), text = el("span", new Date(s.start).toLocaleString([], DAY)
          + " \u00B7 " + Math.round(s.minutes) + " min" + (s.label ? " \u00B7 " + s.label : ""));
        if (s.why_not) text.appendChild(el("small", s.why_not));
        li.appendChild(text);
        if (s.kind === "one-off") {
          var drop = el("button", "Cancel");
          drop.type = "button";
          drop.addEventListener("click", function () {
            P.api("DELETE", "/api/schedule/" + encodeURIComponent(s.id)).then(function () {
              P.say("Cancelled.", true);
              loadSchedule();
            }, function (e) { P.say(e.message); });
          });
          li.appendChild(drop);
        }
        list.appendChild(li);
      });
      if (!answer.sessions.length) list.textContent = "Nothing booked.";
      $("weekly").textContent = (answer.weekly || []).map(function (w) {
        return "Weekly " + w.days.join(", ") + " " + w.start + " \u00B7 " + Math.round(w.minutes)
          + " min" + (w.label ? " \u00B7 " + w.label : "");
      }).join("; ");
      $("schedule").hidden = false;
    }, function () { /* shown again on the next refresh */ });
  }

  $("book-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var body = { start: $("book-start").value, minutes: Number($("book-minutes").value) };
    if ($("book-client").value) body.label = $("book-client").value;
    P.api("POST", "/api/schedule", body).then(function (s) {
      P.say("Booked " + new Date(s.start).toLocaleString([], DAY) + ".", true);
      loadSchedule();
    }, function (err) { P.say(err.message); });
  });

  P.hooks.push({
    info: function (i) {
      info = i;
      $("clients").hidden = !i.clients;
      if (i.clients) loadProfiles();
      else fillCodes($("book-client"), "No client code", "");
      loadSchedule();
    },
    status: showClient
  });
  setInterval(loadSchedule, 60000);
})();
