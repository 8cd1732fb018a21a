"""The ``segworkshop`` command: argument parsing that calls the library, nothing more.

A :class:`~segworkshop.errors.SegworkshopError` becomes one readable paragraph on stderr and exit code 2.
Each command imports only what it uses, so that ``--help`` and small commands start fast.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from .errors import SegworkshopError

KINDS = ("saas", "ecomm", "finserv")


def _friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the project's errors into a message and exit code 2 (no traceback)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SegworkshopError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper


def _progress(message: str) -> None:
    click.echo(f"… {message}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="segworkshop")
def main() -> None:
    """Segment your users as a team, on your own event data, in one working session."""


@main.command()
@click.argument("workshop", type=click.Path(path_type=Path), default="workshop.yaml")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_friendly
def validate(workshop: Path, fmt: str) -> None:
    """Check that WORKSHOP's data (a workshop.yaml or its folder) is usable before the session.

    Exit code 0 when it is, 2 when something must be fixed first.
    """
    from .validate import validate as run_validation
    from .workshop import Workshop

    ws = Workshop.load(workshop)
    _progress(f"reading {ws.mapped.label}")
    report = run_validation(ws)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        click.echo(report.to_text())
    if not report.ok:
        sys.exit(2)


@main.command()
@click.option(
    "--kind", type=click.Choice([*KINDS, "all"]), default="all", show_default=True, help="Which demo dataset."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the validation report and success tables (JSON, CSV) into this folder.",
)
@_friendly
def demo(kind: str, out: Path | None) -> None:
    """Run the kit on the bundled demo data: validate it and print the baseline success table."""
    from .counts import success_counts
    from .datasets import demo_workshop_path
    from .validate import validate as run_validation
    from .workshop import Workshop

    kinds = KINDS if kind == "all" else (kind,)
    for name in kinds:
        started = time.perf_counter()
        path = demo_workshop_path(name, progress=_progress)
        ws = Workshop.load(path)
        _progress(f"{name}: validating {ws.mapped.label}")
        report = run_validation(ws)
        if not report.ok:
            click.echo(report.to_text())
            sys.exit(2)
        table = success_counts(ws.unit_table(), ws.plain_segments())
        b = report.baseline
        click.echo(f"\n=== {ws.config.title} ({path}) ===")
        click.echo(
            f"{report.rows:,} events, {report.users:,} users"
            + (f", {report.accounts:,} accounts" if report.accounts is not None else "")
            + f", {report.first:%Y-%m-%d} → {report.last:%Y-%m-%d}"
        )
        click.echo(f"Success: {b['definition']}")
        click.echo(f"Baseline: {b['successes']:,} of {b['units']:,} {ws.unit}s succeed ({b['rate']:.1%})\n")
        click.echo(_format_table(table))
        for finding in report.findings:
            click.echo(f"{finding.level}: {finding.message}")
        _progress(f"{name}: done in {time.perf_counter() - started:.1f} s")
        if out is not None:
            folder = out / name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "validation.json").write_text(json.dumps(report.to_dict(), indent=2, default=str))
            table.to_csv(folder / "success_by_segment.csv", index=False)
            _progress(f"{name}: wrote {folder}")


@main.command("demo-data")
@click.option("--kind", type=click.Choice(KINDS), required=True, help="Which dataset to generate.")
@click.option(
    "--users",
    "units",
    type=click.IntRange(min=10),
    default=None,
    help="How many users (accounts for saas). Default: the bundled size.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--out", type=click.Path(path_type=Path), default=None, help="Folder to write into (default: ./demo-<kind>)."
)
@_friendly
def demo_data(kind: str, units: int | None, seed: int, out: Path | None) -> None:
    """Generate a demo dataset (Parquet + workshop.yaml), e.g. 1M users for a benchmark."""
    from . import demo as generator

    units = units or generator.BUNDLED_UNITS[kind]
    out = out or Path(f"demo-{kind}")
    started = time.perf_counter()
    generator.write(kind, out, units, seed=seed, progress=_progress)
    click.echo(f"wrote {out} ({units:,} units, seed {seed}) in {time.perf_counter() - started:.1f} s")


def _format_table(df: Any) -> str:
    lines = [f"{'segment':<18} {'value':<22} {'units':>9} {'successes':>10} {'rate':>7}"]
    for row in df.itertuples():
        lines.append(f"{row.segment:<18} {row.value!s:<22} {row.units:>9,} {row.successes:>10,} {row.rate:>7.1%}")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    main()
