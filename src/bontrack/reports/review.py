"""Stop-and-review for the report: the rule itself lives in the pure core (analytics.review)."""

from bontrack.analytics.review import cycle_response_rule, due_for_review, responses, review_cycles

__all__ = ["cycle_response_rule", "due_for_review", "responses", "review_cycles"]
