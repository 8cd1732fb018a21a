"""Bad input gets a clear error, never a lie (issue 17): a corpus of broken workshops, each run through the
command line. For every case: the exit code, the words that name the file / column / field and the fix, no
traceback, and where numbers are printed, the right ones (40 users, 14 of whom purchase)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from segworkshop.cli import main

YAML = (
    "data:\n  events: events.csv\n  columns: {user_id: customer, event: what, timestamp: ts}\n"
    "  observed_until: 2026-04-30\n"
    "success: {event: purchase, within_days: 14}\nsegments: [plan]\n"
)
NO_IDS = ["NULL", "None", "NaN", "null", " ", "\u00a0", "\u200b", "nan ", "\u00a0NULL\u200b"]


def events(users: int = 40) -> pd.DataFrame:
    """40 users visit; every third purchases the next day: 14 of 40 succeed."""
    rows = []
    for u in range(users):
        day = 1 + u % 20
        plan = "a" if u % 2 else "b"
        rows.append({"customer": f"c{u}", "what": "visit", "ts": f"2026-03-{day:02d}T10:00:00Z", "plan": plan})
        if u % 3 == 0:
            rows.append(
                {"customer": f"c{u}", "what": "purchase", "ts": f"2026-03-{day + 1:02d}T10:00:00Z", "plan": plan}
            )
    return pd.DataFrame(rows)


def csv_lines() -> list[str]:
    return events().to_csv(index=False).splitlines()


def write(folder: Path, df: pd.DataFrame | None = None, yaml: str = YAML, text: str | bytes | None = None) -> None:
    if text is not None:
        (folder / "events.csv").write_bytes(text if isinstance(text, bytes) else text.encode())
    else:
        (events() if df is None else df).to_csv(folder / "events.csv", index=False)
    (folder / "workshop.yaml").write_text(yaml, encoding="utf-8")


# --------------------------------------------------------------------------- the builders, one per input


def epoch(unit: str) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        df = events()
        df["ts"] = [int(pd.Timestamp(x).timestamp()) for x in df.ts]
        write(folder, df, YAML.replace("  observed_until", f"  time_unit: {unit}\n  observed_until"))

    return build


def placeholder_ids(folder: Path) -> None:
    extra = [
        {"customer": x, "what": w, "ts": "2026-03-05T10:00:00Z", "plan": "a"}
        for x in NO_IDS
        for w in ("visit", "purchase")
    ]
    write(folder, pd.concat([events(), pd.DataFrame(extra)], ignore_index=True))


def placeholder_ids_parquet(folder: Path) -> None:  # text ids never parsed by a CSV reader: every string kept
    extra = [{"customer": x, "what": "purchase", "ts": "2026-03-05T10:00:00Z", "plan": "a"} for x in [*NO_IDS, ""]]
    pd.concat([events(), pd.DataFrame(extra)], ignore_index=True).to_parquet(folder / "events.parquet")
    (folder / "workshop.yaml").write_text(YAML.replace("events.csv", "events.parquet"))


def yaml_only(yaml: str | bytes) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        write(folder)
        path = folder / "workshop.yaml"
        path.write_bytes(yaml if isinstance(yaml, bytes) else yaml.encode())

    return build


def times_set(times: dict[int, str]) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        df = events()
        for row, value in times.items():
            df.loc[row, "ts"] = value
        write(folder, df)

    return build


def text_file(text: str | bytes, yaml: str = YAML) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        write(folder, text=text, yaml=yaml)

    return build


def with_line(line: str | bytes, at: int = 10) -> bytes:
    lines = [ln.encode() for ln in csv_lines()]
    lines.insert(at, line if isinstance(line, bytes) else line.encode())
    return b"\n".join(lines) + b"\n"


CSV_OPTIONS = YAML.replace("events: events.csv", "events: {path: events.csv, csv: {ignore_errors: true}}")


def tz_parquet(folder: Path) -> None:
    df = events()
    df["ts"] = pd.to_datetime(df.ts, utc=True).astype("datetime64[ns, UTC]")  # what pandas writes by default
    df.to_parquet(folder / "events.parquet")
    (folder / "workshop.yaml").write_text(YAML.replace("events.csv", "events.parquet"))


def id_like_trait(folder: Path) -> None:
    df = events(3000)
    df["email"] = df.customer + "@example.com"
    write(folder, df, YAML.replace("segments: [plan]", "segments: [email]"))


def billion_laughs(where: str) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        levels = ["&l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        levels += [f"&l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
        if where == "participants":
            bomb = "participants:\n" + "".join(f"  - {level}\n" for level in levels)
        else:
            bomb = "x-anchors:\n" + "".join(f"  - {level}\n" for level in levels[:-1]) + f"title: {levels[-1]}\n"
        write(folder, yaml=YAML + bomb)

    return build


def duplicate_users(folder: Path) -> None:
    write(
        folder,
        yaml=YAML.replace("  observed_until", "  users: {path: users.csv, columns: {user_id: id}}\n  observed_until"),
    )
    users = pd.DataFrame({"id": [f"c{u}" for u in range(40)] * 2, "tier": ["x", "y"] * 40})
    users.to_csv(folder / "users.csv", index=False)


def missing_dir(folder: Path) -> None:
    write(folder, yaml=YAML + "engine: {backend: duckdb, database: missing/dir/x.duckdb}\n")


# --------------------------------------------------------------------------- the corpus


@dataclass
class Case:
    build: Callable[[Path], None]
    command: str  # validate | compare | discover
    code: int  # expected exit code: 2 for data and config errors (cli.SegworkshopGroup)
    says: list[str]  # what the output must name: file, column / field, fix
    never: list[str] = field(default_factory=list)  # wrong numbers, lies
    seconds: float | None = None


CASES: dict[str, Case] = {
    # 1. an epoch unit that does not fit the numbers
    "epoch seconds read as ns": Case(
        epoch("ns"), "validate", 2, ["events.csv", "'ts'", "time_unit: ns", "1970-01-01", "`data.time_unit: s`"]
    ),
    "epoch seconds read as ms": Case(epoch("ms"), "validate", 2, ["'ts'", "time_unit: ms", "`data.time_unit: s`"]),
    "epoch seconds read as s (holds)": Case(epoch("s"), "validate", 0, ["14 of 40 users (35.0%)"]),
    # 2. text that says "no id" is no id, everywhere ids are read
    "placeholder user ids (validate)": Case(
        placeholder_ids, "validate", 0, ["from 40 users", "14 of 40 users (35.0%)", "no user id", "'customer'"]
    ),
    "placeholder user ids (compare)": Case(
        placeholder_ids, "compare", 0, ["14 of 40 users (35.0%)"], [f"of {n}" for n in range(41, 60)]
    ),
    "placeholder user ids (parquet)": Case(
        placeholder_ids_parquet, "validate", 0, ["from 40 users", "14 of 40 users (35.0%)", "blank or a placeholder"]
    ),
    # 3. two fields on one column
    "user_id and event on one column": Case(
        yaml_only(YAML.replace("user_id: customer", "user_id: what")),
        "validate",
        2,
        ["`user_id`", "`event`", "'what'", "events.csv", "data.columns"],
    ),
    "timestamp default on the event column": Case(
        yaml_only(YAML.replace("timestamp: ts", "timestamp: what")),
        "validate",
        2,
        ["`event`", "`timestamp`", "'what'"],
    ),
    # 4. validate parses segments; compare refuses what validate refuses
    "segments: bins not increasing": Case(
        yaml_only(YAML.replace("[plan]", "[plan, {name: b, column: plan, bins: [3, 1]}]")),
        "validate",
        2,
        ["segments[1]", "bins", "strictly increasing"],
    ),
    "segments: no such column": Case(
        yaml_only(YAML.replace("[plan]", "[plann]")), "validate", 2, ["'plann'", "Did you mean 'plan'"]
    ),
    "segments: behaviour on an absent event": Case(
        yaml_only(YAML.replace("[plan]", "[{name: s, did: nosuch, within_days: 3}]")),
        "validate",
        2,
        ["'nosuch'", "never occurs"],
    ),
    "segments: mixed kinds": Case(
        yaml_only(YAML.replace("[plan]", "[{name: s, did: visit, column: plan}]")),
        "validate",
        2,
        ["segments[0]", "did segment"],
    ),
    "compare: absent success event": Case(
        yaml_only(YAML.replace("event: purchase", "event: purchse")),
        "compare",
        2,
        ["'purchse'", "never occurs", "Did you mean 'purchase'", "success:"],
        ["nan"],
    ),
    "compare: zero successes": Case(
        yaml_only(YAML.replace("event: purchase", "event: purchase, where: {plan: zzz}")),
        "compare",
        2,
        ["0 of 40", "nothing to compare", "where:"],
        ["nan"],
    ),
    "discover: zero successes": Case(
        yaml_only(YAML.replace("event: purchase", "event: purchase, where: {plan: zzz}")),
        "discover",
        2,
        ["0 of 40"],
        ["nan"],
    ),
    # 5. tracebacks become errors
    "year 9999": Case(
        times_set({0: "9999-12-31T23:59:59Z", 1: "9999-12-31"}),
        "validate",
        2,
        ["'ts'", "9999-12-31", "do not parse", "before 1900"],
    ),
    "year 9999 (compare)": Case(
        times_set({5: "9999-12-31"}),
        "compare",
        0,
        ["rows"],
        ["9999"],
    ),
    "before year 1": Case(
        times_set({0: "0000-01-01T00:00:00Z", 1: "-0001-05-01"}),
        "validate",
        2,
        ["'ts'", "(BC)", "do not parse"],
    ),
    "header-only CSV (discover)": Case(
        text_file("customer,what,ts,plan\n"), "discover", 2, ["events.csv", "header", "no rows"]
    ),
    "header-only CSV (validate)": Case(text_file("customer,what,ts,plan\n"), "validate", 2, ["events.csv", "no rows"]),
    "empty file": Case(text_file(""), "validate", 2, ["events.csv", "is empty (0 bytes)"]),
    "binary bytes in workshop.yaml": Case(
        yaml_only(YAML.encode() + b"title: \xff\xfe\x00\x01\n"), "validate", 2, ["workshop.yaml", "not UTF-8", "line 7"]
    ),
    "NUL bytes in workshop.yaml": Case(
        yaml_only(YAML + "title: a\x00b\n"), "validate", 2, ["workshop.yaml", "not valid YAML"]
    ),
    "within_days: 1e300": Case(
        yaml_only(YAML.replace("within_days: 14", "within_days: 1.0e+300")),
        "validate",
        2,
        ["success.within_days", "36,525"],
    ),
    "within_days: 1e300 on a segment": Case(
        yaml_only(YAML.replace("[plan]", "[{name: s, did: visit, within_days: 1.0e+300}]")),
        "validate",
        2,
        ["within_days", "36,525"],
    ),
    "engine.threads injection": Case(
        yaml_only(YAML + 'engine: {backend: duckdb, threads: "2; DROP TABLE x"}\n'),
        "validate",
        2,
        ["engine.threads", "whole number", "threads: 2"],
    ),
    "engine.threads: 0": Case(
        yaml_only(YAML + "engine: {backend: duckdb, threads: 0}\n"), "validate", 2, ["engine.threads"]
    ),
    "CSV row with a field too many": Case(
        text_file(with_line("c1,visit,2026-03-01T10:00:00Z,a,extra")),
        "validate",
        2,
        ["events.csv", "single column", 'csv: {delim: ",", ignore_errors: true}'],
    ),
    "CSV row with a field too many, skipped": Case(
        text_file(with_line("c1,visit,2026-03-01T10:00:00Z,a,extra"), CSV_OPTIONS),
        "validate",
        0,
        ["1 row(s)", "skipped", "line 11", "14 of 40 users (35.0%)"],
    ),
    "CSV not UTF-8": Case(
        text_file(with_line(b"c\xff\xfe1,visit,2026-03-01T10:00:00Z,a")),
        "validate",
        2,
        ["events.csv", "Line: 11", "not utf-8 encoded", "encoding", "ignore_errors: true"],
        ["Possible Solution"],
    ),
    "CSV not UTF-8, skipped": Case(
        text_file(with_line(b"c\xff\xfe1,visit,2026-03-01T10:00:00Z,a"), CSV_OPTIONS),
        "validate",
        0,
        ["1 row(s)", "skipped", "invalid encoding", "14 of 40 users (35.0%)"],
    ),
    "CSV row with a broken quote": Case(
        text_file(with_line('c1,"visit,2026-03-01T10:00:00Z,a')),
        "validate",
        0,
        ["unbalanced quote", "column 'what'", "'\"visit'", "first on line 11", "events.csv", "repair the quote"],
    ),
    "CSV line too long": Case(
        text_file(with_line("c1,visit,2026-03-01T10:00:00Z," + "x" * 2_100_000)),
        "validate",
        2,
        ["events.csv", "Maximum line size", "max_line_size"],
    ),
    "CSV option unknown": Case(
        yaml_only(CSV_OPTIONS.replace("ignore_errors", "ignore_error")),
        "validate",
        2,
        ["data.events.csv.ignore_error", "Did you mean"],
    ),
    "missing DuckDB folder": Case(missing_dir, "validate", 2, ["engine.database", "missing/dir", "does not exist"]),
    # 6. tz-aware nanosecond Parquet
    "tz-aware ns Parquet": Case(tz_parquet, "validate", 0, ["from 40 users", "14 of 40 users (35.0%)"]),
    "tz-aware ns Parquet (compare)": Case(tz_parquet, "compare", 0, ["14 of 40 users (35.0%)"]),
    # 7. refused up front, and bounded
    "id-like trait as a segment": Case(
        id_like_trait, "compare", 2, ["'email'", "3,000 values", "looks like an id"], seconds=60
    ),
    "id-like trait as a segment (validate)": Case(id_like_trait, "validate", 2, ["'email'", "looks like an id"]),
    "billion laughs in participants": Case(
        billion_laughs("participants"), "validate", 2, ["workshop.yaml", "expands to more than"], seconds=30
    ),
    "billion laughs in title": Case(billion_laughs("title"), "validate", 2, ["workshop.yaml", "aliases"], seconds=30),
    # held today: they stay held
    "duplicate users-table ids": Case(
        duplicate_users, "validate", 2, ["users.csv", "more than one row", "one row per user_id"]
    ),
    "no such column": Case(
        yaml_only(YAML.replace("user_id: customer", "user_id: custmer")),
        "validate",
        2,
        ["'custmer'", "Did you mean 'customer'"],
    ),
    "no such file": Case(
        yaml_only(YAML.replace("events: events.csv", "events: evnts.csv")), "validate", 2, ["evnts.csv", "no such file"]
    ),
    "invalid YAML": Case(yaml_only("data: [\n"), "validate", 2, ["workshop.yaml", "not valid YAML"]),
    "unknown key": Case(yaml_only(YAML + "segmnts: [x]\n"), "validate", 2, ["segmnts", "Did you mean 'segments'"]),
    "no window in compare": Case(
        yaml_only(YAML.replace(", within_days: 14", "")), "compare", 2, ["within_days"], ["nan"]
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_a_clear_error(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES[name]
    monkeypatch.chdir(tmp_path)
    case.build(tmp_path)
    started = time.perf_counter()
    result = CliRunner().invoke(main, [case.command, str(tmp_path / "workshop.yaml")])
    elapsed = time.perf_counter() - started
    output = result.output
    assert "Traceback" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == case.code, output
    for text in case.says:
        assert text in output, f"{text!r} not in:\n{output}"
    for text in case.never:
        assert text not in output, f"{text!r} in:\n{output}"
    if case.seconds is not None:
        assert elapsed < case.seconds, f"{elapsed:.1f} s"


def test_placeholder_ids_are_missing_in_every_count(tmp_path: Path) -> None:
    """The ids that say "no id" are left out of the unit table (and so of every number), as validate says."""
    from segworkshop import Workshop

    placeholder_ids(tmp_path)
    ws = Workshop.load(tmp_path)
    assert ws.baseline()["units"] == 40
    units = ws.unit_table(traits=[]).to_pandas()
    assert len(units) == 40 and not set(units.unit_id) & set(NO_IDS)


def test_placeholder_ids_found_by_value_are_the_ones_each_row_check_finds(tmp_path: Path, monkeypatch) -> None:
    """Placeholder ids are looked up once among an id column's distinct values (sources.placeholder_ids) and
    matched by value; a column with more spellings than that lookup keeps falls back to checking each row. Both
    leave out exactly the ids sources.missing_id calls missing."""
    import ibis

    from segworkshop import Workshop, sources

    placeholder_ids_parquet(tmp_path)
    raw = pd.read_parquet(tmp_path / "events.parquet")
    table = ibis.memtable(raw)
    by_row = table.filter(sources.missing_id(table.customer)).customer.to_pandas()
    expected = sorted(set(by_row.dropna()))
    assert expected and sources.placeholder_ids(table, {"user_id": table.customer}) == {"user_id": expected}
    counted = Workshop.load(tmp_path).unit_table(traits=[]).to_pandas()
    monkeypatch.setattr(sources, "MAX_PLACEHOLDERS", len(expected) - 1)  # too many to look up: each row checked
    assert sources.placeholder_ids(table, {"user_id": table.customer}) == {}
    checked = Workshop.load(tmp_path).unit_table(traits=[]).to_pandas()
    assert sorted(counted.unit_id) == sorted(checked.unit_id) and len(counted) == 40


@pytest.mark.parametrize("command", ["validate", "compare"])
def test_a_malformed_row_past_the_readers_sample_is_a_clear_error(tmp_path: Path, command: str) -> None:
    """The CSV reader checks the rows of its sample (about 20,000) when it opens a file; a broken row further
    down is found at open too (one count parses the whole file), named with its line and the fix — not a
    traceback from the first query that reaches it. With `csv: {ignore_errors: true}` the row is counted once."""
    rows = 30_000
    frame = pd.DataFrame(
        {
            "customer": [f"u{i % 900}" for i in range(rows)],
            "what": ["purchase" if i % 7 == 0 else "visit" for i in range(rows)],
            "ts": pd.Timestamp("2026-03-01") + pd.to_timedelta(pd.RangeIndex(rows) * 60, unit="s"),
            "plan": ["a" if i % 2 else "b" for i in range(rows)],
        }
    )
    frame["ts"] = frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    frame.to_csv(tmp_path / "events.csv", index=False)
    lines = (tmp_path / "events.csv").read_text().splitlines(keepends=True)
    lines[25_000] = lines[25_000].rstrip("\n") + ",one,two\n"  # file line 25,001: two fields too many
    (tmp_path / "events.csv").write_text("".join(lines))
    (tmp_path / "workshop.yaml").write_text(YAML)
    result = CliRunner().invoke(main, [command, str(tmp_path / "workshop.yaml")])
    assert "Traceback" not in result.output and result.exit_code == 2, result.output
    for text in ("events.csv", "Line: 25001", "ignore_errors: true"):
        assert text in result.output, result.output
    assert "strict_mode" not in result.output  # DuckDB's own suggestions name options the kit cannot pass
    (tmp_path / "workshop.yaml").write_text(
        YAML.replace("events: events.csv", "events: {path: events.csv, csv: {ignore_errors: true}}")
    )
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "workshop.yaml")])
    assert "Traceback" not in result.output and "1 row(s)" in result.output and "line 25001" in result.output


def test_missing_id_is_its_definition_on_awkward_ids() -> None:
    """sources.missing_id (cheap tests first, the exact one only on ids with an unusual first or last character)
    calls missing exactly the ids its definition does: stripped of blanks, a placeholder word in any case."""
    import ibis

    from segworkshop import sources

    awkward = [
        *NO_IDS, "", "Undefined", "N/A", "(NULL)", "<Null>", "nil", "NIL", "\tnone\n", "\u3000nan\u3000",
        "\ufeffnull", "null\u2060", "\u202fNone", "nullx", "xnull", "nul", "u000123", "123", "é", "élan",
        "null\u00e9", "\u00a0u1\u00a0", "none of these", "n/a ok", " (null) ", "undefined\u200d", "日本",
        "a" * 40, " " * 12, "\u00a0" * 3, "\x7fnull", None,
    ]  # fmt: skip
    table = ibis.memtable(pd.DataFrame({"v": pd.Series(awkward, dtype="object")}))
    by_definition = table.v.isnull() | sources.id_text(table.v).lower().isin(list(sources.NO_ID))
    got = table.select(v=table.v, fast=sources.missing_id(table.v), exact=by_definition).to_pandas()
    wrong = got[got.fast.astype(bool) != got.exact.astype(bool)]
    assert wrong.empty, wrong
    assert got.exact.astype(bool).sum() >= 20  # the list does hold placeholders to find


def test_unit_table_drops_placeholder_ids_without_looking_them_up(tmp_path: Path) -> None:
    """The unit table groups the events by their ids as exported and drops the units whose id says "no id"
    after the grouping: the same units as from the events with those ids made null, and the lookup of the
    ids' placeholder spellings (a grouping of every event) is never run for it, nor for compare."""
    from segworkshop import Workshop
    from segworkshop.compare import compare
    from segworkshop.unit_table import build_unit_table

    placeholder_ids_parquet(tmp_path)
    ws = Workshop.load(tmp_path)
    units = ws.unit_table(traits=["plan"]).to_pandas().sort_values("unit_id", ignore_index=True)
    result = compare(ws, ["plan"], strata=False)
    assert ws.mapped.placeholders is None  # never looked up
    checked = build_unit_table(ws.unit_events, ws.config.success, event_traits=["plan"]).to_pandas()
    assert ws.mapped.placeholders is not None  # reading the ids from ws.events looks them up, once
    checked = checked.sort_values("unit_id", ignore_index=True)
    assert len(units) == 40 and not set(units.unit_id) & {*NO_IDS, ""}
    pd.testing.assert_frame_equal(units[checked.columns], checked)
    assert int(result.rows.units.sum()) == result.baseline["units"] <= 40
