"""The database URL from ``SIGNOFF_*`` without pydantic-settings, for ``signoff list``.

``app.settings`` reads and checks every setting; that costs about 210 ms at start-up
(``python -c 'import pydantic_settings'`` 240 ms against 30 ms for ``pass``, median of 7),
more than ``signoff list`` may spend. A command that needs only the database URL asks
``plain_database_url``: it answers only when the environment sets nothing but the URL and
the data folder (settings that take any text but the URL, checked by the same rule as
``Settings``), so every value it accepts, ``Settings`` accepts and reads the same way. In
any other case it answers None and the caller loads the settings, which name a bad variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

PREFIX = "SIGNOFF_"
_URL_SCHEMES = ("sqlite://", "postgresql://", "postgresql+psycopg://")
# settings whose every value Settings accepts (data_dir: any text is a Path), or that
# check_database_url decides as Settings does; pydantic-settings reads names in any case
_PLAIN = frozenset({"signoff_database_url", "signoff_data_dir"})


def check_database_url(value: str) -> str:
    """``SIGNOFF_DATABASE_URL``'s rule (``Settings`` checks it with this function).

    Raises:
        ValueError: not a SQLite or PostgreSQL URL; the message shows the forms allowed.
    """
    if not value.startswith(_URL_SCHEMES):
        raise ValueError(
            "must start with sqlite:/// (a file) or postgresql:// "
            f"(e.g. postgresql://signoff@127.0.0.1:5432/signoff); got {value.split(':')[0]!r}"
        )
    return value


def plain_database_url(environ: Mapping[str, str] | None = None) -> str | None:
    """The database URL ``Settings`` would read from ``environ`` (default: this process's),
    or None when only ``Settings`` can tell (another ``SIGNOFF_*`` variable is set, a name is
    given twice in different cases, or the URL breaks the rule)."""
    env = os.environ if environ is None else environ
    names = [name.lower() for name in env if name.lower().startswith(PREFIX.lower())]
    if len(names) != len(set(names)) or not _PLAIN.issuperset(names):
        return None
    url = next(
        (v for k, v in env.items() if k.lower() == "signoff_database_url"),
        "sqlite:///signoff.db",  # Settings.database_url's default; a test keeps them equal
    )
    try:
        return check_database_url(url)
    except ValueError:
        return None
