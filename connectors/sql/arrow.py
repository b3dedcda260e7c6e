"""SQL rows as Arrow: a column's Arrow type, a result's schema and record batch."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import sqlalchemy as sa


def arrow_type(sql_type: sa.types.TypeEngine) -> pa.DataType | None:
    """Arrow type for a column, or None to let Arrow infer it from the values (numerics)."""
    if isinstance(sql_type, sa.Boolean):
        return pa.bool_()
    if isinstance(sql_type, sa.Integer):
        return pa.int64()
    if isinstance(sql_type, sa.Float):
        return pa.float64()
    if isinstance(sql_type, sa.DateTime):
        return pa.timestamp("us", tz="UTC") if getattr(sql_type, "timezone", False) else pa.timestamp("us")
    if isinstance(sql_type, sa.Date):
        return pa.date32()
    if isinstance(sql_type, sa.String | sa.Enum):
        return pa.string()
    if isinstance(sql_type, sa.LargeBinary):
        return pa.binary()
    return None


def is_text(sql_type: sa.types.TypeEngine) -> bool:
    return isinstance(sql_type, sa.String | sa.Enum)


def schema_for(table: sa.Table, rows: list[sa.Row]) -> pa.Schema:
    """The table's columns as Arrow fields; numerics whose type SQL leaves open are inferred."""
    fields = []
    for i, col in enumerate(table.columns):
        arrow = arrow_type(col.type)
        if arrow is None:
            arrow = pa.array([r[i] for r in rows]).type if rows else pa.null()
        fields.append(pa.field(col.name, arrow))
    return pa.schema(fields)


def to_batch(schema: pa.Schema, rows: list[sa.Row]) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True))
    arrays = []
    for field, values in zip(schema, columns, strict=True):
        if pa.types.is_timestamp(field.type) and field.type.tz:
            values = [v.astimezone(dt.UTC) if v is not None and v.tzinfo else v for v in values]
        arrays.append(pa.array(values, type=field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
