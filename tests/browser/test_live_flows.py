"""What a streamer does in the web app, in headless Chromium against the live system: the webapp,
the processing server and the demo channel run as real processes (`Stack`), the demo channel
plays real Twitch clips and chat on loopback, and nothing is faked between the browser and the
highlight clip it plays.
"""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from server.demo.stack import Stack, free_port

PASSWORD = "correct-horse-42"
HIGHLIGHT_TIMEOUT_MS = 240_000  # the demo's first highlight comes after about a minute of stream
MAX_STREAMS = 3  # the webapp's MAX_STREAMS_PER_USER here, so "too many" is quick to reach


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    ports = [free_port() for _ in range(4)]
    stack = Stack(tmp_path_factory.mktemp("stack"), *ports, extra_env={"MAX_STREAMS_PER_USER": str(MAX_STREAMS)})
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(autouse=True)
def server_running(stack):
    """A test that failed while the server was stopped must not fail the ones after it."""
    if "server" not in stack.processes:
        stack.start_part("server")


def sign_up(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/signup/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Your streams")).to_be_visible()


def add_stream(page, source: str) -> None:
    page.get_by_label("Twitch channel or stream URL").fill(source)
    page.get_by_role("button", name="Add stream").click()


def stream_card(page, name: str):
    return page.locator(".stream-card", has=page.get_by_role("heading", name=name, exact=True))


def stream_id_of(card) -> int:
    return int(
        re.search(r"/streams/(\d+)/", card.get_by_role("link", name=re.compile("^Open")).get_attribute("href"))[1]
    )


def horizontal_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def server_jobs(stack: Stack) -> dict[int, dict]:
    jobs = requests.get(f"{stack.server_url}/api/v1/jobs", headers=stack.server_auth, timeout=10).json()["jobs"]
    return {job["stream_id"]: job for job in jobs}


def tab_to(page, selector: str, max_presses: int = 25) -> None:
    """Press Tab until the element matching `selector` has the focus, as a keyboard user would."""
    for _ in range(max_presses):
        page.keyboard.press("Tab")
        if page.evaluate("(sel) => document.activeElement && document.activeElement.matches(sel)", selector):
            return
    raise AssertionError(f"{selector} not reached with {max_presses} Tab presses")


def mark_document(page) -> None:
    page.evaluate("window.__sameDocument = true")


def assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"


@pytest.mark.timeout(420)
def test_a_streamer_signs_up_adds_the_demo_channel_and_plays_a_highlight(stack, page, steps):
    base = stack.webapp_url
    with steps("sign up"):
        sign_up(page, base, "streamer")
        expect(page.locator(".messages")).to_contain_text("Welcome, streamer!")

    with steps("log out"):
        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    with steps("log in"):
        page.get_by_label("Username").fill("streamer")
        page.get_by_label("Password:", exact=True).fill(PASSWORD)
        page.get_by_label("Password:", exact=True).press("Enter")
        expect(page.get_by_role("heading", name="Your streams")).to_be_visible()

    with steps("add the demo channel with the keyboard while the server is down"):
        stack.stop_part("server")
        tab_to(page, "#id_source")
        page.keyboard.type("demo_channel")
        page.keyboard.press("Enter")
        expect(page.locator(".messages")).to_contain_text("the processing server is not reachable right now")
        card = stream_card(page, "demo_channel")
        expect(card.locator(".state")).to_have_text("Waiting for server")
        expect(card).to_contain_text("will be started automatically")
        stream_id = stream_id_of(card)

    with steps("the server is back: the dashboard shows the stream starting, without a reload"):
        mark_document(page)
        stack.start_part("server")
        expect(card.locator(".state")).to_have_text(re.compile("Starting|Live"), timeout=45_000)
        assert_not_reloaded(page)
        assert stream_id in server_jobs(stack)

    with steps("the stream page shows it live"):
        card.get_by_role("link", name="Open demo_channel").click()
        expect(page.locator("#state")).to_have_text("Live", timeout=60_000)
        expect(page.locator("#timeline polyline.tl-score")).to_have_count(1, timeout=30_000)
        # The bar appears once the selector has a minute of the stream's scores to compare with.
        expect(page.locator("#timeline line.tl-bar")).to_have_count(1, timeout=120_000)
        degraded = server_jobs(stack)[stream_id]["degraded"]
        expect(page.locator("#degraded li")).to_have_text(degraded)

    with steps("a highlight clip appears without reloading"):
        mark_document(page)
        clips = page.locator("#highlights > li")
        expect(clips.first).to_be_visible(timeout=HIGHLIGHT_TIMEOUT_MS)
        assert_not_reloaded(page)
        clip_id = clips.first.get_attribute("data-highlight-id")
        clip = page.locator(f'#highlights > li[data-highlight-id="{clip_id}"]')  # pinned: newer ones go first
        expect(clip.locator(".offset")).to_have_text(re.compile(r"^\d+:\d\d:\d\d$"))
        expect(clip.locator(".duration")).to_have_text(re.compile(r"^\d+ s$"))
        expect(clip.locator(".reasons li").first).to_have_text(re.compile(r"\S"))
        expect(clip.locator("video")).to_have_attribute(
            "poster", re.compile(r"^http://127\.0\.0\.1:\d+/media/.+\.jpg$")
        )
        expect(page.locator("#timeline .tl-highlight")).to_have_count(clips.count())
        expect(page.locator("#no-highlights")).to_be_hidden()

    with steps("clicking the highlight on the timeline plays its clip from that moment"):
        page.locator(f'#timeline .tl-highlight[data-highlight-id="{clip_id}"]').click()
        video = clip.locator("video")
        expect(clip).to_be_in_viewport()
        expect(page.locator("#timeline-readout")).to_contain_text("Playing the highlight at")
        started = video.evaluate("""v => new Promise((resolve, reject) => {
            const t0 = Date.now();
            (function check() {
              if (v.readyState >= 3 && !v.paused && v.currentTime > 0) resolve(v.currentTime);
              else if (v.error) reject(new Error(`media error ${v.error.code}`));
              else if (Date.now() - t0 > 20000) reject(new Error(`not playing: readyState ${v.readyState}`));
              else setTimeout(check, 100);
            })();
        })""")
        # The click hit the middle of the highlight's span on the chart: playback starts near the
        # middle of the clip, not at its start.
        assert started >= video.evaluate("v => v.duration") / 4, started
        page.wait_for_timeout(1500)
        assert video.evaluate("v => v.currentTime") > started + 0.5, "the clip is playing"
        video.evaluate("v => v.pause()")

    with steps("download the clip"):
        with page.expect_download() as info:
            clip.get_by_role("link", name=re.compile("^Download")).click()
        download = info.value
        assert re.fullmatch(r"demo_channel-\d+-\d\d-\d\d\.mp4", download.suggested_filename)
        data = open(download.path(), "rb").read()
        assert len(data) > 10_000 and data[4:8] == b"ftyp", "an mp4 file"

    with steps("thumbs up the clip; the vote is kept"):
        up = clip.get_by_role("button", name="Good highlight")
        up.click()
        expect(up).to_have_attribute("aria-pressed", "true")
        page.reload()
        expect(clip.get_by_role("button", name="Good highlight")).to_have_attribute("aria-pressed", "true")

    with steps("the stream page at phone width: no sideways scrolling"):
        page.set_viewport_size({"width": 375, "height": 800})
        page.wait_for_timeout(300)  # the timeline redraws for the new width
        assert horizontal_overflow(page) == 0
        first, last = clips.first.bounding_box(), clips.last.bounding_box()
        assert first["x"] == last["x"] and first["width"] <= 375, "one column of clips"
        page.set_viewport_size({"width": 1100, "height": 900})

    with steps("the dashboard shows the highlight count and the last highlight"):
        page.get_by_role("link", name="All streams").click()
        card = stream_card(page, "demo_channel")
        expect(card.locator(".state")).to_have_text("Live")
        expect(card.locator(".highlight-count")).to_have_text(re.compile(r"^[1-9]\d* highlights?$"))
        expect(card.locator(".last-highlight time")).to_have_text(re.compile(r"ago|now"), timeout=10_000)

    with steps("delete the stream with the trash button, by keyboard, and confirm"):
        questions = []
        page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
        card.get_by_role("link", name="Open demo_channel").focus()
        page.keyboard.press("Tab")
        trash = card.get_by_role("button", name="Stop tracking and delete demo_channel")
        expect(trash).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator(".messages")).to_contain_text("Stopped tracking and deleted demo_channel.")
        assert questions == ["Stop tracking and delete demo_channel?"]
        expect(stream_card(page, "demo_channel")).to_have_count(0)
        assert stream_id not in server_jobs(stack), "the server stopped the job"

    with steps("log out"):
        page.get_by_role("button", name="Log out").click()
        page.goto(base)
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_an_unknown_channel_shows_the_servers_message(stack, page, steps):
    with steps("add a channel that does not exist"):
        sign_up(page, stack.webapp_url, "newcomer")
        add_stream(page, "no_such_channel")
        card = stream_card(page, "no_such_channel")
        expect(card).to_be_visible()
        stream_id = stream_id_of(card)

    with steps("the stream page shows the server's words"):
        card.get_by_role("link", name="Open no_such_channel").click()
        expect(page.locator("#state")).to_have_text("Offline", timeout=30_000)
        message = server_jobs(stack)[stream_id]["last_error"]
        assert message, "the server says why"
        expect(page.locator("#last-error")).to_have_text(message)
        expect(page.locator("#last-error-row")).to_be_visible()

    with steps("the trash button asks first; cancelling keeps the stream"):
        page.once("dialog", lambda dialog: dialog.dismiss())
        page.get_by_role("button", name="Stop tracking and delete no_such_channel").click()
        expect(page.locator("#state")).to_have_text("Offline")
        assert stream_id in server_jobs(stack)

    with steps("confirming deletes it"):
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Stop tracking and delete no_such_channel").click()
        expect(page.locator(".messages")).to_contain_text("Stopped tracking and deleted no_such_channel.")
        assert stream_id not in server_jobs(stack)


