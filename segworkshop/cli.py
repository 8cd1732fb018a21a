"""The ``segworkshop`` command: argument parsing that calls the library, nothing more.

A :class:`~segworkshop.errors.SegworkshopError` becomes one readable paragraph on stderr and exit code 2, in one
place (:class:`SegworkshopGroup`). The library names its parameters the Python way (`by=`, `schema='ecomm'`);
there they become the command's own options (--by, --schema ecomm).
Each command imports only what it uses, so that ``--help`` and small commands start fast: nothing here at
module level loads Ibis, pandas, statsmodels, scipy, papermill, nbconvert or altair.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import click

from .errors import ConfigError, SegworkshopError

DEMO_DATASETS = (
    "saas",
    "ecomm",
    "finserv",
)  # demo.DATASETS, spelt out so that the options need no import of the generator

# a library message's parameter, as Python spells it: `by=`, or with a value, `schema='ecomm'`
_PARAMETER = re.compile(r"`(\w+)=(?:'([^'`]*)')?`")


def as_options(message: str, command: click.Command | None) -> str:
    """``message`` with each library parameter that is an option of ``command`` written as that option:
    `by=` -> --by, `engine='duckdb:///w.duckdb'` -> --to duckdb:///w.duckdb. Others are left as they are."""
    if command is None:
        return message
    flags = {p.name: max(p.opts, key=len) for p in command.params if isinstance(p, click.Option) and p.name and p.opts}

    def option(m: re.Match[str]) -> str:
        flag = flags.get(m.group(1))
        if flag is None:
            return m.group(0)
        return flag if m.group(2) is None else f"{flag} {m.group(2)}"

    return _PARAMETER.sub(option, message)


