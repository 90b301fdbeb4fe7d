"""Plans uploaded on the import page, kept until the business manager confirms or leaves them.

The page checks a plan before importing it: the upload is checked by the evidence upload
checks (``engine.uploads``: by content, hostile files refused in words), kept under the data
folder (``imports/ID/NAME``, owner-only) with who uploaded it and when, dry-run as often as
the columns are adjusted, and imported, all or nothing, when confirmed (the copy is then
deleted; what the import did is kept to show). Only the person who uploaded a plan can see
it; an upload left for :data:`KEPT_FOR` is gone. An xlsx or csv
plan is checked as the spreadsheet it claims to be; a YAML plan as plain text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import UploadRefused
from engine.evidence import make_private_dir
from engine.uploads import UploadLimits, check_file

KEPT_FOR = dt.timedelta(hours=24)
PLANS = {".xlsx": "xlsx", ".csv": "csv", ".yaml": "yaml", ".yml": "yaml"}
_ID_CHARS = "abcdefghijklmnopqrstuvwxyz234567"
_META = "upload.json"


@dataclass(frozen=True, kw_only=True)
class Staged:
    """One uploaded plan waiting to be imported."""

    id: str
    path: Path
    uploaded_by: str
    uploaded_at: dt.datetime
    mapping: dict[str, Any] | None  # the columns as adjusted on the page (a mapping file)
    imported: dict[str, Any] | None = None  # what the import did, once confirmed

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def is_sheet(self) -> bool:
        return PLANS.get(self.path.suffix.lower()) in ("xlsx", "csv")


def stage(
    data_dir: Path,
    name: str,
    data: bytes,
    *,
    by: str,
    now: dt.datetime,
    limits: UploadLimits = UploadLimits(),
) -> Staged:
    """Check an uploaded plan and keep it.

    Raises:
        UploadRefused: not a plan signoff imports, or refused by the upload checks (the
            message names the file and says what to do).
    """
    suffix = Path(name).suffix.lower()
    kind = PLANS.get(suffix)
    if kind is None:
        raise UploadRefused(
            name,
            "is not an action plan signoff imports: upload it as an Excel workbook (.xlsx), "
            "a CSV file (.csv) or a YAML plan (.yaml)",
        )
    if kind == "yaml":  # plain text, by the same checks as a text file
        stem = name[: -len(suffix)] or "plan"
        try:
            accepted = check_file(f"{stem}.txt", data, limits)
        except UploadRefused as exc:  # the text checks' advice is for evidence, not plans
            what = exc.reason.replace(".txt", suffix).split(". ")[0].rstrip(".")
            raise UploadRefused(
                name, f"{what}. Save the plan as plain text (UTF-8) and upload it again."
            ) from None
        cleaned = accepted.filename[: -len(".txt")] + suffix
    else:
        cleaned = check_file(name, data, limits).filename
    upload_id = "".join(secrets.choice(_ID_CHARS) for _ in range(16))
    folder = make_private_dir(data_dir / "imports" / upload_id)
    path = folder / cleaned
    path.write_bytes(data)
    meta = {
        "uploaded_by": by,
        "uploaded_at": now.isoformat(),
        "filename": cleaned,
        "mapping": None,
        "imported": None,
    }
    (folder / _META).write_text(json.dumps(meta), encoding="utf-8")
    return Staged(id=upload_id, path=path, uploaded_by=by, uploaded_at=now, mapping=None)


def find(data_dir: Path, upload_id: str, *, by: str, now: dt.datetime) -> Staged | None:
    """The plan ``by`` uploaded as ``upload_id``, or None (no such upload, another
    person's, or older than :data:`KEPT_FOR`, which is then removed)."""
    if len(upload_id) != 16 or any(c not in _ID_CHARS for c in upload_id):
        return None
    folder = data_dir / "imports" / upload_id
    try:
        meta = json.loads((folder / _META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    at = dt.datetime.fromisoformat(meta["uploaded_at"])
    if now - at > KEPT_FOR:
        shutil.rmtree(folder, ignore_errors=True)
        return None
    if meta["uploaded_by"] != by:
        return None
    path = folder / meta["filename"]
    if meta["imported"] is None and not path.is_file():
        return None
    return Staged(
        id=upload_id,
        path=path,
        uploaded_by=by,
        uploaded_at=at,
        mapping=meta["mapping"],
        imported=meta["imported"],
    )


def _update(staged: Staged, **changes: Any) -> Staged:
    meta_path = staged.path.parent / _META
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta.update(changes)
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    return dataclasses.replace(staged, **changes)


def remember_mapping(staged: Staged, mapping: dict[str, Any]) -> Staged:
    """Keep the columns as adjusted on the page with the upload."""
    return _update(staged, mapping=mapping)


def imported(staged: Staged, summary: dict[str, Any]) -> Staged:
    """Record what the import did, and delete the plan's copy: it is in the database now."""
    done = _update(staged, imported=summary)
    staged.path.unlink(missing_ok=True)
    return done
