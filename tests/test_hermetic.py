"""The suite's outcome does not depend on the machine: no config.py, settings or absolute paths of its own.

tests/conftest.py sets the session up (see `_hermetic_environment`); these tests prove it holds.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from appconfig import setting

ROOT = Path(__file__).resolve().parent.parent

# Every setting pointing somewhere wrong: any of them leaking into a test changes its outcome.
HOSTILE_CONFIG = """\
SERVER_API_TOKEN = "hostile"
INGEST_API_TOKEN = "hostile"
STORAGE_BACKEND = "gcs"
GCS_BUCKET = "hostile-bucket"
DATABASE_PATH = "/nonexistent/x.db"
DATA_DIR = "/nonexistent/data"
PANNS_CHECKPOINT = "/nonexistent/panns.pth"
CHAT_SENTIMENT_BACKEND = "hostile"
MAX_JOBS = 0
SEGMENT_SECONDS = 1
"""

PROBE = """\
import json, sys
sys.path.insert(0, sys.argv[1])
from appconfig import setting
print(json.dumps({name: setting(name, "default") for name in sys.argv[2:]}))
"""


def test_the_session_reads_an_empty_config_file_instead_of_the_checkouts():
    path = Path(os.environ["HIGHLIGHTS_CONFIG"])
    assert path.is_file()
    assert path.resolve() != (ROOT / "config.py").resolve()
    assert re.findall(r"^[A-Z]", path.read_text(), re.MULTILINE) == []


def test_appconfig_reads_the_file_highlights_config_names(tmp_path, monkeypatch):
    # The mechanism the session relies on: without it, the empty file above would protect nothing.
    hostile = tmp_path / "config.py"
    hostile.write_text(HOSTILE_CONFIG)
    monkeypatch.setenv("HIGHLIGHTS_CONFIG", str(hostile))
    monkeypatch.delenv("SERVER_API_TOKEN", raising=False)  # the webapp tests' own secret, if loaded
    assert setting("SERVER_API_TOKEN", "default") == "hostile"


def test_a_hostile_config_py_in_the_checkout_changes_no_setting_a_test_process_sees(tmp_path):
    # A copy of the checkout's top-level modules with a hostile config.py beside them, read by a
    # subprocess that inherits the session's environment, as every server the tests start does.
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for module in ROOT.glob("*.py"):
        shutil.copy(module, checkout / module.name)
    (checkout / "config.py").write_text(HOSTILE_CONFIG)
    (checkout / "var").mkdir()
    (checkout / "var" / "secrets.env").write_text("SERVER_API_TOKEN=hostile-secret\n")
    names = re.findall(r"^([A-Z_]+) =", HOSTILE_CONFIG, re.MULTILINE)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(checkout), *names], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    # The defaults, or what the suite set itself (tests/webapp/conftest.py gives the webapp tests
    # their own random secrets), never the hostile file's values.
    assert json.loads(result.stdout) == {name: os.environ.get(name, "default") for name in names}


def test_a_developers_settings_in_the_environment_do_not_reach_the_suite(tmp_path):
    # A shell that exports hostile settings and points HIGHLIGHTS_CONFIG/HIGHLIGHTS_SECRETS at
    # hostile files: importing the suite's conftest (as pytest does first) leaves only defaults.
    hostile = tmp_path / "config.py"
    hostile.write_text(HOSTILE_CONFIG)
    secrets = tmp_path / "secrets.env"
    secrets.write_text("SERVER_API_TOKEN=hostile-secret\n")
    names = re.findall(r"^([A-Z_]+) =", HOSTILE_CONFIG, re.MULTILINE)
    env = {
        **os.environ,
        "HIGHLIGHTS_CONFIG": str(hostile),
        "HIGHLIGHTS_SECRETS": str(secrets),
        **dict.fromkeys(names, "hostile"),
    }
    probe = PROBE.replace("from appconfig import setting", "import conftest\nfrom appconfig import setting")
    result = subprocess.run(
        [sys.executable, "-c", probe, str(ROOT / "tests"), *names],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == dict.fromkeys(names, "default")


def test_no_test_names_an_absolute_path_on_this_machine():
    # The shared data folder is ../shared beside the repo (tests/shared_data.py); scratch files go in tmp_path.
    pattern = re.compile(r"""["'](/work/|/farm/|/home/|/root/|/tmp/|/srv/)""")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if path.name != "test_hermetic.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []
