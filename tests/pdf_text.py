"""The text of a PDF written by matplotlib (the executive summary), for the tests: no PDF library is needed."""

from __future__ import annotations

import re
import zlib


def pages(pdf: bytes) -> tuple[list[list[float]], str]:
    """The page sizes [pt] of a PDF and the text it writes, a line per text object (the strings of its text
    operators joined; a glyph beyond Latin-1, such as "€" or the ligature "ﬁ", is written by a font of its own and
    shows as "?")."""
    boxes = [[float(v) for v in m.split()] for m in re.findall(rb"/MediaBox \[([^\]]+)\]", pdf)]
    lines = []
    for stream in re.findall(rb"/FlateDecode.*?stream\r?\n(.*?)\r?\nendstream", pdf, flags=re.S):
        for block in re.findall(rb"BT(.*?)ET", zlib.decompress(stream), flags=re.S):
            parts = re.findall(rb"\(((?:\\.|[^\\)])*)\)", block)
            text = b"".join(re.sub(rb"\\(.)", rb"\1", p) for p in parts).decode("latin-1")
            lines.append("".join(c if c.isprintable() else "?" for c in text))
    return boxes, "\n".join(lines)
