"""The in-process doorbell: who is woken, and which rings are only echoes."""

from __future__ import annotations

from app.chain import doorbell


def test_a_ring_wakes_subscribers_of_its_key_and_says_the_newest_seq():
    with doorbell.subscribe("execution:1") as mine, doorbell.subscribe("execution:2") as other:
        doorbell.ring("execution:1", 5)
        assert mine.wait(0) and not other.wait(0)
        assert mine.announced() == 5


def test_the_echo_of_a_ring_already_heard_is_dropped():
    with doorbell.subscribe("execution:1") as bell:
        doorbell.ring("execution:1", 5)
        assert bell.wait(0)
        doorbell.ring("execution:1", 5)  # the NOTIFY of the same commit, coming back
        assert not bell.wait(0)
        doorbell.ring("execution:1", 6)
        assert bell.wait(0) and bell.announced() == 6


def test_rows_a_local_writer_expects_to_commit_are_rung_by_that_writer_not_by_their_notify():
    with doorbell.subscribe("execution:1") as bell:
        doorbell.expect("execution:1", 9)
        doorbell.ring("execution:1", 9)  # the NOTIFY arrives before the writer heard its commit
        assert not bell.wait(0)
        doorbell.ring("execution:1", 9, own=True)  # the writer, after its commit
        assert bell.wait(0) and bell.announced() == 9
        doorbell.ring("execution:1", 10)  # rows written elsewhere still ring
        assert bell.wait(0) and bell.announced() == 10


def test_a_ring_without_seq_says_anything_may_have_changed_once():
    with doorbell.subscribe("execution:1") as bell:
        doorbell.ring("execution:1", 3)
        doorbell.ring_all()  # the listener reconnected: NOTIFYs may have been missed
        assert bell.wait(0)
        assert bell.announced() is None
        assert bell.announced() == 3


def test_nobody_listening_keeps_nothing():
    doorbell.expect("execution:7", 4)
    assert not doorbell.listening("execution:7")
    with doorbell.subscribe("execution:7") as bell:
        assert doorbell.listening("execution:7")
        doorbell.ring("execution:7", 4)  # not swallowed by an expectation nobody was there for
        assert bell.wait(0)
    assert not doorbell.listening("execution:7")
