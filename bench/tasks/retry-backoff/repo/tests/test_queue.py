from jobrunner.queue import Job, JobQueue


def noop():
    return None


def test_priority_then_fifo():
    queue = JobQueue()
    for name, priority in [("low", 20), ("a", 1), ("b", 1)]:
        queue.push(Job(name, noop, priority=priority))
    assert [queue.pop_ready(0).name for _ in range(3)] == ["a", "b", "low"]
    assert queue.pop_ready(0) is None


def test_not_before_holds_job_back():
    queue = JobQueue()
    queue.push(Job("later", noop, not_before=5))
    assert queue.pop_ready(4) is None
    assert queue.next_time() == 5
    assert queue.pop_ready(5).name == "later"
