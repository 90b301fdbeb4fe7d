"""Plans uploaded on the import page (issue 12): checked by the upload checks, kept for their
uploader only, for a day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine import staged_imports
from engine.errors import UploadRefused

NOW = dt.datetime(2011, 1, 10, 9, 0, tzinfo=dt.UTC)
BM = "business.manager@southend-lscb.example.org"
PLAN = b"Ref,Recommendation\n1,One.\n"


def test_a_plan_is_kept_for_its_uploader(tmp_path: Path) -> None:
    staged = staged_imports.stage(tmp_path, "Plan 2011.csv", PLAN, by=BM, now=NOW)
    assert staged.path.read_bytes() == PLAN
    assert staged.filename == "Plan 2011.csv"
    found = staged_imports.find(tmp_path, staged.id, by=BM, now=NOW + dt.timedelta(hours=23))
    assert found is not None
    assert (found.path, found.is_sheet, found.mapping) == (staged.path, True, None)
    assert staged_imports.find(tmp_path, staged.id, by="someone@else.example.org", now=NOW) is None
    assert staged_imports.find(tmp_path, "not-an-id", by=BM, now=NOW) is None
    assert staged_imports.find(tmp_path, "a" * 16, by=BM, now=NOW) is None


def test_an_upload_left_for_a_day_is_gone(tmp_path: Path) -> None:
    staged = staged_imports.stage(tmp_path, "plan.csv", PLAN, by=BM, now=NOW)
    later = NOW + staged_imports.KEPT_FOR + dt.timedelta(seconds=1)
    assert staged_imports.find(tmp_path, staged.id, by=BM, now=later) is None
    assert not staged.path.parent.exists()


def test_the_columns_chosen_and_the_outcome_are_kept_and_the_copy_deleted(tmp_path: Path) -> None:
    staged = staged_imports.stage(tmp_path, "plan.csv", PLAN, by=BM, now=NOW)
    staged_imports.remember_mapping(staged, {"sheets": {"plan": {"header_row": 1}}})
    again = staged_imports.find(tmp_path, staged.id, by=BM, now=NOW)
    assert again is not None
    assert again.mapping == {"sheets": {"plan": {"header_row": 1}}}
    staged_imports.imported(again, {"added": ["plan/1"]})
    done = staged_imports.find(tmp_path, staged.id, by=BM, now=NOW)
    assert done is not None
    assert done.imported == {"added": ["plan/1"]}
    assert not done.path.exists()


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        ("plan.pdf", PLAN, "is not an action plan signoff imports"),
        ("plan.yaml", b"review:\x00\x01", "is not plain text"),
        ("plan.yml", b"MZ\x90\x00" + bytes(60) + b"PE\x00\x00", "Save the plan as plain text"),
        ("plan.csv", b"ref,x\nR1,=1+1\n", "run as a formula"),
    ],
)
def test_a_file_that_is_not_a_plan_is_refused_and_nothing_kept(
    tmp_path: Path, name: str, data: bytes, said: str
) -> None:
    with pytest.raises(UploadRefused) as refused:
        staged_imports.stage(tmp_path, name, data, by=BM, now=NOW)
    assert said in str(refused.value)
    assert refused.value.filename == name
    assert not (tmp_path / "imports").exists() or not any((tmp_path / "imports").iterdir())
