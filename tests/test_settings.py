"""Production safety and owner-only files, through the settings loader and real processes."""

from __future__ import annotations

import os
import smtplib
import socket
import sqlite3
import stat
import subprocess
import time
from contextlib import closing
from pathlib import Path

import pytest

from app.settings import load_settings
from engine.errors import SettingsError
from engine.evidence import store_bytes
from notifications import catcher
from tests.conftest import CONTACTS, PLAN, ROOT
from tests.test_cli import SIGNOFF, Cli

GOOD = {
    "environment": "production",
    "secret_key": "3f9c1a7e5b2d8046e1c9a3f7b5d2e8c04a6f1b9d3e7c5a2f8b0d6e4c1a9f7b3e",
    "base_url": "https://signoff.board.example.org",
    "reply_domain": "replies.board.example.org",
    "mail_from": "Board <board@board.example.org>",
}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def refusal(**overrides: str) -> str:
    with pytest.raises(SettingsError) as info:
        load_settings(**{**GOOD, **overrides})
    return str(info.value)


def test_production_accepts_safe_settings() -> None:
    assert load_settings(**GOOD).base_url == GOOD["base_url"]


def test_development_keeps_the_defaults() -> None:
    current = load_settings(secret_key="a" * 32)
    assert (current.base_url, current.reply_domain) == ("http://localhost:8000", "localhost")


@pytest.mark.parametrize(
    "secret",
    [
        "a" * 32,
        "ab" * 16,
        "0123" * 8,
        "abcabcabcabcabcabcabcabcabcabcab",
        "aaaaaaaabbbbbbbbccccccccdddddddd",
        "changethis-changethis-changethis",
        "my-signoff-secret-key-for-the-board",
    ],
)
def test_production_refuses_a_weak_secret(secret: str) -> None:
    message = refusal(secret_key=secret)
    assert "SIGNOFF_SECRET_KEY" in message
    assert "openssl rand -hex 32" in message
    assert secret not in message


@pytest.mark.parametrize(
    ("name", "value", "fix"),
    [
        ("base_url", "http://signoff.board.example.org", "https://"),
        ("reply_domain", "localhost", "replies.board.example.org"),
        ("reply_domain", "mail.localhost", "replies.board.example.org"),
        ("mail_from", "signoff <signoff@localhost>", "board@board.example.org"),
        ("mail_from", "board@localhost", "board@board.example.org"),
    ],
)
def test_production_refuses_a_local_setting(name: str, value: str, fix: str) -> None:
    message = refusal(**{name: value})
    assert f"SIGNOFF_{name.upper()}" in message
    assert repr(value) in message
    assert fix in message


def test_production_names_every_refused_setting_at_once() -> None:
    message = refusal(
        secret_key="a" * 32,
        base_url="http://localhost:8000",
        reply_domain="localhost",
        mail_from="signoff <signoff@localhost>",
    )
    for name in ("SECRET_KEY", "BASE_URL", "REPLY_DOMAIN", "MAIL_FROM"):
        assert f"SIGNOFF_{name}" in message


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_in_production_refuses_the_unsafe_settings(tmp_path: Path) -> None:
    run = Cli(tmp_path)
    run("init")
    done = run(
        "serve",
        code=1,
        SIGNOFF_ENVIRONMENT="production",
        SIGNOFF_SECRET_KEY="a" * 32,
        SIGNOFF_BASE_URL="http://localhost:8000",
        SIGNOFF_REPLY_DOMAIN="localhost",
        SIGNOFF_MAIL_FROM="signoff@localhost",
    )
    for name in ("SECRET_KEY", "BASE_URL", "REPLY_DOMAIN", "MAIL_FROM"):
        assert f"SIGNOFF_{name}" in done.stderr


def test_serve_in_production_refuses_the_mail_catcher(tmp_path: Path) -> None:
    run = Cli(tmp_path)
    run("init")
    env = {f"SIGNOFF_{k.upper()}": v for k, v in GOOD.items()}
    port = str(_free_port())
    done = run("serve", "--mail-catcher", code=1, SIGNOFF_SMTP_PORT=port, **env)
    assert "--mail-catcher" in done.stderr
    assert "SIGNOFF_SMTP_HOST" in done.stderr
    assert not (tmp_path / "data" / "mail").exists()


