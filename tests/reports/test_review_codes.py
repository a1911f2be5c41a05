"""``sections.review``: the due patients' texts matched to integer codes as ``str`` names them."""

from __future__ import annotations

import numpy as np

from bontrack.reports.sections.review import _as_codes


def test_as_codes__only_the_texts_an_integer_code_has() -> None:
    due = ["12", "-1", "007", "abc", "²", "-", "3", "1e3", " 4"]
    assert _as_codes(due).tolist() == [12, -1, 3]
    codes = np.array([3, 12, 7, -1, 4])
    # the same patients as comparing each code's text with the texts
    assert codes[np.isin(codes, _as_codes(due))].tolist() == codes[np.isin(codes.astype(str), due)].tolist()
