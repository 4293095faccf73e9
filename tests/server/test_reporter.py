"""The outbox: reports reach the webapp in order, survive its downtime, stop for deleted streams."""

from waiting import wait_for

from server.reporter import Reporter


def test_reports_are_delivered_with_the_bearer_token(webapp_stub):
    reporter = Reporter("secret", min_backoff=0.05)
    reporter.start()
    reporter.post(1, webapp_stub.url + "/api/v1/streams/1/segments", {"n": 1})
    assert wait_for(lambda: webapp_stub.requests)
    reporter.stop()
    assert webapp_stub.requests == [("/api/v1/streams/1/segments", {"n": 1}, "Bearer secret")]


def test_a_webapp_that_is_down_gets_everything_in_order_once_it_is_back(webapp_stub):
    webapp_stub.status = 503
    reporter = Reporter("secret", min_backoff=0.05, max_backoff=0.2)
    reporter.start()
    for n in range(5):
        reporter.post(1, webapp_stub.url + "/api/v1/streams/1/segments", {"n": n})
    assert wait_for(lambda: reporter.last_error == "webapp answered 503")
    assert reporter.pending == 5
    webapp_stub.status = 200
    assert wait_for(lambda: reporter.pending == 0)
    reporter.stop()
    assert [body["n"] for body in webapp_stub.posted("segments")] == [0, 1, 2, 3, 4]


def test_a_webapp_that_is_not_listening_at_all_is_retried(webapp_stub):
    reporter = Reporter("secret", min_backoff=0.05, max_backoff=0.1)
    reporter.start()
    reporter.post(1, "http://127.0.0.1:9/api/v1/streams/1/status", {"state": "live"})  # port 9: nothing there
    assert wait_for(lambda: reporter.last_error and "unreachable" in reporter.last_error)
    assert reporter.pending == 1
    reporter.stop()


def test_a_deleted_stream_drops_its_pending_reports_and_tells_the_server(webapp_stub):
    gone = []
    webapp_stub.status = 404
    reporter = Reporter("secret", min_backoff=0.05, on_gone=gone.append)
    reporter.post(7, webapp_stub.url + "/api/v1/streams/7/segments", {"n": 1})
    reporter.post(7, webapp_stub.url + "/api/v1/streams/7/segments", {"n": 2})
    reporter.start()
    assert wait_for(lambda: gone == [7] and reporter.pending == 0)
    reporter.stop()
