import pytest
from jobrunner.retry import RetryPolicy


def test_first_retry_waits_base():
    assert RetryPolicy(base=2).delay(1) == 2


def test_delay_doubles_and_caps():
    policy = RetryPolicy(base=1, cap=10)
    assert [policy.delay(n) for n in range(1, 6)] == [1, 2, 4, 8, 10]


def test_attempts_start_at_one():
    with pytest.raises(ValueError):
        RetryPolicy().delay(0)


def test_should_retry():
    policy = RetryPolicy(max_attempts=3)
    assert policy.should_retry(2)
    assert not policy.should_retry(3)
