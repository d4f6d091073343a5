from jobrunner.queue import Job, JobQueue
from jobrunner.retry import RetryPolicy
from jobrunner.worker import Worker


def flaky(failures):
    state = {"left": failures}

    def action():
        if state["left"]:
            state["left"] -= 1
            raise ConnectionError("temporarily down")

    return action


def test_success_first_time():
    queue = JobQueue()
    queue.push(Job("ok", lambda: None))
    report = Worker(queue).run_until_idle()
    assert report.done == ["ok"] and not report.retries


def test_retry_schedule():
    queue = JobQueue()
    queue.push(Job("sync", flaky(2)))
    report = Worker(queue, RetryPolicy(base=10)).run_until_idle(start=100)
    assert report.retries == [("sync", 110), ("sync", 130)]
    assert report.done == ["sync"]


def test_gives_up_after_max_attempts():
    queue = JobQueue()
    job = Job("doomed", flaky(10))
    queue.push(job)
    report = Worker(queue, RetryPolicy(max_attempts=2, base=1)).run_until_idle()
    assert report.dead == ["doomed"]
    assert job.errors == ["ConnectionError: temporarily down"] * 2
