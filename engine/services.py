"""What the engine's operations need from their surroundings, built once per process."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.calendar import Calendar
from engine.store.db import Database
from engine.versions import SpecCache


@dataclass
class Services:
    """What ``fire`` needs from its surroundings; built once per process."""

    db: Database
    data_dir: Path
    specs: SpecCache = field(default_factory=SpecCache)
    calendar: Calendar = field(default_factory=Calendar)
