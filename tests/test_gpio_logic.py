"""The pure parts: when a press counts, and what a light shows when. Times are handed in."""
from __future__ import annotations

from appliance.gpio.buttons import ButtonLogic
from appliance.gpio.lights import FLASH, NAMED, Pattern, RoomView
from appliance.status import Status

import pytest

pytestmark = pytest.mark.fast


def press_only(**kw):
    return ButtonLogic(has_hold=False, hold_s=2.0, debounce_s=kw.get("debounce_s", 0.05),
                       chatter_edges=25, settle_s=1.0, repeat_s=kw.get("repeat_s", 0.3))


def with_hold(**kw):
    return ButtonLogic(has_hold=True, hold_s=2.0, debounce_s=0.05, chatter_edges=25,
                       settle_s=1.0, repeat_s=0.3)


def run(logic, edges, until, level_at):
    """Feed (time, active) edges and the polls the logic asks for; collect what happened."""
    happened = []
    edges = list(edges)
    now = 0.0
    while True:
        due = logic.due()
        next_edge = edges[0][0] if edges else None
        candidates = [t for t in (due, next_edge) if t is not None and t <= until]
        if not candidates:
            return happened
        now = min(candidates)
        if next_edge is not None and next_edge == now:
            _, active = edges.pop(0)
            happened += [(round(now, 3), e) for e in logic.edge(active, now)]
        else:
            happened += [(round(now, 3), e) for e in logic.poll(now, level_at(now))]


def bounce(start, count=11, spacing=0.0005, end_active=True):
    """`count` (odd) edges in count*spacing seconds, starting and settling on `end_active`."""
    assert count % 2 == 1
    return [(start + i * spacing, (i % 2 == 0) == end_active) for i in range(count)]


def test_a_press_only_button_acts_on_the_first_edge():
    logic = press_only()
    assert logic.edge(True, 10.0) == ["press"]


def test_a_5ms_bounce_burst_is_one_press():
    edges = bounce(1.0, count=11, spacing=0.0005) + bounce(1.5, count=9, end_active=False)
    level = lambda t: 1.0 <= t < 1.5  # noqa: E731
    assert run(press_only(), edges, 5.0, level) == [(1.0, "press")]


def test_a_release_hidden_inside_the_debounce_is_still_seen():
    logic = press_only(debounce_s=0.2)
    edges = [(1.0, True), (1.05, False), (1.5, True)]
    level = lambda t: t < 1.05 and t >= 1.0 or t >= 1.5  # noqa: E731
    assert run(logic, edges, 3.0, level) == [(1.0, "press"), (1.5, "press")]


def test_a_hold_button_fires_press_on_a_short_release_and_never_both():
    edges = bounce(1.0, count=7) + bounce(1.4, count=7, end_active=False)
    level = lambda t: 1.0 <= t < 1.4  # noqa: E731
    assert run(with_hold(), edges, 5.0, level) == [(1.4, "press")]


def test_a_hold_fires_while_still_held_and_the_release_does_nothing():
    edges = [(1.0, True), (4.0, False)]
    level = lambda t: 1.0 <= t < 4.0  # noqa: E731
    assert run(with_hold(), edges, 6.0, level) == [(3.0, "hold")]


def test_a_flood_acts_at_most_once_and_is_ignored_until_it_settles():
    edges = [(1.0 + i * 0.01, i % 2 == 0) for i in range(200)]  # 100 edges/s for 2 s
    for logic in (press_only(), with_hold()):
        happened = run(logic, edges, 10.0, lambda t: False)  # it stops released
        assert [e for _, e in happened].count("press") <= 1
        assert "hold" not in [e for _, e in happened]
        assert happened[-2:] == [(1.25, "chatter"), (3.99, "settled")]
        assert logic.edge(True, 20.0) == ([] if logic.has_hold else ["press"])
    assert press_only().edge(True, 1.0) == ["press"]  # the flood's first edge is a press


def test_quick_presses_of_one_button_act_at_most_once_per_repeat_s():
    edges = [(1.0, True), (1.1, False), (1.2, True), (1.3, False), (1.4, True), (1.45, False)]
    level = lambda t: any(a <= t < b for a, b in ((1.0, 1.1), (1.2, 1.3), (1.4, 1.45)))  # noqa
    assert run(press_only(), edges, 3.0, level) == [(1.0, "press"), (1.2, "too soon: press"),
                                                   (1.4, "press")]
    assert run(press_only(repeat_s=0), edges, 3.0, level) == \
        [(1.0, "press"), (1.2, "press"), (1.4, "press")]


def test_a_button_stuck_pressed_after_chatter_does_not_act_on_waking():
    edges = [(1.0 + i * 0.01, i % 2 == 0) for i in range(101)]  # ends pressed
    logic = with_hold()
    happened = run(logic, edges, 10.0, lambda t: True)
    assert [e for _, e in happened][-2:] == ["chatter", "settled"]
    assert logic.edge(False, 10.0) == []


def test_patterns_over_time():
    breathe = Pattern("breathe", period=4.0)
    assert breathe.value(0.0) == 0.0 and breathe.value(2.0) == 1.0 and breathe.value(1.0) == 0.5
    assert breathe.next_change(1.01) == 1.05
    assert [breathe.value(t, pwm=False) for t in (0.1, 1.9, 2.1, 3.9)] == [1, 1, 0, 0]
    assert breathe.next_change(0.1, pwm=False) == 2.0
    flash = NAMED["flash"]
    assert flash.steps == FLASH
    assert [flash.value(t) for t in (0.05, 0.15, 0.3, 0.4, 0.55, 1.0, 2.05)] == \
        [1, 0, 1, 0, 1, 0, 1]
    assert flash.next_change(0.05) == 0.1 and abs(flash.next_change(0.6) - 2.0) < 1e-9
    assert NAMED["on"].value(123) == 1 and NAMED["on"].next_change(123) is None
    assert Pattern("steady", level=0.3).value(0, pwm=False) == 1.0


def test_the_room_view_reminds_before_a_receptive_block_ends_and_at_reflection():
    view = RoomView(reminder_before_end_s=120, reflection_reminder_s=60)
    assert view.state_at(0) == ("idle", None)
    view.update(Status("ambient"), 10)
    assert view.state_at(11) == ("ambient", None)
    view.update(Status("receptive", deadline=700), 100)  # deadlines are absolute
    assert view.state_at(101) == ("session", 580)
    assert view.state_at(580) == ("reminder", None)
    view.update(Status("reflection", deadline=1300), 700)
    assert view.state_at(700) == ("reminder", 760)
    assert view.state_at(760) == ("session", None)
    view.update(Status("reflection", deadline=1300, faults={"audio": "x"}), 800)
    assert view.state_at(800) == ("fault", None)
    view.update(Status("reflection", deadline=1300), 801)
    assert view.state_at(801) == ("session", None)  # the same reflection: no new reminder
