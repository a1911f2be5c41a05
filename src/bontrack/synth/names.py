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


#: who delivers the demo clinic's toxin (bontrack.synth.stock)
SUPPLIER = "Synthetic Pharma Supply (fictional)"


def demo_prefix(batch: int) -> str:
    """SYN, or SYN2 for a second demo clinic in the same registry (its record numbers and lots)."""
    return f"SYN{batch + 1 if batch else ''}"


def record_number(batch: int, number: int) -> str:
    """SYN-000123 (SYN2-000123 for a second demo clinic in the same registry)."""
    return f"{demo_prefix(batch)}-{number:06d}"


def patient_name(rng: random.Random) -> str:
    return f"{rng.choice(GIVEN)} {rng.choice(FAMILY)} (synthetic)"


def contact(batch: int, number: int) -> tuple[str, str]:
    """An obviously fictional phone (the 555-01xx numbers reserved for fiction) and an e-mail at
    example.org (reserved for examples); every third patient has no e-mail. Derived from the
    record number, so the generator's random draws (and every figure built on them) stay as they were."""
    phone = f"+1 202 555 01{number % 100:02d}"
    email = "" if number % 3 == 0 else f"{record_number(batch, number).lower()}@example.org"
    return phone, email