# --- owner-only files ----------------------------------------------------------------------


def test_init_and_import_make_the_database_and_data_folder_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, under which files were world-readable
    try:
        run = Cli(tmp_path)
        run("init")
        run("import", str(PLAN), str(CONTACTS), "--now", "2011-01-10T09:00Z")
        with closing(sqlite3.connect(run.db)) as conn:  # a reader keeps -wal and -shm open
            conn.execute("SELECT count(*) FROM item").fetchone()
            for path in (run.db, Path(f"{run.db}-wal"), Path(f"{run.db}-shm")):
                assert path.exists(), path
                assert mode(path) == 0o600, path
    finally:
        os.umask(old)


def test_secret_key_and_data_folder_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        data = tmp_path / "deep" / "data"
        load_settings(data_dir=data).key()
        assert mode(data / "secret.key") == 0o600
        assert mode(data) == 0o700
        assert mode(data.parent) == 0o700
    finally:
        os.umask(old)


def test_evidence_files_and_folders_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        data = tmp_path / "data"
        stored = store_bytes(data, b"%PDF-1.4 minutes", "minutes.pdf")
        path = data / "evidence" / stored.stored_name
        assert mode(path) == 0o600
        for folder in (path.parent, data / "evidence", data):
            assert mode(folder) == 0o700, folder
    finally:
        os.umask(old)


def test_existing_evidence_folder_is_tightened(tmp_path: Path) -> None:
    (tmp_path / "evidence").mkdir(mode=0o755)
    os.chmod(tmp_path / "evidence", 0o755)
    store_bytes(tmp_path, b"statement", "s.txt")
    assert mode(tmp_path / "evidence") == 0o700


def test_caught_mail_is_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        folder = tmp_path / "data" / "mail"
        port = _free_port()
        controller = catcher.start(folder, port)
        try:
            with smtplib.SMTP("127.0.0.1", port) as smtp:
                smtp.sendmail("a@example.org", ["b@example.org"], b"Subject: hi\r\n\r\nhello\r\n")
                smtp.sendmail("a@example.org", ["b@example.org"], b"Subject: two\r\n\r\nagain\r\n")
        finally:
            controller.stop()
        caught = sorted(folder.glob("*.eml"))
        assert [p.name for p in caught] == ["00001.eml", "00002.eml"]
        assert all(mode(p) == 0o600 for p in caught)
        assert mode(folder) == 0o700
        assert mode(folder.parent) == 0o700
    finally:
        os.umask(old)


def test_serve_in_development_still_runs_with_the_defaults(tmp_path: Path) -> None:
    run = Cli(tmp_path)
    run("init")
    env = {
        **run.env,
        "SIGNOFF_HTTP_PORT": str(_free_port()),
        "SIGNOFF_INBOUND_SMTP_PORT": str(_free_port()),
        "SIGNOFF_SMTP_PORT": str(_free_port()),
    }
    proc = subprocess.Popen(
        [SIGNOFF, "serve", "--mail-catcher"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if (tmp_path / "data" / "mail").exists() and (
                tmp_path / "data" / "secret.key"
            ).exists():
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()
        assert mode(tmp_path / "data" / "mail") == 0o700
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


@pytest.mark.parametrize("value", ["mx.example.org extra", "mx;dmarc=pass", "(mx)", "mx\nx", 'a"b'])
def test_a_malformed_inbound_authserv_id_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="SIGNOFF_INBOUND_AUTHSERV_ID"):
        load_settings(inbound_authserv_id=value)


def test_the_inbound_authserv_id_is_unset_by_default() -> None:
    assert load_settings().inbound_authserv_id is None
    assert load_settings(inbound_authserv_id="  ").inbound_authserv_id is None
    assert load_settings(inbound_authserv_id="mx.example.org").inbound_authserv_id == (
        "mx.example.org"
    )
