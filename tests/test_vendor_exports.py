"""Six vendors' exports of one known population, read with only ``preset:`` set: people, successes, by plan.

The population and its truth come from ``vendor_exports.py`` (plain pandas, never segworkshop). Each vendor's
files are written as the vendor delivers them (its docstrings cite the docs), and a workshop pointed at the file
or folder must count the same people and successes as the truth, and split them by plan the same way:

* people: one unit per person, their anonymous events stitched to their logged-in ones (identity stitching);
* successes: a purchase at most 14 days after the person's first event, anonymous events included;
* by plan: the plan from where the vendor keeps it (nested user properties, JSON text, GA4's key/value arrays,
  Segment identify traits, Heap's users table); people who never logged in are ``(missing)``.
"""

from __future__ import annotations

import gzip
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import vendor_exports as vx

from segworkshop import DataError, Workshop
from segworkshop.compare import compare
from segworkshop.segments import MISSING
from segworkshop.validate import validate

VENDORS = list(vx.WRITERS)


@pytest.fixture(scope="module")
def pop() -> vx.Population:
    return vx.population()


@pytest.fixture(scope="module")
def expected(pop: vx.Population) -> dict[str, Any]:
    return vx.truth(pop)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory, pop: vx.Population):
    """``export(vendor, **variant)``: the workshop mapping of that vendor's files (written once per module)."""
    root = tmp_path_factory.mktemp("vendors")
    written: dict[tuple, dict[str, Any]] = {}

    def get(vendor: str, **variant: Any) -> dict[str, Any]:
        key = (vendor, *sorted(variant.items()))
        if key not in written:
            folder = root / "-".join([vendor, *(f"{k}_{v}" for k, v in sorted(variant.items()))])
            written[key] = vx.WRITERS[vendor](pop, folder, **variant)
        return written[key]

    return get


