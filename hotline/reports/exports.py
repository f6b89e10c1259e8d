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
from datetime import UTC, datetime

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


def bucket_label(start: float, offset_s: int, with_time: bool) -> str:
    """A drilled-down bucket's local start: 2026-07-01, or 2026-07-01 10:15."""
    d = datetime.fromtimestamp(start + offset_s, UTC)
    return d.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def rows(found: Sequence[Figures], starts: Sequence[str] | None = None
         ) -> list[list[str | float | int | None]]:
    """One row a group; with `starts` (a drilled-down view: one group's buckets), each row
    begins with its bucket's start."""
    return [[*([starts[i]] if starts is not None else []), f.key,
             *(getattr(f, n) for n in FIGURES), *(getattr(f.counts, n) for n in COUNTS)]
            for i, f in enumerate(found)]


def _columns(starts: Sequence[str] | None) -> list[str]:
    return ["start", *COLUMNS] if starts is not None else list(COLUMNS)


def to_csv(found: Sequence[Figures], starts: Sequence[str] | None = None) -> bytes:
    """UTF-8 with a byte-order mark, so a spreadsheet opened by double-click reads Chinese
    keys right; null is an empty cell; numbers as Python writes them (repr: exact)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(_columns(starts))
    for r in rows(found, starts):
        w.writerow(["" if v is None else v for v in r])
    return ("\ufeff" + out.getvalue()).encode()


def to_xlsx(found: Sequence[Figures], title: str = "figures",
            starts: Sequence[str] | None = None) -> bytes:
    """One sheet, a header row then one row a group; null is an empty cell."""
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append(_columns(starts))
    for r in rows(found, starts):
        ws.append(r)
    ws.freeze_panes = "C2" if starts is not None else "B2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export(found: Sequence[Figures], fmt: Format, starts: Sequence[str] | None = None
           ) -> bytes:
    """The file; `starts`: the buckets' starts of a drilled-down view (a first column)."""
    return to_csv(found, starts) if fmt is Format.CSV else to_xlsx(found, starts=starts)


__all__ = ["COLUMNS", "MEDIA_TYPES", "Format", "bucket_label", "export", "rows", "to_csv",
           "to_xlsx"]
