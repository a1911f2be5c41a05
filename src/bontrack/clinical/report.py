"""The first line a clinician reads about a decision (plain text; faces draw the rest)."""

from __future__ import annotations

from bontrack.clinical.findings import Decision


def headline(decision: Decision) -> str:
    """The first line a clinician reads: the first block, else the first warning (each with how
    many more of its kind follow), else all clear."""
    for severity, kind in (("block", "block"), ("warn", "warning")):
        same = [f for f in decision.findings if f.severity == severity]
        if same:
            more = len(same) - 1
            return same[0].message + (f" (and {more} more {kind}{'s' if more > 1 else ''})" if more else "")
    unknown = [f.message for f in decision.findings if f.code.endswith(".unknown")]
    if unknown:  # an allowed plan still asks the clinician to check what bontrack does not know
        also = f" (and {len(unknown) - 1} more to check)" if len(unknown) > 1 else ""
        return f"no safety rule objects to this plan; {unknown[0][0].lower()}{unknown[0][1:]}{also}"
    return "no safety rule objects to this plan."
