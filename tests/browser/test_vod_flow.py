"""A past broadcast added through the web page, in headless Chromium against the live system (the
webapp, the processing server and an ended loopback HLS playlist cut from the demo clips, as real
processes): a malformed chat file and a non-media "recording" are refused in words and leave
nothing behind; the demo's real
IRC chat log is accepted, the page says VOD, the progress moves, highlights appear, it finishes,
and neither the webapp nor the server keeps the chat file afterwards."""

from __future__ import annotations

import os
import re
import time
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import expect
from vod_playlist import VodServer, write_vod_playlist

from metamodel import load_metamodel
from metamodel.artifact import save_metamodel
from server.demo.stack import Stack, free_port

ROOT = Path(__file__).resolve().parents[2]
DEMO_CHAT = ROOT / "server" / "demo" / "media" / "xqcow-2019-09-15.irc.gz"
PASSWORD = "correct-horse-42"
# Where a screenshot of the status panel mid-run is written for docs/webapp.md, when asked for.
DOCS_SHOT = os.environ.get("HIGHLIGHTS_VOD_DOCS_SCREENSHOT")
RUN_TIMEOUT_S = 300  # 240 s of recording; ~30 s alone, the machine is shared


@pytest.fixture(scope="module")
def vod(demo_segments, tmp_path_factory):
    """The demo twice over (240 s, 120 segments of 2 s) as an ended playlist."""
    folder = tmp_path_factory.mktemp("vod")
    write_vod_playlist([*demo_segments, *demo_segments], folder)
    server = VodServer(folder)
    yield server
    server.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, vod):
    workdir = tmp_path_factory.mktemp("stack")
    # A budget of 60 an hour: a 4-minute recording under the shipped 6 would hold less than one.
    model = workdir / "model" / "metamodel.json"
    model.parent.mkdir(parents=True)
    save_metamodel(replace(load_metamodel(), per_hour=60.0), model)
    ports = [free_port() for _ in range(4)]
    hls_port = ports[2]
    stack = Stack(
        workdir,
        *ports,
        extra_env={
            "ALLOWED_SOURCE_HOSTS": f"127.0.0.1:{hls_port},127.0.0.1:{vod.port}",
            "SEGMENT_SECONDS": "4",
            "VOD_UPLOAD_DIR": str(workdir / "vod-uploads"),
            "VOD_MAX_RECORDING_BYTES": "100000000",  # recording uploads are off by default
        },
    )
    stack.start()
    yield stack
    stack.stop()


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


@pytest.mark.timeout(600)
def test_a_past_broadcast_with_its_chat_log_is_analysed_in_the_browser(stack, vod, page, steps, tmp_path):
    uploads, server_vod = stack.workdir / "vod-uploads", stack.workdir / "server" / "vod"
    with steps("sign up"):
        page.goto(f"{stack.webapp_url}/accounts/signup/")
        page.get_by_label("Username").fill("vodder")
        page.get_by_label("Password:", exact=True).fill(PASSWORD)
        page.get_by_label("Password confirmation").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()

    with steps("a malformed chat file is refused in words, nothing kept"):
        bad = tmp_path / "chat.json"
        bad.write_text('{"comments": [{"commenter": {"name": "x"}}]}')
        page.get_by_label("Past broadcast link").fill(vod.url)
        page.get_by_label("Chat file (optional)").set_input_files(str(bad))
        page.get_by_role("button", name="Analyse past broadcast").click()
        expect(page.locator("#id_chat_file_error")).to_contain_text(
            "Not a chat file we can read: comment 0 is malformed"
        )
        expect(page.locator(".stream-card")).to_have_count(0)
        assert files_under(uploads) == [] and files_under(server_vod) == []

    with steps("a non-media upload is refused in words, nothing kept"):
        page.get_by_label("Past broadcast link").fill("")
        page.get_by_label("…or upload a recording").set_input_files(str(bad))
        page.get_by_label("Chat file (optional)").set_input_files(str(DEMO_CHAT))
        page.get_by_role("button", name="Analyse past broadcast").click()
        expect(page.locator("#id_recording_error")).to_contain_text("Not a recording we can read: no video or audio")
        expect(page.locator(".stream-card")).to_have_count(0)
        assert files_under(uploads) == [] and files_under(server_vod) == []

    with steps("the demo chat log is accepted: the page says VOD"):
        page.get_by_label("Past broadcast link").fill(vod.url)
        page.get_by_label("Chat file (optional)").set_input_files(str(DEMO_CHAT))
        page.get_by_role("button", name="Analyse past broadcast").click()
        expect(page.locator("#kind")).to_have_text("VOD (past broadcast)")
        assert re.search(r"/streams/\d+/$", page.url), page.url
        assert files_under(uploads) == [], "the webapp keeps no copy once the server has it"

    with steps("the progress moves and highlights appear"):
        text = page.locator("#vod-progress-text")
        seen: list[str] = []
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline:
            now = text.text_content() or ""
            if not seen or seen[-1] != now:
                seen.append(now)
                if DOCS_SHOT and re.fullmatch(r"[1-9]\d% · about \d+ s left", now) and not Path(DOCS_SHOT).exists():
                    page.locator("#stream .status").screenshot(path=DOCS_SHOT)
            if "finished" in now:
                break
            time.sleep(0.3)
        moving = [s for s in seen if re.fullmatch(r"\d+% · about \d+ s left", s) and not s.startswith("100%")]
        assert moving, f"a percentage and the time left while it runs: {seen}"
        assert seen[-1] == "100% · finished", seen
        expect(page.locator("#state")).to_have_text("Finished")
        expect(page.locator("#highlights > li").first).to_be_visible(timeout=60_000)

    with steps("the chat file is gone from the server too"):
        assert files_under(server_vod) == []
