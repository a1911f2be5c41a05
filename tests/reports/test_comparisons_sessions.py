"""``sections.comparisons``: each first cycle's row joined to its session by position, as
``merge`` joins them (the same rows, order, columns and types)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bontrack.reports.sections.comparisons import _with_sessions


@pytest.mark.parametrize(
    "session_ids",
    [
        [4.0, 1.0, 9.0, 2.0],  # codes, distinct: by position
        [4.0, 1.0, 4.0, 2.0],  # a session twice: merged
        ["d", "a", "i", "b"],  # texts
    ],
)
def test_with_sessions__as_merge(session_ids: list[object]) -> None:
    sessions = pd.DataFrame(
        {
            "session_id": session_ids,
            "product": pd.Categorical(["Botox", "Dysport", "Botox", "Xeomin"]),
            "total_units": [100.0, 300.0, np.nan, 80.0],
            "physical_therapy": [True, False, True, False],
        }
    )
    wanted = [
        session_ids[2],
        7.0 if isinstance(session_ids[0], float) else "z",
        session_ids[0],
        session_ids[2],
    ]
    rows = pd.DataFrame({"session_id": wanted, "weeks": [6, 6, 6, 6], "improvement": [1.0, 2.0, 3.0, 4.0]})
    rows.index = [10, 11, 12, 13]
    expected = rows.merge(sessions, on="session_id")
    pd.testing.assert_frame_equal(_with_sessions(rows, sessions), expected)
