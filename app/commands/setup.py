"""Setting up and checking: init, import, verify-log, and the workflow commands
(validate, publish, diagram, schema).

Each imports the engine inside its body, so loading this module (for ``--help``) is cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.console import known_templates, parse_now, print_json, refusals, services, settings

if TYPE_CHECKING:
    from engine.spec import WorkflowSpec


@refusals
def init(
    actor: Annotated[str, typer.Option(help="who publishes the shipped workflows")] = "system:init",
) -> None:
    """Create or upgrade the database and publish the shipped workflows (safe to repeat)."""
    from engine.store import migrate
    from engine.versions import ensure_version

    current = services()
    migrate.upgrade(current.db)
    specs = _load_dir(settings().workflows())
    with current.db.write() as conn:
        for spec in specs:
            done = ensure_version(conn, spec, actor=actor, now=parse_now(None))
            if done.created:
                typer.echo(f"published {done.name} version {done.version}")
            else:
                typer.echo(f"{done.name} version {done.version} is already this content")
    typer.echo(f"database ready at revision {migrate.current(current.db)}")


def _load_dir(folder: Path) -> list[WorkflowSpec]:
    from engine.errors import SpecError
    from engine.spec import load_spec_file

    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise SpecError(
            str(folder), "", "no workflow files (*.yaml) here; set SIGNOFF_WORKFLOWS_DIR"
        )
    known = known_templates()
    return [load_spec_file(f, known) for f in files]


@refusals
def import_(
    files: Annotated[list[Path], typer.Argument(help="action plan and/or contacts YAML files")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check only; write nothing")] = False,
    actor: Annotated[str, typer.Option(help="recorded as who imported")] = "system:import",
    now: Annotated[str | None, typer.Option(help="ISO date-time to record")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Import action plans and contacts; all files or nothing.

    Likely personal data in what goes into emails (a review's email name, an email summary)
    is a ``warning:`` line naming the row and field; in a title, an ``info:`` line.
    """
    from engine.importer import import_files

    current = services()
    with current.db.write() as conn:
        report = import_files(
            conn,
            files,
            specs=current.specs,
            actor=actor,
            now=parse_now(now),
            dry_run=dry_run,
            calendar=current.calendar,
        )
        if dry_run:
            conn.rollback()
    if as_json:
        print_json(
            {
                "format": 1,
                "dry_run": report.dry_run,
                "reviews": report.reviews,
                "agencies": report.agencies,
                "contacts": report.contacts,
                "added": report.added,
                "unchanged": report.unchanged,
                "email_fields_set": report.email_fields_set,
                "warnings": [{"file": file, **f.as_dict()} for file, f in report.findings],
            }
        )
        return
    for line in report.lines():
        typer.echo(line)


@refusals
def verify_log(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check the hash chain of every item's history; report the first broken link."""
    from engine import queries
    from engine.hashchain import verify

    current = services()
    with current.db.engine.connect() as conn:
        result = verify(conn)
    if as_json:
        broken = result.broken
        print_json(
            {
                "format": queries.FORMAT,
                "ok": result.ok,
                "items": result.items,
                "events": result.events,
                "broken": None
                if broken is None
                else {"item_id": broken.item_id, "seq": broken.seq, "problem": broken.problem},
            }
        )
    elif result.ok:
        typer.echo(f"ok: {result.events} events on {result.items} items verify")
    else:
        typer.echo(f"BROKEN: {result.broken}", err=True)
    if not result.ok:
        raise typer.Exit(1)


def workflow_validate(files: Annotated[list[Path], typer.Argument()]) -> None:
    """Check workflow files; print every problem and exit 1 if any file is invalid."""
    from engine.errors import SpecError
    from engine.spec import load_spec_file

    known, failed = known_templates(), False
    for f in files:
        try:
            spec = load_spec_file(f, known)
        except SpecError as exc:
            failed = True
            typer.echo(str(exc), err=True)
        else:
            typer.echo(
                f"{f}: ok ({spec.name}: {len(spec.states)} states, "
                f"{len(spec.model.transitions)} transitions)"
            )
    if failed:
        raise typer.Exit(1)


@refusals
def workflow_publish(
    file: Annotated[Path, typer.Argument()],
    actor: Annotated[str, typer.Option(help="who publishes (recorded)")],
    migrate_items: Annotated[
        bool, typer.Option("--migrate", help="move open items onto it")
    ] = False,
    mapping: Annotated[
        list[str] | None, typer.Option("--map", help="OLD=NEW state (repeat)")
    ] = None,
    note: Annotated[str | None, typer.Option(help="what changed")] = None,
    now: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Publish a new immutable version of a workflow."""
    from engine.spec import load_spec_file
    from engine.versions import publish

    pairs: dict[str, str] = {}
    for m in mapping or []:
        old, sep, new = m.partition("=")
        if not sep or not old or not new:
            raise typer.BadParameter(
                f"{m!r}: write OLD=NEW, e.g. challenged=open", param_hint="--map"
            )
        pairs[old.strip()] = new.strip()
    spec = load_spec_file(file, known_templates())
    current = services()
    with current.db.write() as conn:
        done = publish(
            conn,
            spec,
            actor=actor,
            now=parse_now(now),
            migrate=migrate_items,
            mapping=pairs,
            note=note,
            calendar=current.calendar,
        )
    if done.created:
        typer.echo(f"published {done.name} version {done.version}")
    else:
        typer.echo(f"{done.name} version {done.version} is already this content; nothing published")
    if done.migrated:
        typer.echo(f"moved {done.migrated} open item(s) to version {done.version}")


@refusals
def workflow_diagram(file: Annotated[Path, typer.Argument()]) -> None:
    """Print the workflow as a Mermaid state diagram."""
    from engine.spec import load_spec_file
    from engine.spec.diagram import mermaid

    typer.echo(mermaid(load_spec_file(file, known_templates())))


def workflow_schema() -> None:
    """Print the JSON Schema of workflow files."""
    from engine.spec import json_schema

    print_json(json_schema())
