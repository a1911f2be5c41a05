"""Obviously fictional names: a short built-in list and SYN- record numbers."""

from __future__ import annotations

import random

GIVEN = (
    "Alex", "Robin", "Sam", "Jordan", "Casey", "Morgan", "Taylor", "Jamie", "Riley", "Quinn",
    "Avery", "Charlie", "Dana", "Emery", "Frankie", "Harper", "Jesse", "Kai", "Lee", "Noa",
)  # fmt: skip
FAMILY = (
    "Sample", "Example", "Placeholder", "Testwell", "Fictional", "Mockridge", "Synthfield", "Demoson",
)  # fmt: skip
CLINICIANS = (
    ("Dr Demo Injector", "physician"),
    ("Dr Sample Needleman", "physician"),
    ("Dr Example Reyes (synthetic)", "physician"),
    ("Pat Physio (synthetic)", "physiotherapist"),
    ("Lou Stretchwell (synthetic)", "physiotherapist"),
    ("Nurse Synthetic", "nurse"),
)


def record_number(batch: int, number: int) -> str:
    """SYN-000123 (SYN2-000123 for a second demo clinic in the same registry)."""
    return f"SYN{batch + 1 if batch else ''}-{number:06d}"


def patient_name(rng: random.Random) -> str:
    return f"{rng.choice(GIVEN)} {rng.choice(FAMILY)} (synthetic)"
