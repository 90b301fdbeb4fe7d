"""`signoff directory export|import` (issue 11): the directory out as YAML, CSV or xlsx and
back; a dry run lists every change and writes nothing; a bad file names its row and field."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl

from tests.test_cli import Cli, _cli_template, cli  # noqa: F401  (the fixtures)

NOW = "2011-01-10T09:00Z"


def test_export_then_import_changes_nothing(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    for fmt in ("yaml", "csv", "xlsx"):
        path = tmp_path / f"directory.{fmt}"
        cli("directory", "export", "--format", fmt, "--output", str(path))
        done = cli("directory", "import", str(path), "--now", NOW)
        assert done.stdout == f"changed: 0 change(s) in 8 agency(ies) of directory.{fmt}\n"
    sheet = openpyxl.load_workbook(tmp_path / "directory.xlsx").active
    assert sheet is not None
    assert [c.value for c in sheet[1]][:3] == ["Agency", "Record", "Agency name"]
    text = cli("directory", "export").stdout
    assert text.startswith("# The directory of signoff")
    assert "chair@southend-lscb.example.org" in text


def test_a_dry_run_lists_the_changes_and_writes_nothing(
    cli: Cli,  # noqa: F811
    tmp_path: Path,
) -> None:
    path = tmp_path / "directory.yaml"
    cli("directory", "export", "--output", str(path))
    text = path.read_text(encoding="utf-8").replace(
        "  sept:\n    name: South Essex Partnership Foundation NHS Trust (SEPT)\n",
        "  sept:\n    name: South Essex Partnership Foundation NHS Trust (SEPT)\n"
        "    conflicts:\n    - {contact: chair@southend-lscb.example.org,"
        " alternate: panel.chair@southend-lscb.example.org}\n",
    )
    assert "conflicts:" in text
    path.write_text(text, encoding="utf-8")
    dry = cli("directory", "import", str(path), "--dry-run", "--now", NOW).stdout.splitlines()
    assert dry == [
        "South Essex Partnership Foundation NHS Trust (SEPT) (sept): conflict of interest "
        "added: chair@southend-lscb.example.org receives no escalations (alternate: "
        "panel.chair@southend-lscb.example.org)",
        "would change: 1 change(s) in 8 agency(ies) of directory.yaml; nothing written (dry run)",
    ]
    again = json.loads(cli("directory", "import", str(path), "--dry-run", "--json").stdout)
    assert [c["kind"] for c in again["changes"]] == ["conflict"]  # still not written
    done = json.loads(cli("directory", "import", str(path), "--json", "--now", NOW).stdout)
    assert done["ok"] is True
    assert done["dry_run"] is False
    assert [c["action"] for c in done["changes"]] == ["added"]
    assert "conflicts:" in cli("directory", "export").stdout


def test_a_bad_file_names_its_row_and_field_and_changes_nothing(
    cli: Cli,  # noqa: F811
    tmp_path: Path,
) -> None:
    path = tmp_path / "directory.csv"
    cli("directory", "export", "--format", "csv", "--output", str(path))
    text = path.read_bytes().decode("utf-8-sig")
    text += "sept,contact,,New Person,new@sept.example.org,lead_officer,yes,2011-03-01,"
    text += "2011-02-01,,\r\n"
    path.write_text(text, encoding="utf-8")
    row = len(text.splitlines())
    err = cli("directory", "import", str(path), "--now", NOW, code=1).stderr
    assert f"error: directory.csv: row {row}, column 'Last day away': " in err
    assert "the last day away (1 February 2011) is before the first (1 March 2011)" in err
    assert err.endswith("nothing was changed\n")
    assert "new@sept.example.org" not in cli("directory", "export").stdout
    out = json.loads(cli("directory", "import", str(path), "--json", code=1).stdout)
    assert out["ok"] is False
    assert [(p["where"], p["field"]) for p in out["problems"]] == [
        (f"row {row}, column 'Last day away'", "absent_until")
    ]


def test_an_actor_without_the_permission_is_refused(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "directory.yaml"
    cli("directory", "export", "--output", str(path))
    err = cli(
        "directory", "import", str(path), "--actor", "named.nurse@sept.example.org", code=1
    ).stderr
    assert "named.nurse@sept.example.org" in err
