"""``signoff directory export|import``: the directory (agencies, contacts, ladders, conflicts
of interest, assigned auditors) as a YAML, CSV or xlsx file, and back.

Whoever runs the server's command line is the business manager here (``--actor``, as for
``import``); every change an import makes is recorded in the administrators' log.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from app.console import parse_now, print_json, refusals, services


class DirectoryFormat(StrEnum):
    YAML = "yaml"
    CSV = "csv"
    XLSX = "xlsx"


@refusals
def export_(
    fmt: Annotated[
        DirectoryFormat, typer.Option("--format", help="yaml, csv or xlsx")
    ] = DirectoryFormat.YAML,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write to FILE (xlsx needs one)")
    ] = None,
) -> None:
    """Write the whole directory as a file that `signoff directory import` reads back."""
    from engine.directory import files

    if fmt is DirectoryFormat.XLSX and output is None and sys.stdout.isatty():
        raise typer.BadParameter("xlsx is a binary file; give --output FILE", param_hint="--format")
    current = services()
    if fmt is DirectoryFormat.YAML:
        body = files.export_yaml(current).encode("utf-8")
    else:
        from reports.directory_sheet import render_directory_csv, render_directory_xlsx

        rows = files.export_rows(current)
        render = render_directory_xlsx if fmt is DirectoryFormat.XLSX else render_directory_csv
        body = render(rows)
    if output is not None:
        output.write_bytes(body)
        typer.echo(f"wrote {output} ({fmt.value})", err=True)
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()


@refusals
def import_(
    file: Annotated[Path, typer.Argument(help="a directory file: .yaml, .csv or .xlsx")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="list every change; write nothing")
    ] = False,
    actor: Annotated[str, typer.Option(help="recorded as who changed it")] = "system:import",
    now: Annotated[str | None, typer.Option(help="ISO date-time to record")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the changes as JSON")] = False,
) -> None:
    """Put each agency of FILE in place of the one with its id (contacts, ladder, conflicts,
    auditors); other agencies are left as they are. All of it, or nothing."""
    from engine import permissions
    from engine.directory import DirectoryRefused, files

    current = services()
    with current.db.engine.connect() as conn:
        permissions.require(conn, actor, permissions.Permission.ADMINISTER)
    try:
        planned = files.import_file(current, file, actor=actor, now=parse_now(now), dry_run=dry_run)
    except DirectoryRefused as exc:
        if as_json:
            print_json({"ok": False, "problems": [
                {"where": p.where, "agency": p.agency, "contact": p.contact, "field": p.field,
                 "message": p.message} for p in exc.problems]})  # fmt: skip
            raise typer.Exit(1) from None
        for problem in exc.problems:
            typer.echo(f"error: {file.name}: {problem.text}", err=True)
        typer.echo("nothing was changed", err=True)
        raise typer.Exit(1) from None
    if as_json:
        print_json({"ok": True, **planned.as_json()})
        return
    for change in planned.changes:
        typer.echo(change.text)
    verb = "would change" if dry_run else "changed"
    typer.echo(
        f"{verb}: {len(planned.changes)} change(s) in {len(planned.agencies)} agency(ies) "
        f"of {file.name}" + ("; nothing written (dry run)" if dry_run else "")
    )
