"""Building blocks shared by the domain schemas."""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from bontrack.errors import FieldError

Text = Annotated[str, Field(min_length=1, max_length=2000)]
Id = Annotated[str, Field(min_length=1, max_length=36)]
Weeks = Annotated[float, Field(ge=0, le=5200, allow_inf_nan=False)]
Flag = Annotated[bool, Field(strict=True)]


class Input(BaseModel):
    """Base of every Create schema: unknown fields are errors, text is trimmed."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


M = TypeVar("M", bound=BaseModel)
SECRET_FIELDS = frozenset({"password"})  # an error about one of these never quotes the value


def _loc(parts: tuple[int | str, ...], prefix: str) -> str:
    out = prefix
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def parse(schema: type[M], data: object, *, prefix: str = "") -> M:
    """Validate raw input (parsed JSON) into a schema; InputError names every bad field."""
    from pydantic import ValidationError

    from bontrack.errors import InputError

    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False):
            msg = err["msg"]
            if err["type"] == "missing":
                msg = "is required"
            elif err["type"] == "extra_forbidden":
                allowed = ", ".join(schema.model_fields) if len(err["loc"]) == 1 else "see the schema"
                msg = f"is not a known field; allowed: {allowed}"
            elif (
                "input" in err
                and err["type"] not in ("model_type", "dict_type")
                and not (err["loc"] and err["loc"][-1] in SECRET_FIELDS)
            ):
                msg = f"{msg} (got {err['input']!r})"
            errors.append(FieldError(_loc(tuple(err["loc"]), prefix), msg))
        raise InputError(errors) from None


def muscle_side_errors(field: str, muscle: str, side: str) -> list[FieldError]:
    """Errors for a muscle or side the knowledge base does not know."""
    from bontrack.knowledge import load_knowledge

    kb = load_knowledge()
    errors = []
    if kb.muscle(muscle) is None:
        errors.append(
            FieldError(
                f"{field}.muscle", f"unknown muscle {muscle!r}; allowed: {', '.join(kb.files.muscles)}"
            )
        )
    if side not in kb.files.sides:
        errors.append(
            FieldError(f"{field}.side", f"unknown side {side!r}; allowed: {', '.join(kb.files.sides)}")
        )
    return errors
