"""What runs on this machine, read from /proc: to check that nothing of a stopped job lives on."""

from __future__ import annotations

from pathlib import Path


def _stat(pid: str | int) -> tuple[str, list[str]] | None:
    """(command name, the fields after it) from /proc/<pid>/stat, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The name sits in parentheses and may itself hold spaces or ")": split at the last ")".
    return text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()


def children_named(pid: int, name: str) -> list[int]:
    """Processes called `name` whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        stat = _stat(entry.name) if entry.name.isdigit() else None
        if stat is not None and stat[0] == name and int(stat[1][1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent counts as gone)."""
    stat = _stat(pid)
    return stat is not None and stat[1][0] != "Z"
