"""A single-threaded worker driven by an explicit clock, so it is easy to test."""

from __future__ import annotations

from dataclasses import dataclass, field

from jobrunner.queue import Job, JobQueue
from jobrunner.retry import RetryPolicy


@dataclass
class Report:
    """What a run did: finished job names, dead jobs, and the retry schedule."""

    done: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)
    retries: list[tuple[str, float]] = field(default_factory=list)


class Worker:
    """Takes ready jobs from a queue, runs them, and re-queues failures."""

    def __init__(self, queue: JobQueue, policy: RetryPolicy | None = None) -> None:
        self.queue = queue
        self.policy = policy or RetryPolicy()

    def run_one(self, now: float, report: Report) -> bool:
        """Run the next ready job; whether there was one."""
        job = self.queue.pop_ready(now)
        if job is None:
            return False
        job.attempts += 1
        try:
            job.action(*job.args)
        except Exception as error:  # a job's failure is data, not a crash of the worker
            job.errors.append(f"{type(error).__name__}: {error}")
            self._failed(job, now, report)
        else:
            report.done.append(job.name)
        return True

    def _failed(self, job: Job, now: float, report: Report) -> None:
        if not self.policy.should_retry(job.attempts):
            report.dead.append(job.name)
            return
        job.not_before = now + self.policy.delay(job.attempts)
        report.retries.append((job.name, job.not_before))
        self.queue.push(job)

    def run_until_idle(self, start: float = 0.0) -> Report:
        """Run everything, jumping the clock to the next ready time when idle."""
        report = Report()
        now = start
        while len(self.queue):
            if not self.run_one(now, report):
                now = max(now, self.queue.next_time() or now)
        return report
