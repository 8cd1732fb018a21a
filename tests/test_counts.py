"""segworkshop.counts: units and successes per segment value, against plain pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segworkshop.counts import MISSING, success_counts
from segworkshop.engine import connect


def test_counts_per_value_match_pandas():
    rng = np.random.default_rng(3)
    n = 2000
    df = pd.DataFrame(
        {
            "unit_id": [f"u{i}" for i in range(n)],
            "success": rng.random(n) < 0.3,
            "platform": rng.choice(["ios", "android", "web", None], n),
            "size": rng.choice([1, 5, 50], n),
        }
    )
    con = connect()
    got = success_counts(con.create_table("units", df), ["platform", "size"])
    assert list(got.columns) == ["segment", "value", "units", "successes", "rate"]
    assert list(got["segment"].unique()) == ["platform", "size"]
    for column in ["platform", "size"]:
        values = df[column].astype("object").where(df[column].notna(), MISSING).astype(str)
        expected = df.groupby(values)["success"].agg(["size", "sum"])
        part = got[got["segment"] == column].set_index("value")
        assert sorted(part.index) == sorted(expected.index)
        for value, row in expected.iterrows():
            assert part.loc[value, "units"] == row["size"]
            assert part.loc[value, "successes"] == row["sum"]
            assert part.loc[value, "rate"] == row["sum"] / row["size"]


def test_no_columns_gives_an_empty_table():
    con = connect()
    units = con.create_table("u", pd.DataFrame({"unit_id": ["a"], "success": [True]}))
    assert success_counts(units, []).empty
