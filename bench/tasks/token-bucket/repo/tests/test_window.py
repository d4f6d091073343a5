from throttle.window import SlidingWindow


def test_window_limits_events(clock):
    window = SlidingWindow(limit=2, window=10, clock=clock)
    assert window.allow() and window.allow()
    assert not window.allow()
    assert window.retry_after() == 10


def test_window_slides(clock):
    window = SlidingWindow(limit=2, window=10, clock=clock)
    window.allow()
    clock.advance(6)
    window.allow()
    clock.advance(4)
    assert window.allow()
    assert not window.allow()
    assert window.retry_after() == 6
