"""Which passwords are accepted: at least 12 characters, and not easy to guess.

"Easy to guess" is judged by zxcvbn (Dropbox's estimator, the `zxcvbn` package): it knows the
30,000 most common passwords, English words, names, keyboard runs, repeats, sequences and dates,
and the user's own e-mail. A password it scores below 3 (fewer than 10^8 guesses) is refused.
Messages say what is wrong, never what the password was.
"""

from __future__ import annotations

from typing import Any

MIN_LENGTH = 12
MAX_LENGTH = 200
MIN_SCORE = 3  # zxcvbn's 0-4 scale; 3: "safely unguessable", at least 10^8 guesses
_SCORED_PREFIX = 72  # zxcvbn scores at most 72 characters (its cost grows with length)
RULE = f"at least {MIN_LENGTH} characters, not a common password, word, name, run of keys or repeat"


def password_problem(password: str, *, email: str | None = None) -> str | None:
    """What is wrong with a new password (a sentence that does not repeat it), or None if it is fine."""
    if len(password) < MIN_LENGTH:
        return f"is too short: use at least {MIN_LENGTH} characters (a few unusual words work well)"
    if len(password) > MAX_LENGTH:
        return f"is too long: at most {MAX_LENGTH} characters"
    from zxcvbn import zxcvbn

    hints = ["bontrack", "clinic", "botulinum", "physio", "therapy"]
    if email:
        local, _, domain = email.lower().partition("@")
        hints += [email.lower(), local, *domain.split(".")]
    result: dict[str, Any] = zxcvbn(password[:_SCORED_PREFIX], user_inputs=hints)
    if int(result["score"]) >= MIN_SCORE:
        return None
    warning = str(result["feedback"].get("warning") or "").strip()
    # zxcvbn's sentence ("This is a very common password.") read inside ours, in lower case
    why = f" ({warning[:1].lower()}{warning[1:].rstrip('.')})" if warning else ""
    return (
        f"is too easy to guess{why}; use at least {MIN_LENGTH} characters that are not a common "
        "password, a word or name on its own, a run of keys or a repeat (a few unusual words work well)"
    )
