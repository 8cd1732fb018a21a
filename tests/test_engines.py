"""Beyond DuckDB: the same analyses on a real PostgreSQL, proven equal; bad engine input gives clear errors.

A throwaway PostgreSQL cluster is started on a temporary directory and port (Debian's ``postgresql``, which
tests/run.sh installs), loaded with the demo datasets through ``COPY … FROM STDIN``, and stopped afterwards.
In CI a missing PostgreSQL fails the run; elsewhere the parity tests are skipped with a note.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from parity import assert_same_rows, free_port

from segworkshop import ConfigError, DataError, Workshop, demo
from segworkshop.compare import compare, trend
from segworkshop.datasets import demo_workshop_path
from segworkshop.engine import connect, describe, mask
from segworkshop.hypotheses import Hypothesis, check_hypotheses, tipping_point
from segworkshop.upload import upload

pytestmark = pytest.mark.engines

PASSWORD = "s3cret-pw"


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _as_postgres_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def postgres():
    pytest.importorskip("psycopg", reason="pip install 'segworkshop[postgres]'")
    bin_dir = _pg_bin()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is missing: tests/run.sh installs Debian's postgresql for these tests")
        pytest.skip("needs Debian's postgresql (tests/run.sh installs it)")
    folder = Path(tempfile.mkdtemp(prefix="segworkshop-pg-"))
    (folder / "pw").write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(folder / "pw", "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres_user(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(folder / "data"),
                "-A",
                "md5",
                f"--pwfile={folder / 'pw'}",
                "-U",
                "postgres",
            ]
        ),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        _as_postgres_user(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(folder / "data"),
                "-w",
                "-l",
                str(folder / "log"),
                "-o",
                f"-p {port} -k {folder} -c listen_addresses=127.0.0.1",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    url = f"postgres://postgres:{PASSWORD}@127.0.0.1:{port}/postgres"
    try:
        # loaded the way a user would: `segworkshop upload` (COPY), which also writes the workshop.yaml, with the
        # password as ${SEGWORKSHOP_PG_PASSWORD} (upload refuses to write a password itself)
        os.environ["SEGWORKSHOP_PG_PASSWORD"] = PASSWORD
        from_env = url.replace(PASSWORD, "${SEGWORKSHOP_PG_PASSWORD}")
        uploaded = {kind: upload(demo_workshop_path(kind), from_env, kind, folder / kind) for kind in demo.DATASETS}
        yield {"url": url, "port": port, "workshops": uploaded}
    finally:
        subprocess.run(
            _as_postgres_user([str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-m", "fast", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


def _pair(kind: str, postgres: dict) -> tuple[Workshop, Workshop]:
    return Workshop.load(demo_workshop_path(kind)), Workshop.load(postgres["workshops"][kind])


@pytest.mark.parametrize("kind", demo.DATASETS)
def test_postgres_gives_the_same_numbers(postgres, kind):
    local, remote = _pair(kind, postgres)
    assert remote.baseline() == local.baseline()
    assert_same_rows(compare(local).rows, compare(remote).rows, ["segment", "value"])
    column = demo.truths(kind)["twice"]["column"]
    assert_same_rows(
        trend(local, column), trend(remote, column), ["period", "value"], floats=("rate", "ci_low", "ci_high")
    )
    value = demo.truths(kind)["twice"]["value"]
    h = [Hypothesis(column, value, direction="more")]
    va, vb = check_hypotheses(local, h), check_hypotheses(remote, h)
    assert va.verdict[0] == vb.verdict[0] == "supported" and abs(va.p_value[0] - vb.p_value[0]) <= 1e-12
    spec = {"name": "active", "frequency": demo.truths(kind)["tipping"]["event"], "window_days": 7}
    ta, tb = tipping_point(local, spec), tipping_point(remote, spec)
    assert (ta.cut, ta.shape) == (tb.cut, tb.shape) and abs(ta.p_value - tb.p_value) <= 1e-12


def test_fetches_are_bounded_by_segments_not_units(postgres):
    _, remote = _pair("ecomm", postgres)
    rows = compare(remote).rows
    assert len(rows) < 100  # 20,000 users, a few dozen aggregate rows crossed into Python


# --------------------------------------------------------------------------- bad engine input


def test_unknown_backend():
    with pytest.raises(ConfigError, match="tested backends are duckdb, postgres and spark"):
        connect({"backend": "oracle"})


def test_missing_extra(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_psycopg(name, *args, **kwargs):
        if name == "psycopg":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_psycopg)
    with pytest.raises(ConfigError, match=r"pip install 'segworkshop\[postgres\]'"):
        connect("postgres://u:p@127.0.0.1:1/db")


def test_unreachable_host_fails_fast_and_masks_the_password():
    pytest.importorskip("psycopg")
    started = time.perf_counter()
    with pytest.raises(DataError) as err:
        connect({"url": f"postgres://analyst:{PASSWORD}@127.0.0.1:{free_port()}/analytics", "connect_timeout": 3})
    assert time.perf_counter() - started < 15
    assert "cannot connect to the engine at postgres://analyst:***@127.0.0.1" in str(err.value)
    assert PASSWORD not in str(err.value)


def test_wrong_password(postgres):
    url = postgres["url"].replace(PASSWORD, "wrong-pw")
    with pytest.raises(DataError) as err:
        connect(url)
    assert "password authentication failed" in str(err.value) and "wrong-pw" not in str(err.value)


def test_secrets_from_the_environment(postgres, monkeypatch):
    monkeypatch.setenv("SEGWORKSHOP_TEST_PW", PASSWORD)
    url = postgres["url"].replace(PASSWORD, "${SEGWORKSHOP_TEST_PW}")
    assert connect({"url": url}).list_tables(database="ecomm")
    monkeypatch.delenv("SEGWORKSHOP_TEST_PW")
    with pytest.raises(ConfigError, match=r"\$\{SEGWORKSHOP_TEST_PW\}.*Export it first"):
        connect({"url": url})
    assert describe({"url": postgres["url"]}) == mask(postgres["url"]) and PASSWORD not in mask(postgres["url"])


def test_missing_table_and_missing_columns(postgres):
    ws = Workshop.from_dict(
        {
            "data": {"events": {"table": "ecomm.evnts"}},
            "success": {"event": "purchase"},
            "engine": {"url": postgres["url"]},
        }
    )
    with pytest.raises(DataError, match=r"cannot open table 'ecomm\.evnts'"):
        ws.events  # noqa: B018
    ws = Workshop.from_dict(
        {
            "data": {"events": {"table": "ecomm.users"}},
            "success": {"event": "purchase"},
            "engine": {"url": postgres["url"]},
        }
    )
    with pytest.raises(DataError, match="no column for `event`"):
        ws.events  # noqa: B018


def test_report_on_postgres_has_the_same_numbers(postgres, tmp_path, monkeypatch):
    import json

    from segworkshop import report

    monkeypatch.setenv("SEGWORKSHOP_PG_PASSWORD", PASSWORD)
    url = postgres["url"].replace(PASSWORD, "${SEGWORKSHOP_PG_PASSWORD}")
    local = demo_workshop_path("ecomm")
    remote = tmp_path / "workshop.yaml"
    remote.write_text(
        local.read_text()
        .replace("events: events.parquet", "events: {table: ecomm.events}")
        .replace("users: users.parquet", "users: {table: ecomm.users}")
        + f'engine: {{url: "{url}"}}\n'
    )
    a = report.run(local, tmp_path / "duckdb", only=["08"])
    b = report.run(remote, tmp_path / "postgres", only=["08"])
    assert a.ok and b.ok
    sa = json.loads((a.out / "summary.json").read_text())
    sb = json.loads((b.out / "summary.json").read_text())
    assert sa["baseline"] == sb["baseline"] and sa["segments"] == sb["segments"]
    index = (b.out / "index.html").read_text()
    assert "postgres://postgres:***@127.0.0.1" in index or "${SEGWORKSHOP_PG_PASSWORD}" in index
    assert PASSWORD not in index and PASSWORD not in (b.out / "summary.json").read_text()
    page = lambda r: (r.out / "08_readout.html").read_text().split("<h2", 1)[1]  # noqa: E731
    assert page(a) == page(b)


@pytest.mark.parametrize("kind", ["ecomm", "saas"])  # finserv's scan takes 40 s here and adds no new type
def test_discover_on_postgres_matches(postgres, kind):
    from segworkshop.discover import discover

    local, remote = _pair(kind, postgres)
    a, b = discover(local), discover(remote)
    assert (a.evaluated, a.family) == (b.evaluated, b.family)
    top_a = a.rows.head(10)[["kind", "segment", "value", "units", "successes"]].reset_index(drop=True)
    top_b = b.rows.head(10)[["kind", "segment", "value", "units", "successes"]].reset_index(drop=True)
    assert top_a.equals(top_b)
    assert np.allclose(a.rows.head(10).q_value, b.rows.head(10).q_value, rtol=0, atol=1e-12)


def test_upload_cli_into_postgres(postgres, tmp_path, monkeypatch):
    """The README's way to try PostgreSQL: `segworkshop upload` an example session, then run it there."""
    from click.testing import CliRunner

    from segworkshop.cli import main
    from segworkshop.datasets import example_workshop_path

    monkeypatch.setenv("SEGWORKSHOP_PG_PASSWORD", PASSWORD)
    url = postgres["url"].replace(PASSWORD, "${SEGWORKSHOP_PG_PASSWORD}")
    source = example_workshop_path("finserv")
    args = ["upload", str(source), "--schema", "finserv_copy", "--out", str(tmp_path / "pg")]
    result = CliRunner().invoke(main, [*args, "--to", url])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "pg" / "workshop.yaml").read_text()
    assert "${SEGWORKSHOP_PG_PASSWORD}" in text and PASSWORD not in text and PASSWORD not in result.output
    assert Workshop.load(tmp_path / "pg").baseline() == Workshop.load(source).baseline()
    written = CliRunner().invoke(main, [*args, "--to", postgres["url"]])  # the password itself: refused
    assert written.exit_code == 2 and "holds a password" in written.output and PASSWORD not in written.output
    monkeypatch.setenv("SEGWORKSHOP_PG_PASSWORD", "nope-pw")
    wrong = CliRunner().invoke(main, [*args, "--to", url])
    assert wrong.exit_code == 2 and "password authentication failed" in wrong.output and "nope-pw" not in wrong.output


