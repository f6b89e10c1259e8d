"""A report's figures as a table, written as CSV or XLSX (openpyxl: README, dependencies).
The columns are the figures of hotline/reports/model.py Figures in their order, then their
counts: a figure declared there is exported without a change here. Values are the API's
own (ratios as fractions, empty for null), so an export equals GET /api/reports/figures."""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Sequence
from dataclasses import fields

from openpyxl import Workbook

from hotline.reports.model import Counts, Figures

FIGURES = tuple(f.name for f in fields(Figures) if f.name not in ("key", "counts"))
COUNTS = tuple(f.name for f in fields(Counts))
COLUMNS = ("key", *FIGURES, *COUNTS)


class Format(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


MEDIA_TYPES = {
    Format.CSV: "text/csv; charset=utf-8",
    Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def rows(found: Sequence[Figures]) -> list[list[str | float | int | None]]:
    return [[f.key, *(getattr(f, n) for n in FIGURES), *(getattr(f.counts, n) for n in COUNTS)]
            for f in found]


def to_csv(found: Sequence[Figures]) -> bytes:
    """UTF-8 with a byte-order mark, so a spreadsheet opened by double-click reads Chinese
    keys right; null is an empty cell; numbers as Python writes them (repr: exact)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(COLUMNS)
    for r in rows(found):
        w.writerow(["" if v is None else v for v in r])
    return ("\ufeff" + out.getvalue()).encode()


def to_xlsx(found: Sequence[Figures], title: str = "figures") -> bytes:
    """One sheet, a header row then one row a group; null is an empty cell."""
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append(list(COLUMNS))
    for r in rows(found):
        ws.append(r)
    ws.freeze_panes = "B2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export(found: Sequence[Figures], fmt: Format) -> bytes:
    return to_csv(found) if fmt is Format.CSV else to_xlsx(found)


__all__ = ["COLUMNS", "MEDIA_TYPES", "Format", "export", "rows", "to_csv", "to_xlsx"]
