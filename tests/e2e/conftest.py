"""The whole system as real processes (webapp, processing server, demo channel), one per module."""

from __future__ import annotations

import re

import pytest
import requests

from server.demo.stack import Stack, free_port


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("stack"), free_port(), free_port(), free_port(), free_port())
    stack.start()
    yield stack
    stack.stop()


class Visitor(requests.Session):
    """A browser-less user of the webapp: forms are posted with their CSRF token, as a browser would."""

    def post_form(self, url: str, data: dict) -> requests.Response:
        page = self.get(url)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return self.post(url, data={**data, "csrfmiddlewaretoken": token}, headers={"Referer": url})

    def sign_up(self, webapp_url: str, username: str) -> requests.Response:
        return self.post_form(
            f"{webapp_url}/accounts/signup/",
            {"username": username, "password1": "correct-horse-42", "password2": "correct-horse-42"},
        )

    def add_stream(self, webapp_url: str, source: str) -> int:
        """Add a stream on the dashboard; its id, read from the link the dashboard then shows."""
        page = self.post_form(f"{webapp_url}/", {"source": source, "chat_channel": ""})
        link = re.search(r'href="/streams/(\d+)/"', page.text)
        assert link, f"the new stream is listed on the dashboard:\n{page.text[-2000:]}"
        return int(link.group(1))


@pytest.fixture
def visitor():
    with Visitor() as session:
        yield session
