"""What every command shares: the settings, the services, ``--now`` and date parsing,
turning signoff's refusals into exit code 1, and JSON output.

Kept light on purpose: it imports the engine only inside the functions that need it,
so ``signoff --help`` never loads the database layer.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer

if TYPE_CHECKING:
    from app.settings import Settings
    from engine.services import Services

P = ParamSpec("P")
R = TypeVar("R")


class _State:
    settings: Settings | None = None


_state = _State()


def settings() -> Settings:
    """The settings of this process, read from the environment on first use.

    Raises:
        SettingsError: naming each bad ``SIGNOFF_*`` variable.
    """
    if _state.settings is None:
        from app.settings import load_settings

        _state.settings = load_settings()
    return _state.settings


def database_url() -> str:
    """The database URL: read straight from the environment when that is plain (see
    ``app.environment``), so a read-only command need not load the settings.

    Raises:
        SettingsError: naming each bad ``SIGNOFF_*`` variable.
    """
    if _state.settings is None:
        from app.environment import plain_database_url

        url = plain_database_url()
        if url is not None:
            return url
    return settings().database_url


def services() -> Services:
    """The engine's services for these settings: the database, the data folder, the calendar."""
    from engine.services import Services
    from engine.store.db import Database

    current = settings()
    return Services(
        db=Database(current.database_url),
        data_dir=current.data_dir,
        calendar=current.calendar(),
    )


def known_templates() -> frozenset[str]:
    """The email template names workflows may refer to."""
    from notifications.templates import available

    return available()


def parse_now(value: str | None) -> dt.datetime:
    """``--now``: an ISO date-time, or the clock when not given.

    A time without a zone is local wall-clock time in ``SIGNOFF_TIMEZONE``; in the hour the
    clocks go back it is the first of the two, and a time the clocks skip is refused.
    """
    if value is None:
        return dt.datetime.now(dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO date-time, e.g. 2011-04-01T09:00+01:00", param_hint="--now"
        ) from None
    if parsed.tzinfo is None:
        from zoneinfo import ZoneInfo

        zone_name = settings().timezone
        local = parsed.replace(tzinfo=ZoneInfo(zone_name))
        if local.astimezone(dt.UTC).astimezone(local.tzinfo).replace(tzinfo=None) != parsed:
            raise typer.BadParameter(
                f"{value} does not happen in {zone_name} (the clocks go forward then); "
                "give another time, or one with its offset, e.g. 2011-03-27T02:30+01:00",
                param_hint="--now",
            )
        return local
    return parsed


def parse_date(value: str | None, option: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` option, or None when not given."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date; write YYYY-MM-DD", param_hint=option
        ) from None


def refusals(func: Callable[P, R]) -> Callable[P, R]:
    """Turn signoff's own errors into a message on stderr and exit code 1.

    The engine's message says what is wrong; ``advice`` adds how to put it right here.
    """

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from engine.errors import SignoffError

        try:
            return func(*args, **kwargs)
        except SignoffError as exc:
            typer.echo(f"error: {exc}{advice(exc)}", err=True)
            raise typer.Exit(1) from None

    return wrapper


# how to give what a transition requires, on this command line
_GIVE = {
    "evidence": "attach a file with --evidence FILE or write a --statement",
    "reason": "give one with --reason",
    "meeting_date": "give the panel meeting date with --meeting-date YYYY-MM-DD",
    "rag": "give --rag red, amber or green",
    "due_date": "give the proposed date with --due-date YYYY-MM-DD",
}
# what to do on the command line about a refused request, by the refusal's reason
_REQUEST_ADVICE = {
    "closed": "; issue a new one with `signoff request {key}`",
    "nobody_to_ask": ", or give --to EMAIL",
    "not_answerer": "; give one of them with --to EMAIL, or leave --to out",
    "failing": " (--to EMAIL)",
    "not_issuer": "; give --actor EMAIL of someone who holds one",
}


def advice(exc: Exception) -> str:
    """What to do about ``exc`` on the command line, to follow the engine's message ('' if
    the message says it all). The one place the CLI words its advice."""
    from engine.errors import (
        ActorRefused,
        CheckpointRefused,
        MissingInput,
        PublishRefused,
        RequestNotFound,
        RequestRefused,
    )

    if isinstance(exc, MissingInput):
        return f"; {_GIVE[exc.requirement]}" if exc.requirement in _GIVE else ""
    if isinstance(exc, RequestRefused):
        return _REQUEST_ADVICE.get(exc.reason.value, "").format(key=exc.key or "REVIEW/REF")
    if isinstance(exc, PublishRefused) and exc.unmapped:
        maps = " ".join(f"--map {state}=STATE" for state in exc.unmapped)
        return f"\nmap each state the new version lacks to one it has: {maps}"
    if isinstance(exc, ActorRefused):
        return "; give --actor EMAIL of someone who holds one"
    if isinstance(exc, CheckpointRefused):
        return "\n`signoff verify-log` names every problem"
    if isinstance(exc, RequestNotFound):
        return "\n`signoff show REVIEW/REF` lists an item's requests"
    return ""


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
