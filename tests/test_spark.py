"""Spark local mode gives the same numbers as DuckDB (needs the `spark` extra and Java 17).

Not yet part of CI (tests/run.sh does not install pyspark and Java): without pyspark these tests are skipped.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from segworkshop import Workshop, demo
from segworkshop.compare import compare, trend
from segworkshop.datasets import demo_workshop_path
from segworkshop.hypotheses import tipping_point

pytest.importorskip("pyspark", reason="pip install 'segworkshop[spark]' (and Java 17)")


@pytest.fixture(scope="module")
def spark():
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from segworkshop.engine import connect

    con = connect({"backend": "spark", "master": "local[2]"})
    yield con
    con._session.stop()


@pytest.mark.parametrize("kind", demo.KINDS)
def test_spark_gives_the_same_numbers(spark, kind):
    path = demo_workshop_path(kind)
    local, remote = Workshop.load(path), Workshop.load(path, con=spark)
    assert remote.baseline() == local.baseline()
    a, b = compare(local, strata=False).rows, compare(remote, strata=False).rows
    merged = a.merge(b, on=["segment", "value"], suffixes=("_a", "_b"))
    assert len(merged) == len(a) == len(b)
    assert (merged.units_a == merged.units_b).all() and (merged.successes_a == merged.successes_b).all()
    assert np.allclose(merged.p_value_a, merged.p_value_b, rtol=0, atol=1e-12)
    column = demo.truths(kind)["twice"]["column"]
    ta, tb = trend(local, column), trend(remote, column)
    assert ta[["period", "value", "units", "successes"]].equals(tb[["period", "value", "units", "successes"]])
    spec = {"name": "active", "frequency": demo.truths(kind)["tipping"]["event"], "window_days": 14}
    pa, pb = tipping_point(local, spec), tipping_point(remote, spec)
    assert (pa.cut, pa.shape) == (pb.cut, pb.shape) and abs(pa.p_value - pb.p_value) <= 1e-12
