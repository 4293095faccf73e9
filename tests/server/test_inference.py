"""The shared model worker: one thread, items of many callers batched per key."""

from __future__ import annotations

import threading

import pytest

from server.inference import ModelWorker, Overdue, WorkerStopped


@pytest.fixture
def worker():
    w = ModelWorker(window_s=0.2, max_batch=4)
    yield w
    w.stop()


def test_items_from_many_threads_share_one_batch_call(worker):
    calls: list[list[int]] = []
    worker.register("double", lambda items: (calls.append(list(items)), [2 * i for i in items])[1])
    futures, barrier = {}, threading.Barrier(3)

    def caller(i: int) -> None:
        barrier.wait()
        futures[i] = worker.submit("double", i)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {i: f.result(timeout=5) for i, f in futures.items()} == {0: 0, 1: 2, 2: 4}
    assert len(calls) == 1 and sorted(calls[0]) == [0, 1, 2]


def test_batch_calls_run_on_the_worker_thread_not_the_caller(worker):
    seen = []
    worker.register("who", lambda items: [seen.append(threading.current_thread().name) or i for i in items])
    assert worker.run("who", 1, timeout=5) == 1
    assert seen == ["model-worker"]


def test_a_batch_never_exceeds_max_batch(worker):
    sizes = []
    worker.register("id", lambda items: (sizes.append(len(items)), list(items))[1])
    futures = [worker.submit("id", i) for i in range(10)]
    assert [f.result(timeout=5) for f in futures] == list(range(10))
    assert max(sizes) <= 4 and sum(sizes) == 10


def test_keys_are_batched_apart(worker):
    worker.register("a", lambda items: [("a", i) for i in items])
    worker.register("b", lambda items: [("b", i) for i in items])
    fa, fb = worker.submit("a", 1), worker.submit("b", 2)
    assert (fa.result(timeout=5), fb.result(timeout=5)) == (("a", 1), ("b", 2))


def test_a_failing_batch_fails_its_futures_and_the_worker_goes_on(worker):
    def explode(items):
        raise ValueError("model broke")

    worker.register("bad", explode)
    worker.register("ok", lambda items: list(items))
    with pytest.raises(ValueError, match="model broke"):
        worker.run("bad", 1, timeout=5)
    assert worker.run("ok", 7, timeout=5) == 7


def test_a_batch_function_returning_the_wrong_count_is_an_error(worker):
    worker.register("short", lambda items: [])
    with pytest.raises(RuntimeError, match="returned 0 results for 1 items"):
        worker.run("short", 1, timeout=5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        pytest.param({"window_s": -1}, "window_s", id="negative-window"),
        pytest.param({"max_batch": 0}, "max_batch", id="empty-batch"),
    ],
)
def test_it_rejects_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelWorker(**kwargs)


def test_it_refuses_unknown_keys_and_work_after_stop(worker):
    with pytest.raises(KeyError, match="nothing"):
        worker.submit("nothing", 1)
    worker.register("id", lambda items: list(items))
    worker.stop()
    with pytest.raises(WorkerStopped):
        worker.submit("id", 1)


def test_a_key_can_ask_for_smaller_batches_than_the_worker_allows(worker):
    sizes = []
    worker.register("slow", lambda items: (sizes.append(len(items)), list(items))[1], max_batch=2)
    futures = [worker.submit("slow", i) for i in range(5)]
    assert [f.result(timeout=5) for f in futures] == list(range(5))
    assert max(sizes) <= 2


def test_work_that_waited_past_its_max_wait_is_not_run_and_says_so(worker):
    """A live segment's optional work behind a backlog is dropped, not done late."""
    ran: list[str] = []
    release = threading.Event()

    def slow(items):
        ran.extend(items)
        if "blocker" in items:
            release.wait(5)
        return list(items)

    worker.register("slow", slow, max_batch=1)
    blocker = worker.submit("slow", "blocker")
    late = worker.submit("slow", "optional", max_wait_s=0.1)
    patient = worker.submit("slow", "needed")  # no max_wait: runs however long it waited
    threading.Timer(0.5, release.set).start()
    assert blocker.result(timeout=5) == "blocker"
    with pytest.raises(Overdue, match="waited"):
        late.result(timeout=5)
    assert patient.result(timeout=5) == "needed"
    assert ran == ["blocker", "needed"]


def test_work_started_within_its_max_wait_runs(worker):
    worker.register("id", lambda items: list(items))
    assert worker.run("id", 7, timeout=5, max_wait_s=2.0) == 7