class SegworkshopGroup(click.Group):
    """The command group, and the one place the project's errors are handled: a :class:`SegworkshopError` from any
    command becomes ``error: <message>`` on stderr (its parameters named as the command's options) and exit code
    2, without a traceback. Anything else (Ctrl-C, a bug) goes on to click and Python as before."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SegworkshopError as exc:
            name = ctx.invoked_subcommand
            command = self.get_command(ctx, name) if name else None
            from .masking import redact  # standard library only: every engine secret seen, kept out of stderr

            click.echo(f"error: {as_options(redact(str(exc)), command)}", err=True)
            sys.exit(2)


def _progress(message: str) -> None:
    click.echo(f"… {message}", err=True)


@click.group(cls=SegworkshopGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="segworkshop")
def main() -> None:
    """Segment your users as a team, on your own event data, in one working session."""


@main.command()
@click.argument("workshop", type=click.Path(path_type=Path), default="workshop.yaml")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def validate(workshop: Path, fmt: str) -> None:
    """Check that WORKSHOP's data (a workshop.yaml or its folder) is usable before the session.

    Exit code 0 when it is, 2 when something must be fixed first.
    """
    from .journal import Journal
    from .validate import validate as run_validation
    from .workshop import Workshop

    ws = Workshop.load(workshop)
    _progress(f"reading {ws.mapped.label}")
    report = run_validation(ws)
    skipped = Journal(ws.config.base_dir).skipped_note()  # a shared folder's leftovers in the journal, named
    if skipped:
        report.warn(skipped)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        click.echo(report.to_text())
    if not report.ok:
        sys.exit(2)


@main.command()
@click.option(
    "--kind", type=click.Choice([*DEMO_DATASETS, "all"]), default="all", show_default=True, help="Which demo dataset."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("segworkshop-demo"),
    show_default=True,
    help="Where the reports go: OUT/<kind>/index.html.",
)
@click.option("--no-report", is_flag=True, help="Only validate and print the baseline tables (seconds, not minutes).")
@click.option("--jobs", type=click.IntRange(min=1), default=2, show_default=True, help="Notebooks run in parallel.")
def demo(kind: str, out: Path, no_report: bool, jobs: int) -> None:
    """Run the kit on the bundled demo data: validate, print the baseline success table, and render the report
    of an example session (workshop/examples) for each dataset."""
    from .datasets import run_demo

    kinds = DEMO_DATASETS if kind == "all" else (kind,)
    out = out.resolve()
    failed = []
    for name in kinds:
        started = time.perf_counter()
        result = run_demo(
            name, None if no_report else out / name, jobs=jobs, progress=_progress, on_baseline=_print_baseline
        )
        if not result.validation.ok:
            click.echo(result.validation.to_text())
            sys.exit(2)
        if result.report is not None:
            click.echo(f"report: {result.report.out / 'index.html'}")
            failed += [f"{name}/{s.notebook}" for s in result.report.steps if not s.ok]
        _progress(f"{name}: done in {time.perf_counter() - started:.1f} s")
    if failed:
        click.echo(f"failed steps: {', '.join(failed)}", err=True)
        sys.exit(1)


def _print_baseline(result: Any) -> None:
    """What ``demo`` prints of a dataset (a :class:`~segworkshop.datasets.DemoRun`) before its report renders."""
    report, ws = result.validation, result.workshop
    b = report.baseline
    click.echo(f"\n=== {ws.config.title} ({result.path}) ===")
    click.echo(
        f"{report.rows:,} events, {report.users:,} users"
        + (f", {report.accounts:,} accounts" if report.accounts is not None else "")
        + f", {report.first:%Y-%m-%d} → {report.last:%Y-%m-%d}"
    )
    click.echo(f"Success: {b['definition']}")
    click.echo(f"Baseline: {b['successes']:,} of {b['units']:,} {ws.unit}s succeed ({b['rate']:.1%})\n")
    click.echo(_format_table(result.table))
    for finding in report.findings:
        click.echo(f"{finding.level}: {finding.message}")


@main.command()
@click.argument("workshop", type=click.Path(path_type=Path), default="workshop.yaml")
@click.option("--by", "by", multiple=True, help="A segment name from workshop.yaml or a trait column (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--no-strata", is_flag=True, help="Skip the Simpson's-paradox checks against the other segments.")
def compare(workshop: Path, by: tuple[str, ...], fmt: str, no_strata: bool) -> None:
    """Success rate per segment value vs the rest: intervals, lift, p and BH q-values."""
    from .compare import compare as run_compare
    from .workshop import Workshop

    result = run_compare(Workshop.load(workshop), list(by) or None, strata=not no_strata)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    elif fmt == "csv":
        click.echo(result.rows.to_csv(index=False), nl=False)
    else:
        b = result.baseline
        click.echo(f"Success: {result.success}")
        click.echo(f"Baseline: {b['successes']:,} of {b['units']:,} {result.unit}s ({b['rate']:.1%})")
        click.echo(f"q-values: Benjamini-Hochberg over all {result.comparisons} rows")
        notes = result.left_out_notes()
        if notes["too_recent_note"]:
            click.echo(f"left out: {notes['too_recent_note']}")
        for info in notes["succeeded_in_window"].values():
            click.echo(f"left out: {info['note']}")
        click.echo("")
        click.echo(_format_comparison(result.rows))
        behaviour = result.rows[result.rows.block == "behaviour"]
        if len(behaviour):
            click.echo("\nbehaviour rows compare success after their window, among units not yet successful then:")
            for r in behaviour.itertuples():
                click.echo(f"  {r.segment} = {r.value}: {r.compares}")
        for note in result.hygiene:
            click.echo(f"hygiene: {note}")


@main.command()
@click.argument("workshop", type=click.Path(path_type=Path), default="workshop.yaml")
@click.option("--by", default=None, help="A segment name or trait column.")
@click.option("--every", type=click.Choice(["week", "month"]), default="week", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
def trend(workshop: Path, by: str | None, every: str, fmt: str) -> None:
    """Success rate per week (or month) of first seen, per segment value, with intervals and counts."""
    from .compare import trend as run_trend
    from .workshop import Workshop

    df = run_trend(Workshop.load(workshop), by, every)
    if fmt == "json":
        click.echo(df.to_json(orient="records", indent=2))
    elif fmt == "csv":
        click.echo(df.to_csv(index=False), nl=False)
    else:
        for row in df.to_dict("records"):
            label = f"{row['value']:<20} " if by else ""
            flag = "" if row["complete"] else "  (window still open)"
            click.echo(
                f"{row['period']:<11} {label}{row['units']:>8,} {row['successes']:>8,} {row['rate']:>7.1%} "
                f"[{row['ci_low']:.1%}, {row['ci_high']:.1%}]{flag}"
            )


@main.command()
@click.argument("workshop", type=click.Path(path_type=Path), default="workshop.yaml")
@click.option("--max-rows", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def discover(workshop: Path, max_rows: int, fmt: str) -> None:
    """Scan every trait and behaviour for segments that succeed differently (BH-corrected, ranked)."""
    from .discover import discover as run_discover
    from .workshop import Workshop

    result = run_discover(Workshop.load(workshop))
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(max_rows), indent=2))
        return
    b = result.baseline
    click.echo(
        f"Baseline {b['rate']:.1%} of {b['units']:,}; {result.evaluated} candidate groups evaluated; q-values: "
        f"Benjamini-Hochberg over {result.family} (every pair that could have been picked counts); "
        "ranked by sqrt(n/N)·(rate − baseline)."
    )
    if result.population is not None and result.population.too_recent:
        click.echo(f"left out: {result.population.describe()}")
    click.echo("behaviours: measured in the first days, compared on later success among units not yet successful.\n")
    click.echo(f"{'kind':<10} {'segment':<34} {'value':<24} {'units':>8} {'rate':>7} {'lift':>8} {'q':>9}")
    for r in result.rows.head(max_rows).to_dict("records"):
        click.echo(
            f"{r['kind']:<10} {r['segment'][:34]:<34} {str(r['value'])[:24]:<24} {r['units']:>8,} "
            f"{r['rate']:>7.1%} {_signed(r['lift']):>8} {_pq(r['q_value']):>9}"
        )
    for name, tp in result.tipping.items():
        click.echo(f"tipping point, {name}: {tp.describe()}")
    for event, why in result.excluded_events.items():
        click.echo(f"not scanned: {event} ({why})")


@main.command()
@click.argument("workshop", type=click.Path(path_type=Path), default="workshop.yaml")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
def hypotheses(workshop: Path, fmt: str) -> None:
    """The session's hypotheses from the journal, with their numbers and verdicts, as the report shows them.

    q-values as in the report: Benjamini-Hochberg over every comparison of the session (the ledger: dashboard,
    hypotheses, exploration, discover, tipping points, unsuccessful users); groups under the privacy threshold
    are hidden.
    """
    from .compare import json_rows
    from .hypotheses import SHOWN, family_text, shareable
    from .session import Session

    session = Session(workshop)
    entered = session.hypotheses()
    if not entered:
        message = f"No hypotheses in the journal yet ({session.journal.root}): add them in step 04_hypotheses."
        if fmt == "json":
            click.echo(json.dumps({"family": 0, "rows": []}, indent=2))
        elif fmt == "csv":
            click.echo(",".join([*SHOWN, "hidden"]))
        click.echo(message, err=fmt != "table")
        return
    df = session.check_hypotheses()
    shown = shareable(df)
    a = shown.attrs
    if fmt == "json":
        header = {k: a[k] for k in ("family", "correction", "alpha", "privacy_min_units")}
        click.echo(json.dumps({**header, "rows": json_rows(shown, list(SHOWN))}, indent=2))
    elif fmt == "csv":
        click.echo(shown.to_csv(index=False), nl=False)
    else:
        click.echo(
            f"{a['hypotheses']} hypotheses; {family_text(a)}; groups under {a['privacy_min_units']} units hidden.\n"
        )
        click.echo(_format_hypotheses(shown))


@main.command("sample-size")
@click.option("--baseline", type=float, required=True, help="Current success rate, e.g. 0.2.")
@click.option("--target", type=float, default=None, help="Rate to detect, e.g. 0.25.")
@click.option("--mde", type=float, default=None, help="Absolute effect to detect, e.g. 0.05 (5 points).")
@click.option("--lift", type=float, default=None, help="Relative effect to detect, e.g. 0.25 (+25%).")
@click.option("--alpha", type=float, default=0.05, show_default=True)
@click.option("--power", type=float, default=0.8, show_default=True)
@click.option("--weekly-units", type=float, default=None, help="Eligible units per week (for the duration).")
@click.option("--share", type=float, default=1.0, show_default=True, help="Share of traffic in the experiment.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def sample_size(baseline, target, mde, lift, alpha, power, weekly_units, share, fmt) -> None:
    """Units per group and weeks of traffic for an A/B test (two-sided, pooled two-proportion formula)."""
    from . import stats

    try:
        plan = stats.plan_experiment(
            baseline,
            target=target,
            mde=mde,
            lift=lift,
            alpha=alpha,
            power=power,
            weekly_units=weekly_units,
            share=share,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if fmt == "json":
        click.echo(json.dumps(plan.to_dict(), indent=2))
        return
    click.echo(
        f"{plan.per_group:,} units per group ({plan.total:,} in all) to detect {plan.baseline:.2%} → "
        f"{plan.target:.2%} ({plan.relative_effect:+.1%}) at alpha {alpha}, power {power}."
    )
    if plan.days is not None:
        click.echo(
            f"At {weekly_units:,.0f} eligible units a week with {share:.0%} in the test: {plan.days} days "
            f"({plan.weeks} weeks). Assumes each week brings new units; returning units make it longer."
        )


@main.command("run")
@click.argument("workshop", type=click.Path(path_type=Path), default="workshop.yaml")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Report folder (default: reports/<date>_<time> next to workshop.yaml).",
)
@click.option("--only", multiple=True, help="Run only these steps (number or name part, repeatable).")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Kernels running the notebooks in parallel (the eComm example: 27 s with 1, 19 s with 2 on two cores).",
)
def run_report(workshop: Path, out: Path | None, only: tuple[str, ...], jobs: int) -> None:
    """Run every step notebook headless and render the HTML report (index.html + a page per step).

    Exit code 1 when a step failed or the data could not be read (index.html is still written and says why).
    """
    from .report import run

    result = run(workshop, out, only=list(only) or None, jobs=jobs, progress=_progress)
    click.echo(f"report: {result.out / 'index.html'}")
    if not result.ok:
        failed = ", ".join(s.notebook for s in result.steps if not s.ok)
        if failed:
            click.echo(f"failed steps: {failed}", err=True)
        if result.data_error:
            click.echo(f"the data could not be analysed: {result.data_error}", err=True)
        sys.exit(1)


@main.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option(
    "--events", type=click.Path(path_type=Path), required=True, help="The event export (file, glob or folder)."
)
@click.option("--users", type=click.Path(path_type=Path), default=None, help="Optional users table (user_id + traits).")
@click.option(
    "--preset",
    type=click.Choice(["heap", "amplitude", "mixpanel", "posthog", "ga4", "segment"]),
    default=None,
    help="The export's vendor layout.",
)
def init(folder: Path, events: Path, users: Path | None, preset: str | None) -> None:
    """Create a workshop FOLDER: workshop.yaml filled in from the data, and the step notebooks."""
    from .scaffold import init as scaffold

    target = scaffold(folder, events, preset=preset, users=users)
    click.echo(target.read_text().split("title:")[0].replace("# ", ""), nl=False)
    click.echo(f"wrote {target} and {target.parent / 'notebooks'}/")
    click.echo(f"next: segworkshop validate {target}  then  segworkshop lab {target.parent}")


@main.command()
@click.argument("folder", type=click.Path(path_type=Path), default=".")
@click.option("--host", default=None, help="Where JupyterLab listens (its default: this machine only).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Its port (default 8888).")
def lab(folder: Path, host: str | None, port: int | None) -> None:
    """Open a workshop folder in JupyterLab (needs the `lab` extra: pip install 'segworkshop[lab]'). As root
    (a container or a VM) it passes JupyterLab's --allow-root itself."""
    from .lab import open_lab

    sys.exit(open_lab(folder, host, port))


