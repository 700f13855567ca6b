"""Tele-visits as pure rules: free slots from clinicians' hours (time zones), the virtual spine
exam as data. No database, web or clock: `now` is always an argument."""

from telespine.visits.schedule import (
    HoursError,
    Span,
    free_slots,
    local_label,
    parse_spans,
    spans_doc,
    spans_from_doc,
    weekly_from_doc,
)

__all__ = [
    "HoursError",
    "Span",
    "free_slots",
    "local_label",
    "parse_spans",
    "spans_doc",
    "spans_from_doc",
    "weekly_from_doc",
]
