"""Check a form's answers against its definition before any scoring.

Answers map the item number, as a string ("1".."N"), to the response code printed on the form;
a missing item is absent or None. Anything else is refused with a message naming the item and
the allowed codes, e.g. ``NDI item 7 (Work) must be one of 0-5, got 9``.
"""

from __future__ import annotations

from collections.abc import Mapping

from bontrack.instruments.definitions import Definition


class InstrumentError(ValueError):
    """Input that cannot be scored or interpreted; the message is for people."""


class AnswerError(InstrumentError):
    """An answer set that does not fit the form. `item` is the item number, when one is at fault."""

    def __init__(self, message: str, *, item: int | None = None, allowed: str = "") -> None:
        super().__init__(message)
        self.item = item
        self.allowed = allowed


def _item_number(definition: Definition, key: object) -> int:
    if isinstance(key, str) and key in definition.item_keys:
        return definition.item_keys[key]  # "1".."N", as forms are stored
    n = len(definition.items)
    if isinstance(key, int) and not isinstance(key, bool):
        text = str(key)
    elif isinstance(key, str):
        text = key
    else:
        raise AnswerError(f"{definition.short_name}: item keys must be strings '1'-'{n}'")
    if text.isascii() and text.isdigit() and text == str(int(text)) and 1 <= int(text) <= n:
        return int(text)
    raise AnswerError(f"{definition.short_name} has no item {text!r}; items are '1'-'{n}'")


def check_answers(definition: Definition, answers: object) -> dict[int, int]:
    """The answered items as {item number: code}; blanks are left out.

    Raises
    ------
    AnswerError
        Answers are not a mapping, an item is unknown, or a code is not an allowed whole number.
    """
    if not isinstance(answers, Mapping):
        raise AnswerError(
            f"{definition.short_name} answers must be an object from item number to code, "
            f"got {type(answers).__name__}"
        )
    answered: dict[int, int] = {}
    for key, code in answers.items():
        number = _item_number(definition, key)
        if code is None:
            continue
        item = definition.item(number)
        # the message parts are built only for a wrong answer (scoring runs for every saved form)
        if isinstance(code, bool) or not isinstance(code, int):
            allowed = item.allowed()
            raise AnswerError(
                f"{_name(definition, number)} must be a whole number, one of {allowed}; got {code!r}",
                item=number,
                allowed=allowed,
            )
        if code not in item.code_values:
            allowed = item.allowed()
            raise AnswerError(
                f"{_name(definition, number)} must be one of {allowed}, got {code}",
                item=number,
                allowed=allowed,
            )
        if number in answered:
            raise AnswerError(
                f"{_name(definition, number)} is given twice", item=number, allowed=item.allowed()
            )
        answered[number] = code
    return answered


def _name(definition: Definition, number: int) -> str:
    return f"{definition.short_name} item {number} ({definition.item(number).title})"


def missing_items(definition: Definition, answered: Mapping[int, int]) -> tuple[int, ...]:
    return tuple(n for n in definition.item_numbers() if n not in answered)