@main.command()
@click.argument("workshop", type=click.Path(path_type=Path), default=".")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Where to listen. 127.0.0.1 is this machine only; 0.0.0.0 shares the room on the network (the links keep "
    "their tokens).",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8866, show_default=True)
def serve(workshop: Path, host: str, port: int) -> None:
    """Serve the room: participants join WORKSHOP's session from their browsers (the join link and QR code are
    printed), the facilitator runs the board; everything goes to the workshop's journal."""
    from .room.app import qr_terminal
    from .room.app import serve as run_room

    folder = workshop.parent if workshop.name == "workshop.yaml" else workshop
    if not (folder / "workshop.yaml").exists():
        raise ConfigError(f"{folder} has no workshop.yaml: pass a workshop folder (segworkshop init makes one).")

    def announce(server) -> None:
        click.echo(f"Room of {folder.resolve()}")
        click.echo(f"  participants join: {server.join_link}")
        click.echo(qr_terminal(server.join_link))
        click.echo(f"  facilitator board (keep it to yourself): {server.board_link}")
        if host not in ("127.0.0.1", "localhost", "::1"):
            click.echo(
                f"  listening on {host}: anyone on this network with the link can join. For a remote session, put "
                "it behind your reverse proxy with TLS (README: Running the room)."
            )
        click.echo("  stop with Ctrl-C")

    run_room(folder, host=host, port=port, announce=announce)


