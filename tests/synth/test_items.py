"""Ids of the synthetic clinic."""

from __future__ import annotations

import random
import uuid

from hypothesis import given
from hypothesis import strategies as st

from bontrack.synth.items import draw_id


@given(st.integers(min_value=0, max_value=2**64))
def test_draw_id__same_text_as_uuid4_of_the_same_bits(seed: int) -> None:
    expected = str(uuid.UUID(int=random.Random(seed).getrandbits(128), version=4))
    drawn = draw_id(random.Random(seed))
    assert drawn == expected
    assert uuid.UUID(drawn).version == 4
