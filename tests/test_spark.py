"""Spark gives the same numbers as DuckDB: local mode, and a Spark Connect server; bad Spark input is a clear error.

Needs the `spark` extra and Java 17, which tests/run.sh installs. In CI a missing pyspark or Java fails the run;
elsewhere these tests are skipped with a note. The Spark Connect server is the one shipped in the pyspark wheel,
started on a free port for the tests that need it and stopped afterwards.
"""

from __future__ import annotations

import glob
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from parity import assert_same_rows, free_port, relocated

from segworkshop import ConfigError, DataError, Workshop, demo
from segworkshop.compare import compare, trend
from segworkshop.datasets import demo_workshop_path
from segworkshop.engine import connect, describe
from segworkshop.hypotheses import Hypothesis, check_hypotheses, tipping_point

pytestmark = pytest.mark.engines

TOKEN = "tok-s3cret"


def _java_version(home: str) -> int | None:
    try:
        out = subprocess.run([f"{home}/bin/java", "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r'version "(\d+)', out)
    return int(found.group(1)) if found else None


def _java17() -> str | None:
    """A Java pyspark 4.0 runs on (17 or 21): JAVA_HOME's if it is one, else Debian's."""
    debian = [
        *sorted(glob.glob("/usr/lib/jvm/java-17-openjdk-*")),
        *sorted(glob.glob("/usr/lib/jvm/java-21-openjdk-*")),
    ]
    homes = [os.environ.get("JAVA_HOME", ""), *debian]
    return next((h for h in homes if h and _java_version(h) in (17, 21)), None)


def _needs_spark() -> None:
    missing = []
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing.append("pyspark (pip install 'segworkshop[spark]')")
    java = _java17()
    if java is None:
        missing.append("Java 17 (apt-get install openjdk-17-jre-headless)")
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"Spark cannot run here, missing {' and '.join(missing)}: tests/run.sh installs both")
        pytest.skip(f"needs {' and '.join(missing)}")
    os.environ["JAVA_HOME"] = java
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


@pytest.fixture(scope="module")
def spark():
    _needs_spark()
    con = connect({"backend": "spark", "master": "local[2]"})
    yield con
    con._session.stop()


@pytest.fixture(scope="module")
def spark_connect(tmp_path_factory):
    """A Spark Connect server from the pyspark wheel, on a free port; its address."""
    _needs_spark()
    pytest.importorskip("grpc", reason="pip install 'segworkshop[spark]'")
    import pyspark

    port = free_port()
    submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    log = open(tmp_path_factory.mktemp("spark-connect") / "server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [
            str(submit),
            "--class",
            "org.apache.spark.sql.connect.service.SparkConnectServer",
            "--conf",
            f"spark.connect.grpc.binding.port={port}",
            "--conf",
            "spark.connect.grpc.binding.address=127.0.0.1",  # no one else on this host's network can use it
            "--conf",
            "spark.ui.enabled=false",
            "--conf",
            "spark.sql.shuffle.partitions=8",
            "--driver-memory",
            "1g",
            "spark-internal",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the Spark Connect server did not start; see {log.name}")
                time.sleep(1)
        yield f"sc://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


# Spark answers each query in a second or two whatever the data's size, so the parity runs on two datasets: a
# user unit (ecomm) and an account unit with a users table and an accounts table (saas); PostgreSQL's parity
# (test_engines.py) runs on all three, and finserv has no column type the other two lack.
@pytest.mark.parametrize("kind", ["ecomm", "saas"])
def test_spark_gives_the_same_numbers(spark, kind):
    path = demo_workshop_path(kind)
    local, remote = Workshop.load(path), Workshop.load(path, con=spark)
    assert remote.baseline() == local.baseline()
    assert_same_rows(compare(local).rows, compare(remote).rows, ["segment", "value"])
    column = demo.truths(kind)["twice"]["column"]
    assert_same_rows(
        trend(local, column), trend(remote, column), ["period", "value"], floats=("rate", "ci_low", "ci_high")
    )
    h = [Hypothesis(column, demo.truths(kind)["twice"]["value"], direction="more")]
    va, vb = check_hypotheses(local, h), check_hypotheses(remote, h)
    assert va.verdict[0] == vb.verdict[0] == "supported" and abs(va.p_value[0] - vb.p_value[0]) <= 1e-12
    spec = {"name": "active", "frequency": demo.truths(kind)["tipping"]["event"], "window_days": 7}
    pa, pb = tipping_point(local, spec), tipping_point(remote, spec)
    assert (pa.cut, pa.shape) == (pb.cut, pb.shape) and abs(pa.p_value - pb.p_value) <= 1e-12


def test_discover_on_spark_matches(spark):
    """discover's one-pass scan on Spark (accounts: the most joins), as on DuckDB."""
    from segworkshop.discover import discover

    path = demo_workshop_path("saas")
    a, b = discover(Workshop.load(path)), discover(Workshop.load(path, con=spark))
    assert (a.evaluated, a.family) == (b.evaluated, b.family)
    columns = ["kind", "segment", "value", "units", "successes"]
    assert a.rows.head(10)[columns].reset_index(drop=True).equals(b.rows.head(10)[columns].reset_index(drop=True))
    assert np.allclose(a.rows.head(10).q_value, b.rows.head(10).q_value, rtol=0, atol=1e-12)


def test_report_on_spark_has_the_same_numbers(spark, tmp_path):
    """`segworkshop run` with `engine: {backend: spark}` in workshop.yaml: the notebook's kernel starts its own Spark."""
    from segworkshop import report

    local = demo_workshop_path("ecomm")
    remote = relocated(local, tmp_path / "workshop", engine={"backend": "spark", "master": "local[2]"})
    a = report.run(local, tmp_path / "duckdb", only=["08"])
    b = report.run(remote, tmp_path / "spark", only=["08"])
    assert a.ok and b.ok, (a, b)
    sa = json.loads((a.out / "summary.json").read_text())
    sb = json.loads((b.out / "summary.json").read_text())
    assert sa["baseline"] == sb["baseline"] and sa["segments"] == sb["segments"]
    assert "backend=spark" in (b.out / "index.html").read_text()
    page = lambda r: (r.out / "08_readout.html").read_text().split("<h2", 1)[1]  # noqa: E731
    assert page(a) == page(b)


def test_spark_connect_gives_the_same_numbers(spark_connect, tmp_path):
    """`engine: sc://host:port` through the CLI, in its own process (one process holds local or remote Spark)."""
    path = demo_workshop_path("saas")
    remote = relocated(path, tmp_path, engine=spark_connect)
    proc = subprocess.run(
        [sys.executable, "-m", "segworkshop.cli", "compare", str(remote), "--format", "json", "--no-strata"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    b = json.loads(proc.stdout)
    a = compare(Workshop.load(path), strata=False).to_dict()
    assert a["baseline"] == b["baseline"]
    assert_same_rows(pd.DataFrame(a["rows"]), pd.DataFrame(b["rows"]), ["segment", "value"])


# --------------------------------------------------------------------------- bad Spark input


def test_unreachable_spark_connect_fails_fast_and_hides_the_token():
    pytest.importorskip("grpc", reason="pip install 'segworkshop[spark]'")
    started = time.perf_counter()
    with pytest.raises(DataError) as err:
        connect({"backend": "spark", "remote": f"sc://127.0.0.1:{free_port()}/;token={TOKEN}", "connect_timeout": 3})
    assert time.perf_counter() - started < 15  # the Connect client alone retries for up to 10 minutes
    assert "cannot connect to the engine at sc://127.0.0.1" in str(err.value) and ";token=***" in str(err.value)
    assert TOKEN not in str(err.value)
    assert TOKEN not in describe({"backend": "spark", "remote": f"sc://h:15002/;token={TOKEN}"})
    with pytest.raises(ConfigError, match="looks like sc://host:15002"):
        connect({"backend": "spark", "remote": "http://127.0.0.1:15002"})


def test_missing_spark_extra(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_spark(name, *args, **kwargs):
        if name in ("pyspark", "grpc"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_spark)
    with pytest.raises(ConfigError, match=r"pip install 'segworkshop\[spark\]'"):
        connect({"backend": "spark"})
    with pytest.raises(ConfigError, match=r"spark-connect engine needs .*pip install 'segworkshop\[spark\]'"):
        connect("sc://127.0.0.1:15002")


def test_spark_without_java_is_a_clear_error_and_exit_2(tmp_path):
    """No usable Java: `segworkshop validate` says what to install, exit 2, no traceback (own process: a JVM)."""
    pytest.importorskip("pyspark", reason="pip install 'segworkshop[spark]'")
    yaml_path = relocated(demo_workshop_path("ecomm"), tmp_path / "workshop", engine={"backend": "spark"})
    env = {**os.environ, "JAVA_HOME": str(tmp_path / "no-java"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "segworkshop.cli", "validate", str(yaml_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "cannot start Spark" in proc.stderr and "needs Java 17" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_file_and_table_and_columns_on_spark(spark, tmp_path):
    base = {"success": {"event": "purchase"}}
    ws = Workshop.from_dict({**base, "data": {"events": str(tmp_path / "nope.parquet")}}, con=spark)
    with pytest.raises(DataError, match=r"nope\.parquet"):
        ws.events  # noqa: B018
    ws = Workshop.from_dict({**base, "data": {"events": {"table": "analytics.evnts"}}}, con=spark)
    with pytest.raises(DataError, match=r"cannot open table 'analytics\.evnts'"):
        ws.events  # noqa: B018
    users = demo_workshop_path("ecomm").parent / "users.parquet"
    ws = Workshop.from_dict({**base, "data": {"events": str(users)}}, con=spark)
    with pytest.raises(DataError, match="no column for `event`"):
        ws.events  # noqa: B018


def test_people_paths_and_time_zone_on_spark(spark):
    """Identity stitching, a JSON-text property path and a time zone give the same people on Spark."""
    from parity import PEOPLE_SUCCESS, PEOPLE_WORKSHOP, assert_same_people, people_events

    frame = people_events()
    local = Workshop.from_dict({"data": {"events": frame, **PEOPLE_WORKSHOP}, "success": PEOPLE_SUCCESS})
    remote = Workshop.from_dict({"data": {"events": frame, **PEOPLE_WORKSHOP}, "success": PEOPLE_SUCCESS}, con=spark)
    assert_same_people(local, remote)


def test_placeholder_ids_are_no_one_on_spark(spark):
    """As on DuckDB and PostgreSQL: placeholder ids count as no one (found among the distinct ids, by value)."""
    from parity import placeholder_events

    frame = placeholder_events()
    success = {"event": "purchase", "within_days": 7}
    local = Workshop.from_dict({"data": {"events": frame}, "success": success})
    remote = Workshop.from_dict({"data": {"events": frame}, "success": success}, con=spark)
    assert local.baseline() == remote.baseline()
    assert remote.baseline()["units"] == 60 and remote.baseline()["successes"] == 20
