"""EventBus: a subscriber that falls behind loses mic levels and partial answer text, never status
changes, turn starts and ends, answers or errors."""
from __future__ import annotations

from labvoice.events import (AnswerDelta, AnswerDone, ErrorEvent, EventBus, MicLevel, Status, StatusChanged,
                             TurnEnded, TurnStarted, drain)


def test_a_full_queue_sheds_droppable_events_only():
    bus = EventBus(maxsize=20)
    q = bus.subscribe()
    important = []
    for i in range(100):
        bus.publish(MicLevel(i, 0.1, 0.2))
        bus.publish(AnswerDelta(i, f"partial {i}"))
        if i % 10 == 0:
            event = [StatusChanged(i, Status.THINKING), TurnStarted(i), AnswerDone(i, "text", (), (), False, False),
                     ErrorEvent(i, "llm", "failed"), TurnEnded(i)][i // 10 % 5]
            important.append(event)
            bus.publish(event)
    got = drain(q)
    assert [e for e in got if not e.droppable] == important      # all of them, in order
    assert len(got) == 20 and q.dropped == 200 + len(important) - 20
    droppable = [e for e in got if e.droppable]
    assert droppable and droppable[-1].turn_id == 99              # the newest partials survive


def test_more_important_events_than_room_are_all_kept():
    bus = EventBus(maxsize=5)
    q = bus.subscribe()
    for i in range(50):
        bus.publish(TurnEnded(i))
        bus.publish(MicLevel(i, 0.0, 0.0))
    got = drain(q)
    assert [e.turn_id for e in got if isinstance(e, TurnEnded)] == list(range(50))


def test_every_subscriber_gets_every_event_and_unsubscribe_stops_it():
    bus = EventBus()
    first, second = bus.subscribe(), bus.subscribe()
    bus.publish(TurnStarted(1, "voice"))
    bus.unsubscribe(second)
    bus.publish(TurnEnded(1))
    assert [type(e) for e in drain(first)] == [TurnStarted, TurnEnded]
    assert [type(e) for e in drain(second)] == [TurnStarted]


def test_get_with_timeout_wakes_on_publish():
    import threading

    bus = EventBus()
    q = bus.subscribe()
    threading.Timer(0.05, lambda: bus.publish(TurnEnded(7))).start()
    assert q.get(timeout=10).turn_id == 7