@main.command("demo-data")
@click.option("--kind", type=click.Choice(DEMO_DATASETS), required=True, help="Which dataset to generate.")
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
def demo_data(kind: str, units: int | None, seed: int, out: Path | None) -> None:
    """Generate a demo dataset (Parquet + workshop.yaml), e.g. 1M users for a benchmark."""
    from .datasets import write_demo_data

    started = time.perf_counter()
    data = write_demo_data(kind, out, units, seed=seed, progress=_progress)
    click.echo(f"wrote {data.path} ({data.units:,} units, seed {seed}) in {time.perf_counter() - started:.1f} s")


@main.command()
@click.argument("workshop", type=click.Path(path_type=Path), default=".")
@click.option("--to", "engine", required=True, help="The engine, as `engine:` takes it: a URL (secrets as ${VAR}).")
@click.option("--schema", default=None, help="Schema for the tables (default: the workshop folder's name).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for the new workshop.yaml.")
def upload(workshop: Path, engine: str, schema: str | None, out: Path) -> None:
    """Copy WORKSHOP's data files into an engine as tables, and write a workshop.yaml that reads them there.

    E.g. try the demo on PostgreSQL: segworkshop upload workshop/examples/ecomm --to
    'postgres://analyst:${PG_PASSWORD}@localhost/analytics' --out pg-ecomm
    """
    from .upload import upload as copy_data
    from .upload import uploaded_tables

    started = time.perf_counter()
    written = copy_data(workshop, engine, schema, out)
    tables = ", ".join(uploaded_tables(written))
    click.echo(f"uploaded {tables} in {time.perf_counter() - started:.1f} s; wrote {written}")
    click.echo(f"next: segworkshop validate {written.parent}  then  segworkshop run {written.parent}")


