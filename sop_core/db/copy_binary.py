"""PostgreSQL's binary ``COPY`` format written from arrow columns with numpy, without a Python object per value.

The server reads binary values as they are stored (no text to parse into numbers and dates), about half the CPU
of a CSV ``COPY``; each tuple's bytes are joined by pyarrow's ``binary_join_element_wise``. A stream is a header, one tuple per row (the number of fields, then each field as its length
in bytes, -1 for NULL, and its bytes), and a trailer; every integer is big-endian. The kinds written here are the
column types of the input tables: ``text`` (varchar, UTF-8), ``date`` (days since 2000-01-01, int32), ``float8``
and ``int4``.

>>> import pyarrow as pa, datetime as dt
>>> rows = pa.table({"sku": ["A", None], "period": [dt.date(2000, 1, 2), None], "qty": [1.5, None], "n": [7, None]})
>>> data = binary_copy(rows, ["text", "date", "float8", "int4"])
>>> data[:19] == SIGNATURE + bytes(8), data[-2:]
(True, b'\\xff\\xff')
>>> data[19:21], data[21:25], data[25:26], data[26:30], data[30:34]
(b'\\x00\\x04', b'\\x00\\x00\\x00\\x01', b'A', b'\\x00\\x00\\x00\\x04', b'\\x00\\x00\\x00\\x01')
>>> data[-20:-2] == b"\\x00\\x04" + b"\\xff\\xff\\xff\\xff" * 4
True
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: The start of every binary COPY stream (followed by 4 bytes of flags and 4 of header extension, all zero).
SIGNATURE = b"PGCOPY\n\xff\r\n\x00"

Kind = Literal["text", "date", "float8", "int4"]

#: Days from 1970-01-01 (arrow's date32) to 2000-01-01 (PostgreSQL's date).
_EPOCH_SHIFT = 10_957

def _fixed(col: pa.Array, kind: Kind) -> np.ndarray:
    """A numeric or date column as big-endian values (nulls as zeros; their length says NULL)."""
    if kind == "date":
        days = pc.fill_null(col.cast(pa.int32()), _EPOCH_SHIFT).to_numpy()
        return np.asarray(days.astype(np.int64) - _EPOCH_SHIFT, dtype=">i4")
    if kind == "float8":
        return np.asarray(pc.fill_null(col.cast(pa.float64()), 0.0).to_numpy(), dtype=">f8")
    values = pc.fill_null(col.cast(pa.int64()), 0).to_numpy()
    if values.size and (values.min() < -(2**31) or values.max() >= 2**31):
        raise OverflowError("a value is out of range for an integer column (-2,147,483,648 to 2,147,483,647)")
    return np.asarray(values, dtype=">i4")


def _bytes_per_row(packed: np.ndarray) -> pa.Array:
    """Each element of a numpy array (a number or a record) as one binary value of its bytes."""
    size = packed.dtype.itemsize
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(size), len(packed), [None, pa.py_buffer(packed)])
    return fixed.cast(pa.binary())


def _field(col: pa.Array, kind: Kind) -> pa.Array:
    """Each value of a column as the bytes of its field: its length, then its bytes (a NULL: length -1 alone)."""
    if kind == "text":
        text = pc.fill_null(col.cast(pa.string()), "").cast(pa.binary())
        length = np.asarray(pc.binary_length(text).to_numpy(), dtype=">i4")
        field = pc.binary_join_element_wise(_bytes_per_row(length), text, b"")
    else:
        values = _fixed(col, kind)
        packed = np.empty(len(values), dtype=[("length", ">i4"), ("value", values.dtype)])
        packed["length"] = values.dtype.itemsize
        packed["value"] = values
        field = _bytes_per_row(packed)
    if col.null_count == 0:
        return field
    return pc.if_else(col.is_valid(), field, pa.scalar(b"\xff\xff\xff\xff", pa.binary()))


def binary_copy(rows: pa.Table, kinds: list[Kind]) -> bytes:
    """The binary COPY stream of ``rows``, whose columns are written as ``kinds`` (in the table's order)."""
    count = _bytes_per_row(np.full(rows.num_rows, rows.num_columns, dtype=">i2"))
    fields = [_field(col.combine_chunks(), kind) for col, kind in zip(rows.columns, kinds, strict=True)]
    tuples = pc.binary_join_element_wise(count, *fields, b"")  # one tuple per row, in C++
    offsets = np.frombuffer(tuples.buffers()[1], dtype=np.int32)[tuples.offset : tuples.offset + len(tuples) + 1]
    body = tuples.buffers()[2][int(offsets[0]) : int(offsets[-1])] if len(tuples) else b""
    return SIGNATURE + bytes(8) + bytes(body) + b"\xff\xff"  # header (flags, extension), tuples, trailer
