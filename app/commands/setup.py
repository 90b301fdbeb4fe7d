"""Setting up and checking: init, import, verify-log, checkpoint, and the workflow commands
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
    files: Annotated[
        list[Path],
        typer.Argument(help="action plans (YAML, xlsx, csv) and/or contacts YAML files"),
    ],
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            help="YAML file mapping a spreadsheet's headings to signoff's fields "
            "(config/sheet-mapping.schema.json); --dry-run prints the one used",
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check only; write nothing")] = False,
    actor: Annotated[str, typer.Option(help="recorded as who imported")] = "system:import",
    now: Annotated[str | None, typer.Option(help="ISO date-time to record")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="stable JSON (README)")] = False,
) -> None:
    """Import action plans and contacts; all files or nothing; every problem in one run.

    Likely personal data in what goes into emails (a review's email name, an email summary)
    is a ``warning:`` line naming the row and field; in a title, an ``info:`` line. A section
    kept but not used yet is a ``note:`` line.
    """
    from engine import permissions, queries
    from engine.errors import ImportErrors
    from engine.importer import import_files
    from engine.sheets import load_mapping

    current = services()
    try:
        sheet_mapping = None
        if mapping is not None:
            sheet_mapping, problems = load_mapping(mapping)
            if sheet_mapping is None:
                raise ImportErrors(problems)
        with current.db.write() as conn:
            permissions.require(conn, actor, permissions.Permission.ADMINISTER)
            report = import_files(
                conn,
                files,
                specs=current.specs,
                actor=actor,
                now=parse_now(now),
                dry_run=dry_run,
                calendar=current.calendar,
                mapping=sheet_mapping,
            )
            if dry_run:
                conn.rollback()
    except ImportErrors as exc:
        if not as_json:
            raise
        print_json(
            {
                "format": queries.FORMAT,
                "ok": False,
                "dry_run": dry_run,
                "findings": [f.as_json() for f in exc.findings],
            }
        )
        raise typer.Exit(1) from None
    if as_json:
        print_json({"format": queries.FORMAT, "ok": True, **report.as_json()})
        return
    for line in report.lines():
        typer.echo(line)
    if dry_run and report.mappings:
        import yaml

        for name, used in report.mappings.items():
            typer.echo(f"# the mapping used for {name}; save it, edit it, pass it as --mapping")
            typer.echo(yaml.safe_dump(used, sort_keys=False, allow_unicode=True).rstrip())


@refusals
def verify_log(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check the hash chain of every item's history, the administrators' log and every
    signed checkpoint; report each problem and exit 1 if any."""
    from engine import adminlog, queries
    from engine.checkpoints import check, log_path
    from engine.hashchain import verify

    current = services()
    key = settings().key()
    with current.db.engine.connect() as conn:
        result = verify(conn)
        admin = adminlog.verify(conn)
        sealed = check(conn, key, log_file=log_path(current.data_dir))
    ok = result.ok and admin.ok and sealed.ok
    if as_json:
        broken = result.broken
        print_json(
            {
                "format": queries.FORMAT,
                "ok": ok,
                "items": result.items,
                "events": result.events,
                "broken": None
                if broken is None
                else {"item_id": broken.item_id, "seq": broken.seq, "problem": broken.problem},
                "admin_log": {
                    "ok": admin.ok,
                    "entries": admin.entries,
                    "broken": None
                    if admin.ok
                    else {"seq": admin.broken_seq, "problem": admin.problem},
                },
                "checkpoints": {
                    "count": sealed.checkpoints,
                    "verified": sealed.verified,
                    "latest": sealed.latest.record() if sealed.latest else None,
                    "problems": [p.record() for p in sealed.problems],
                    "notes": sealed.notes,
                },
            }
        )
    else:
        if result.ok:
            typer.echo(f"ok: {result.events} events on {result.items} items verify")
        else:
            typer.echo(f"BROKEN: {result.broken}", err=True)
        if admin.ok:
            typer.echo(f"ok: {admin.entries} entries of the administrators' log verify")
        else:
            typer.echo(f"BROKEN: {admin}", err=True)
        for problem in sealed.problems:
            typer.echo(f"BROKEN: {problem}", err=True)
        for note in sealed.notes:
            typer.echo(f"note: {note}")
        latest = sealed.latest
        if latest is None:
            typer.echo(
                "no checkpoints: the chain shows only that the history agrees with itself; "
                "anyone who can write to the database could have rewritten it and recomputed "
                "the chain. Take one with `signoff checkpoint` (`signoff serve` takes one daily)"
            )
        elif sealed.ok:
            typer.echo(
                f"ok: {sealed.checkpoints} signed checkpoint(s) verify; the latest, "
                f"#{latest.number} of {latest.taken_at:%Y-%m-%d %H:%M} UTC, sealed "
                f"{latest.events} events on {latest.items} items, which are unchanged"
            )
    if not ok:
        raise typer.Exit(1)


@refusals
def checkpoint(
    actor: Annotated[str, typer.Option(help="recorded as who took it")] = "system:cli",
    now: Annotated[str | None, typer.Option(help="ISO date-time to record")] = None,
) -> None:
    """Seal every item's history with a checkpoint signed with the secret key."""
    import datetime as dt

    from engine.checkpoints import take

    current = services()
    taken = take(current, settings().key(), now=parse_now(now), actor=actor)
    seal = taken.seal
    at = seal.taken_at.astimezone(dt.UTC)
    typer.echo(
        f"checkpoint #{seal.number} taken at {at:%Y-%m-%d %H:%M} UTC: {seal.events} events on "
        f"{seal.items} items ({seal.heads} item(s) moved since the last checkpoint), signed "
        f"with key id {seal.key_id}"
    )
    if taken.log_error:
        typer.echo(f"warning: not appended to the checkpoint file: {taken.log_error}", err=True)
    else:
        typer.echo(f"appended to {taken.log_file}")


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
    actor: Annotated[
        str, typer.Option(help="who publishes (recorded): a business manager, or system:…")
    ],
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
    from engine import permissions
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
        permissions.require(conn, actor, permissions.Permission.ADMINISTER)
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