def _signed(v: Any) -> str:
    """A relative lift as text: "+12.5%", "∞" when the comparison group has no successes, "—" when undefined."""
    import math

    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return "∞" if math.isinf(v) and v > 0 else ("-∞" if math.isinf(v) else f"{v:+.1%}")


def _pq(v: Any) -> str:
    """A p- or q-value: "< 1e-15" below what the tests resolve (never "0"), "—" when undefined."""
    import math

    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return "< 1e-15" if v < 1e-15 else f"{v:.2g}"


def _format_comparison(df: Any) -> str:
    lines = [f"{'segment':<16} {'value':<18} {'units':>8} {'rate':>7} {'95% CI':>15} {'lift':>7} {'p':>9} {'q':>9}"]
    for r in df.to_dict("records"):
        flag = " (small)" if r["small"] else (" (few units)" if r["unreliable"] else "")
        interval = f"[{r['ci_low']:.1%}, {r['ci_high']:.1%}]"
        lines.append(
            f"{r['segment']:<16} {r['value']!s:<18} {r['units']:>8,} {r['rate']:>7.1%} {interval:>15} "
            f"{_signed(r['lift']):>7} {_pq(r['p_value']):>9} {_pq(r['q_value']):>9}{flag}"
        )
        if r.get("strata"):
            lines.append(f"{'':<16} ↳ {r['strata']}")
    return "\n".join(lines)


def _format_hypotheses(df: Any) -> str:
    from .hypotheses import level_text

    def pct(v: Any, signed: bool = False) -> str:
        if v != v:  # nan: hidden or undefined
            return "—"
        if abs(v) == float("inf"):
            return "unbounded"
        return f"{v:+.1%}" if signed else f"{v:.1%}"

    how = {"more": "more", "less": "less", "different": "differently"}
    blocks = []
    for i, r in enumerate(df.to_dict("records"), 1):
        who = f"{r['author']}: " if r["author"] else ""
        said = f' "{r["text"]}"' if r["text"] else ""
        lines = [f"{i}. {who}{r['segment']} = {r['value']} succeed {how[r['direction']]} than {r['versus']}{said}"]
        if not r["hidden"]:
            units = "hidden" if r["units_a"] is None else f"{r['units_a']:,} vs {r['units_b']:,}"
            q = "< 0.0001" if r["q_value"] < 1e-4 else f"{r['q_value']:.2g}"
            lines.append(
                f"   units {units} · rate {pct(r['rate_a'])} vs {pct(r['rate_b'])} · lift {pct(r['lift'], True)} "
                f"[{pct(r['lift_ci_low'], True)}, {pct(r['lift_ci_high'], True)}] ({level_text(r['ci_level'])}) · q {q}"
            )
        lines.append(f"   verdict: {r['verdict']}")
        lines.append(f"   why: {r['explanation']}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _format_table(df: Any) -> str:
    lines = [f"{'segment':<18} {'value':<22} {'units':>9} {'successes':>10} {'rate':>7}"]
    for row in df.itertuples():
        lines.append(f"{row.segment:<18} {row.value!s:<22} {row.units:>9,} {row.successes:>10,} {row.rate:>7.1%}")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    main()
