"""The ``signoff`` command line. Every command is documented in README.md.

Exit codes: 0 success; 1 refused (bad input, a transition not allowed, a broken log),
with the reason on standard error; 2 a usage error. ``now`` is read from the clock
at the edge, in the commands, and passed into the engine (``--now`` overrides it).

The commands live in ``app.commands`` (items, mail, setup) and ``app.serve``; each
imports what it uses when it runs, so ``signoff --help`` loads only typer.
"""

from __future__ import annotations

import typer

from app import serve
from app.commands import anchors, demo, directory, items, mail, report, setup, tokens

app = typer.Typer(
    pretty_exceptions_show_locals=False,  # locals may hold personal data or secrets
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain help: loading rich would cost more than the rest of --help
    help="Track review recommendations through evidence-based sign-off.",
)
workflow_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Check, publish and draw workflows."
)
app.add_typer(workflow_app, name="workflow")
token_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Personal access tokens for the JSON API."
)
app.add_typer(token_app, name="token")
anchor_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help="The events relative due dates count from ('publication of this Review').",
)
app.add_typer(anchor_app, name="anchor")
directory_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Export and import the directory (YAML, CSV, xlsx).",
)
app.add_typer(directory_app, name="directory")

app.command()(setup.init)
app.command("import")(setup.import_)
app.command("export")(report.export_)
app.command("list")(items.list_)
app.command()(items.show)
app.command("fire")(items.fire_)
app.command("request")(items.request_)
app.command("reissue")(items.reissue_)
app.command("staff-link")(items.staff_link_)
app.command("quarantine")(items.quarantine_)
app.command("verify-log")(setup.verify_log)
app.command()(setup.checkpoint)
app.command()(mail.sweep)
app.command("dispatch")(mail.dispatch_)
app.command()(mail.outbox)
app.command("forecast")(mail.forecast_)
app.command("report")(report.report_)
app.command()(serve.serve)
app.command("demo")(demo.demo)
workflow_app.command("validate")(setup.workflow_validate)
workflow_app.command("publish")(setup.workflow_publish)
workflow_app.command("preview")(setup.workflow_preview)
workflow_app.command("diagram")(setup.workflow_diagram)
app.command("templates")(mail.templates_check)
workflow_app.command("schema")(setup.workflow_schema)
token_app.command("create")(tokens.create)
token_app.command("list")(tokens.list_)
token_app.command("revoke")(tokens.revoke)
anchor_app.command("list")(anchors.list_)
anchor_app.command("set")(anchors.set_)
directory_app.command("export")(directory.export_)
directory_app.command("import")(directory.import_)


def main() -> None:
    """Console entry point. The settings are read when a command first needs them, so a bad
    ``SIGNOFF_*`` variable stops that command with the variable's name (exit code 1)."""
    app()