def plan_split(expected: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {MISSING if k is None else k: (v["units"], v["successes"]) for k, v in expected["by_plan"].items()}


def counted(ws: Workshop) -> tuple[int, int, int]:
    base = ws.baseline()
    return base["units"], base["successes"], base["too_recent"]


def split(ws: Workshop) -> dict[str, tuple[int, int]]:
    rows = compare(ws).rows
    return {str(r.value): (int(r.units), int(r.successes)) for r in rows.itertuples(index=False)}


def assert_same_numbers(mapping: dict[str, Any], expected: dict[str, Any]) -> None:
    ws = Workshop.from_dict(mapping)
    assert counted(ws) == (expected["units"], expected["successes"], 0)
    assert split(ws) == plan_split(expected)


# --------------------------------------------------------------------------- each vendor, as delivered


@pytest.mark.parametrize("vendor", VENDORS)
def test_baseline_counts_the_people_and_their_successes(vendor: str, export, expected) -> None:
    """units = people (not devices or ids), successes = purchases within 14 days of the first event."""
    ws = Workshop.from_dict(export(vendor))
    assert counted(ws) == (expected["units"], expected["successes"], 0)


@pytest.mark.parametrize("vendor", VENDORS)
def test_compare_splits_the_people_by_plan(vendor: str, export, expected) -> None:
    """One row per plan (and (missing) for the never-logged-in), each with the truth's units and successes."""
    ws = Workshop.from_dict(export(vendor))
    assert split(ws) == plan_split(expected)


# --------------------------------------------------------------------------- variants of the same exports


def test_mixpanel_with_hundreds_of_property_keys_gives_the_same_numbers(export, expected) -> None:
    """520 distinct keys under ``properties``: past the point where DuckDB's JSON reader stops making a struct."""
    assert_same_numbers(export("mixpanel", wide=True), expected)


@pytest.mark.parametrize(
    "variant",
    [{"format": "jsonl"}, {"format": "jsonl", "wide": True}, {"wide": True}],
    ids=["jsonl", "jsonl-wide", "parquet-wide"],
)
def test_posthog_other_formats_give_the_same_numbers(variant: dict[str, Any], export, expected) -> None:
    """The batch export as gzipped JSON lines (properties nested, not JSON text), and with 520 property keys."""
    assert_same_numbers(export("posthog", **variant), expected)


@pytest.mark.parametrize("upper", [False, True], ids=["warehouse", "warehouse-upper"])
def test_segment_warehouse_gives_the_same_numbers(upper: bool, export, expected) -> None:
    """tracks + identifies + users tables (Snowflake-style upper-case names with ``upper``)."""
    assert_same_numbers(export("segment", warehouse=True, upper=upper), expected)


def test_heap_sessions_passed_as_users_is_an_error_naming_the_table_and_key(export) -> None:
    ws = Workshop.from_dict(export("heap", users_table="sessions"))
    with pytest.raises(DataError) as caught:
        compare(ws)
    message = str(caught.value)
    assert "sessions" in message and "user_id" in message


def test_validate_on_mixpanel_reports_the_ids_merged_into_people(export, expected, pop) -> None:
    """Two distinct_ids for everyone who logged in partway: the report says how many people they make."""
    text = validate(Workshop.from_dict(export("mixpanel"))).to_text()
    people = f"{expected['units']:,}"
    assert re.search(rf"(?<![\d,.]){re.escape(people)}(?![\d,.]*\d)", text), text
    assert vx.vendor_ids(pop)["mixpanel_distinct_ids"] > expected["units"]


def test_ga4_intraday_shard_is_not_counted_twice(export) -> None:
    """The events_intraday_ shard repeats part of the last day: the events read are the daily shards' rows."""
    mapping = export("ga4")
    folder = Path(mapping["data"]["events"])
    daily = sum(pq.read_metadata(f).num_rows for f in folder.glob("events_2*.parquet"))
    assert validate(Workshop.from_dict(mapping)).rows == daily


# --------------------------------------------------------------------------- the fixtures themselves


def test_the_population_follows_its_rules(pop, expected) -> None:
    """Kinds, plans with a real effect, late buyers, closed windows: what the tests above rely on."""
    people = pop.people
    assert expected["units"] == len(people) == 240
    assert set(people.kind) == set(vx.KINDS)
    rates = {k: v["successes"] / v["units"] for k, v in expected["by_plan"].items()}
    assert rates["free"] < rates["pro"] < rates["team"]
    assert people.late_buyer.sum() >= 5
    assert people[people.kind == "never_login"].plan.isna().all()
    assert (people[people.kind != "never_login"].plan.isin(vx.PLANS)).all()
    two_devices = pop.devices.groupby("person").size()
    assert (two_devices == 2).sum() >= 20
    ids = vx.vendor_ids(pop)
    assert min(ids.values()) > len(people)  # a reader that does not stitch counts more "people"
    assert vx.truth(pop) == expected  # deterministic


def test_the_files_are_laid_out_as_delivered(export, pop) -> None:
    amplitude = Path(export("amplitude")["data"]["events"])
    with zipfile.ZipFile(amplitude) as zf:
        names = zf.namelist()
        assert all(re.fullmatch(r"187520/187520_\d{4}-\d{2}-\d{2}_\d{1,2}#0\.json\.gz", n) for n in names)
        first = json.loads(gzip.decompress(zf.read(names[0])).splitlines()[0])
        assert {"amplitude_id", "event_time", "device_id", "user_id", "session_id", "user_properties"} <= set(first)

    segment = Path(export("segment")["data"]["events"])
    files = [p for p in segment.rglob("*") if p.is_file()]
    assert files and all(re.fullmatch(r"\d{13}\.[0-9a-f-]{36}\.gz", p.name) for p in files)
    assert all(p.parent.parent.parent == segment and re.fullmatch(r"\d{13}", p.parent.name) for p in files)
    types = {json.loads(line)["type"] for p in files for line in gzip.decompress(p.read_bytes()).splitlines()}
    assert types == {"page", "track", "identify"}

    posthog = Path(export("posthog")["data"]["events"])
    manifests = sorted(posthog.glob("*_manifest.json"))
    data = sorted(posthog.glob("*.parquet.zst"))
    assert manifests and len(manifests) == len(data)
    listed = {Path(f).name for m in manifests for f in json.loads(m.read_text())["files"]}
    assert listed == {p.name for p in data}
    meta = pq.read_metadata(data[0])
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT00:00:00\+00:00-\d{4}-\d\d-\d\dT00:00:00\+00:00-0\.parquet\.zst", data[0].name
    )

    ga4 = Path(export("ga4")["data"]["events"])
    intraday = list(ga4.glob("events_intraday_*.parquet"))
    assert len(intraday) == 1
    day = intraday[0].name.removeprefix("events_intraday_")
    repeated = pq.read_table(intraday[0]).to_pylist()
    daily = pq.read_table(ga4 / f"events_{day}").to_pylist()
    assert repeated and all(row in daily for row in repeated)

    mixpanel = Path(export("mixpanel", wide=True)["data"]["events"])
    keys = {k for line in mixpanel.read_text().splitlines() for k in json.loads(line)["properties"]}
    assert len({k for k in keys if k.startswith("prop_")}) >= 500

    import duckdb

    heap = export("heap")["data"]["events"]["database"]
    con = duckdb.connect(heap, read_only=True)
    try:
        per_user = con.execute("SELECT max(n) FROM (SELECT count(*) n FROM sessions GROUP BY user_id)").fetchone()[0]
        users = con.execute("SELECT count(*), count(DISTINCT user_id) FROM users").fetchone()
    finally:
        con.close()
    assert per_user > 1 and users == (len(pop.people), len(pop.people))


