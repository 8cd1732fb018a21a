"""Heavy work stays in the engine: on 100k users, every fetch that crosses into Python is an aggregate whose
size is bounded by segments × values × periods, or, for the cells of every segment crossed that the Simpson
checks' pairs are summed from (compare.count_segments), by compare.JOINT_CELLS: never by the number of users."""

from __future__ import annotations

from pathlib import Path

import pytest
from ibis.backends.duckdb import Backend

from segworkshop import Workshop, demo
from segworkshop.compare import JOINT_CELLS, compare, trend
from segworkshop.discover import discover
from segworkshop.hypotheses import Hypothesis, check_hypotheses, tipping_point
from segworkshop.prioritize import Candidate, evaluate
from segworkshop.unsuccessful import profile
from segworkshop.validate import validate

USERS = 100_000
BOUND = 1_000  # rows in one fetch


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workshop:
    folder = tmp_path_factory.mktemp("pushdown")
    demo.write("ecomm", folder, USERS, seed=3)
    return Workshop.load(Path(folder) / "workshop.yaml")


@pytest.fixture
def fetches(monkeypatch):
    sizes: list[int] = []

    def counted(method):
        def wrapper(self, expr, *args, **kwargs):
            result = method(self, expr, *args, **kwargs)
            sizes.append(len(result) if hasattr(result, "__len__") and not isinstance(result, str) else 1)
            return result

        return wrapper

    monkeypatch.setattr(Backend, "execute", counted(Backend.execute))
    monkeypatch.setattr(Backend, "to_pyarrow", counted(Backend.to_pyarrow))
    return sizes


def test_every_analysis_fetches_aggregates_only(ws, fetches):
    assert ws.baseline()["units"] == USERS
    validate(ws)
    compare(ws)
    trend(ws, "channel", every="week")
    check_hypotheses(ws, [Hypothesis("channel", "email")])
    tipping_point(ws, {"name": "days", "frequency": "session_start", "window_days": 7})
    discover(ws)
    profile(ws)
    evaluate(ws, Candidate("x", "platform", "android", expected_lift=0.2))
    assert len(fetches) > 20
    crossed = [n for n in fetches if n > BOUND]  # compare's and the hypotheses' crossed cells, capped
    assert len(crossed) <= 2 and max(fetches) <= JOINT_CELLS + 1, sorted(fetches)[-5:]


def test_the_counter_sees_a_per_unit_fetch(ws, fetches):
    ws.unit_table(traits=[]).to_pandas()  # what the analyses must never do
    assert max(fetches) == USERS