def test_people_paths_and_time_zone_on_postgres(postgres):
    """Identity stitching, a JSON-text property path and a time zone give the same people on PostgreSQL."""
    from parity import PEOPLE_SUCCESS, PEOPLE_WORKSHOP, assert_same_people, people_events

    frame = people_events()
    remote_con = connect(postgres["url"])
    remote_con.create_table("people_events", frame, overwrite=True)
    local = Workshop.from_dict({"data": {"events": frame, **PEOPLE_WORKSHOP}, "success": PEOPLE_SUCCESS})
    remote = Workshop.from_dict(
        {"data": {"events": {"table": "people_events"}, **PEOPLE_WORKSHOP}, "success": PEOPLE_SUCCESS},
        con=remote_con,
    )
    assert_same_people(local, remote)


def test_placeholder_ids_are_no_one_on_postgres(postgres):
    """Ids that say "no id" (NULL, None, NaN, blanks, NBSP, zero-width spaces) are left out on PostgreSQL as on
    DuckDB: found among the distinct ids there (sources.placeholder_ids) and matched by value."""
    from parity import placeholder_events

    frame = placeholder_events()
    remote_con = connect(postgres["url"])
    remote_con.create_table("placeholder_events", frame, overwrite=True)
    success = {"event": "purchase", "within_days": 7}
    local = Workshop.from_dict({"data": {"events": frame}, "success": success})
    remote = Workshop.from_dict(
        {"data": {"events": {"table": "placeholder_events"}}, "success": success}, con=remote_con
    )
    assert local.baseline() == remote.baseline()
    assert remote.baseline()["units"] == 60 and remote.baseline()["successes"] == 20