README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_setups() -> dict[str, dict]:
    """The README's two-line setup per vendor (the yaml blocks under "Exports from analytics tools")."""
    import yaml

    section = README.read_text().split("### Exports from analytics tools", 1)[1].split("\n### ", 1)[0]
    setups = {}
    for block in re.findall(r"```yaml\n(.*?)```", section, flags=re.S):
        raw = yaml.safe_load(block)
        setups[raw["data"]["preset"]] = raw
    return setups


@pytest.mark.parametrize("vendor", sorted(vx.WRITERS))
def test_the_readme_setup_works_as_written(vendor: str, export, expected) -> None:
    """Each README block, with only its paths pointed at the written export, gives the true numbers."""
    setup = _readme_setups()[vendor]
    mapping = export(vendor)
    data = dict(setup["data"])
    for key in ("events", "users"):
        if key in data:
            ours = mapping["data"][key]
            data[key] = {**data[key], "database": ours["database"]} if isinstance(data[key], dict) else ours
    assert set(data) == set(mapping["data"]) and data["preset"] == mapping["data"]["preset"]
    assert setup["segments"] == mapping["segments"]
    assert_same_numbers({**mapping, "data": data}, expected)


@pytest.mark.parametrize("vendor", ["amplitude", "ga4", "segment"])
def test_hypotheses_and_the_cli_take_the_vendors_plan_path(vendor: str, export, expected, tmp_path) -> None:
    """The plan path works where a team uses it: a hypothesis on it, and `segworkshop compare --by PATH`."""
    import yaml
    from click.testing import CliRunner

    from segworkshop.cli import main
    from segworkshop.hypotheses import Hypothesis, check_hypotheses

    mapping = export(vendor)
    path = mapping["segments"][0]
    ws = Workshop.from_dict(mapping)
    verdicts = check_hypotheses(ws, [Hypothesis(path, "team", direction="more")])
    team = expected["by_plan"]["team"]
    assert verdicts.units_a[0] == team["units"] and verdicts.successes_a[0] == team["successes"]
    config = tmp_path / vendor / "workshop.yaml"
    config.parent.mkdir()
    config.write_text(yaml.safe_dump({**mapping, "segments": []}))
    result = CliRunner().invoke(main, ["compare", str(config), "--by", path, "--format", "json", "--no-strata"])
    assert result.exit_code == 0, result.output
    rows = {r["value"]: r for r in json.loads(result.output)["rows"]}
    assert rows["team"]["units"] == team["units"] and rows["team"]["successes"] == team["successes"]
