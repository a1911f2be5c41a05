"""The report's rows read from a Parquet export folder (``bontrack export --format parquet DIR``)
into DuckDB, as ``columnar.load_current`` reads them from the registry: the export holds only
current versions in typed columns (nested objects as JSON text), so the same fields are picked
from them. A value the export could not type is in the row's ``unparsed`` column and is read
from there."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from bontrack.reports.columnar import Field, _count, _typed, run
from bontrack.reports.columnar_driver import _identifier as _quote
from bontrack.reports.columnar_driver import _literal


def _from_parquet(f: Field, columns: set[str]) -> str:
    """The field from the export's typed column (its first key), or inside that column's JSON
    text (the rest of the path), else from ``unparsed`` where the export put what it could not type."""
    head, _, rest = f.path.partition(".")
    if head not in columns:
        return f"{_typed('cast(NULL as varchar)', None, f.kind)} as {_quote(f.name)}"
    col = _quote(head)
    if rest:
        text = f"json_extract_string({col}, {_literal('$.' + rest)})"
        json_value: str | None = f"json_extract({col}, {_literal('$.' + rest)})"
    else:
        text = f"cast({col} as varchar)"
        json_value = None
    if "unparsed" in columns:
        text = f"coalesce({text}, json_extract_string(unparsed, {_literal('$.' + head)}))"
    if f.kind == "flag" and not rest:
        return f"coalesce({col} = true, false) as {_quote(f.name)}"
    return f"{_typed(text, json_value, f.kind)} as {_quote(f.name)}"


def load_parquet(
    folder: Path,
    name: str,
    clinic_id: str | None,
    fields: Sequence[Field],
    *,
    duck: duckdb.DuckDBPyConnection,
    into: str,
    columns: Sequence[str] = (),
    ordered: bool = True,
) -> int:
    """As ``load_current``, from ``folder/<name>.parquet`` of a Parquet export (current versions)."""
    path = folder / f"{name}.parquet"
    source = f"read_parquet({_literal(str(path))})"
    present = {r[0] for r in duck.execute(f"describe select * from {source}").fetchall()}
    picks = ", ".join(["id", *(_from_parquet(f, present) for f in fields), *columns])
    where = "not coalesce(withdrawn, false)"
    if clinic_id is not None:
        where += f" and clinic_id = {_literal(clinic_id)}"
    order = " order by id" if ordered else ""
    run(duck, f"create table {_quote(into)} as select {picks} from {source} where {where}{order}")
    return _count(duck, into)