def test_too_many_streams_are_refused_in_words(stack, page, steps):
    with steps(f"add {MAX_STREAMS} streams"):
        sign_up(page, stack.webapp_url, "collector")
        for i in range(MAX_STREAMS):
            add_stream(page, f"channel_{i}")
            expect(page.locator(".messages")).to_contain_text(f"Now tracking channel_{i}.")

    with steps("one more is refused"):
        add_stream(page, "one_too_many")
        expect(page.locator(".errorlist.nonfield")).to_contain_text(
            f"You are already tracking {MAX_STREAMS} streams, the most allowed. Delete one before adding another."
        )
        expect(page.locator(".stream-card")).to_have_count(MAX_STREAMS)

    with steps("bad input is refused in words too"):
        add_stream(page, "not a channel!")
        # The error is tied to the field (aria-describedby), so a screen reader reads it there.
        expect(page.get_by_label("Twitch channel or stream URL")).to_have_accessible_description(
            re.compile("is neither a Twitch channel name")
        )

    with steps("delete them again"):
        page.on("dialog", lambda dialog: dialog.accept())
        for i in range(MAX_STREAMS):
            page.get_by_role("button", name=f"Stop tracking and delete channel_{i}").click()
            expect(page.locator(".messages")).to_contain_text(f"Stopped tracking and deleted channel_{i}.")
        expect(page.locator(".stream-card")).to_have_count(0)


def test_every_page_fits_a_phone_screen(stack, page, steps):
    page.set_viewport_size({"width": 375, "height": 812})
    base = stack.webapp_url
    for name, path in [("log in", "/accounts/login/"), ("sign up", "/accounts/signup/")]:
        with steps(f"{name} page at 375 px"):
            page.goto(base + path)
            assert horizontal_overflow(page) == 0

    with steps("dashboard at 375 px, with a stream whose name is a long URL"):
        sign_up(page, base, "phoneuser")
        url = f"http://127.0.0.1:{stack.hls_port}/a/very/long/path/to/a/stream/that/does/not/exist/anywhere/index.m3u8"
        add_stream(page, url)
        expect(stream_card(page, url)).to_be_visible()
        assert horizontal_overflow(page) == 0
        box = page.get_by_role("button", name="Add stream").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375

    with steps("stream page at 375 px"):
        page.get_by_role("link", name=f"Open {url}").click()
        expect(page.locator("#timeline")).to_be_visible()
        assert horizontal_overflow(page) == 0

    with steps("clean up"):
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name=f"Stop tracking and delete {url}").click()
        expect(page.locator(".messages")).to_contain_text("Stopped tracking")
