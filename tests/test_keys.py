"""The project key: a wrong one is refused at once by every command; key files are checked as ssh
checks private keys; no message ever shows key bytes."""

from __future__ import annotations

import base64
import json
import os

import pytest

OTHER = base64.b64encode(b"o" * 32).decode()


def test_a_wrong_key_is_refused_by_every_command_before_anything_is_read_or_written(
    project, monkeypatch, tmp_path
):
    access = project.submit(project.people[0], "access")
    project.cli("run", str(access))
    before = json.loads(project.cli("list", "--json").stdout)
    monkeypatch.setenv("DSR_MASTER_KEY", OTHER)
    package = tmp_path / "package"
    for args in [
        ("submit", "--tenant", "acme", "--type", "erasure", "--identity", f"email={project.people[1].email}"),
        ("status", str(access)),
        ("list",),
        ("audit", "verify"),
        ("run", "--pending"),
        ("export", str(access), "--out", str(package)),
        ("hold", "list"),
    ]:
        result = project.cli(*args, expect=2)
        assert result.stderr.strip() == (
            "error: DSR_MASTER_KEY is not the key this state database was made with: "
            "nothing was read or written"
        ), args
        assert "Traceback" not in result.stderr and OTHER not in result.stderr
    assert not package.exists()
    monkeypatch.setenv("DSR_MASTER_KEY", base64.b64encode(b"k" * 32).decode())
    assert json.loads(project.cli("list", "--json").stdout) == before  # nothing was submitted


def _with_key_file(project, monkeypatch, content: bytes | None, mode: int = 0o600):
    monkeypatch.delenv("DSR_MASTER_KEY")
    key_file = project.root / "master.key"
    if content is None:
        key_file.mkdir()
    else:
        key_file.write_bytes(content)
        key_file.chmod(mode)
    project.write_config(key_file="master.key")
    return key_file


@pytest.mark.parametrize(
    "content, mode, message",
    [
        (None, 0o600, "key file {path} is a directory"),
        (b"k" * 32 + b"\xff\xfe", 0o600, "key file {path}: not base64 text"),  # raw bytes, not base64
        (base64.b64encode(b"short") + b"\n", 0o600, "key file {path}: the key must be 32 bytes in base64"),
        (base64.b64encode(b"k" * 32) + b"\n", 0o640, "key file {path} is readable by others (mode 640)"),
        (base64.b64encode(b"k" * 32) + b"\n", 0o604, "key file {path} is readable by others (mode 604)"),
    ],
    ids=["directory", "raw-bytes", "wrong-length", "group-readable", "world-readable"],
)
def test_key_files_are_refused_with_their_name_and_never_their_bytes(
    project, monkeypatch, content, mode, message
):
    path = _with_key_file(project, monkeypatch, content, mode)
    result = project.cli("list", expect=2)
    assert message.format(path=path) in result.stderr
    assert "Traceback" not in result.stderr and "kkkk" not in result.stderr and "\\x" not in result.stderr


def test_a_good_key_file_works_and_the_key_from_the_environment_is_named_when_wrong(project, monkeypatch):
    _with_key_file(project, monkeypatch, base64.b64encode(b"k" * 32) + b"\n")
    project.cli("list")
    monkeypatch.setenv("DSR_MASTER_KEY", "not a key at all")
    result = project.cli("list", expect=2)
    assert "DSR_MASTER_KEY: the key must be 32 bytes in base64" in result.stderr
    assert "not a key at all" not in result.stderr
    monkeypatch.delenv("DSR_MASTER_KEY")
    os.remove(project.root / "master.key")
    assert "no project key: set DSR_MASTER_KEY" in project.cli("list", expect=2).stderr
