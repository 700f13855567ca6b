"""Daily step counts from a wearable's export: Apple Health, Google Fit, Fitbit, FHIR. Pure.

Every parser reads a binary stream and returns a StepsImport (one DailySteps per local day), or
raises WearableError with a `kind` (`malformed`, `foreign`, `too_large`, `empty`) and a plain
message for the person. Nothing is returned in part: a file with one bad record is refused
whole, so a caller stores all of it or nothing.

- Apple Health `export.xml` (or the `export.zip` that holds it) is parsed as a stream with expat
  (no tree is built; memory stays flat whatever the size). Entity declarations are refused.
  `HKQuantityTypeIdentifierStepCount` records are summed per day of their start time (in the
  person's time zone when given, else in the offset the phone wrote). An iPhone and a watch both
  count the same steps, so per day the largest total of any one source is kept (Apple Health
  itself picks one source per minute; this is the usual approximation).
- Google Fit (Takeout, "Daily activity metrics.csv"): the `Date` and `Step count` columns.
- Fitbit (export, `steps-YYYY-MM-DD.json`): a list of `{"dateTime": "MM/DD/YY HH:MM:SS",
  "value": "N"}` summed per day as written.
- FHIR R4: an Observation, a Bundle of them, or NDJSON, coded LOINC 55423-8 (number of steps,
  pedometer), 41950-7 (steps in 24 hours) or 66334-4 (steps taken); status final, amended or
  corrected; the day of `effectiveDateTime` or of `effectivePeriod` (which must start and end on
  the same day). Other Observations in a Bundle are counted as ignored.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, Protocol
from xml.parsers import expat
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telespine.program.safexml import XMLRefused, expat_parser

Source = Literal["apple_health", "google_fit", "fitbit", "fhir"]
ErrorKind = Literal["malformed", "foreign", "too_large", "empty"]

STEP_TYPE = "HKQuantityTypeIdentifierStepCount"
LOINC = "http://loinc.org"
STEP_CODES = frozenset({"55423-8", "41950-7", "66334-4"})
FINAL_STATUSES = frozenset({"final", "amended", "corrected"})
MAX_STEPS_PER_DAY = 150_000  # more than anyone walks: a broken or foreign file
MAX_XML_BYTES = 4_000_000_000  # Apple Health exports reach several hundred MB
MAX_JSON_BYTES = 64_000_000
MAX_CSV_BYTES = 16_000_000
MAX_ZIP_IN_MEMORY = 512_000_000  # compressed bytes of a zip that cannot be read in place
CHUNK = 1 << 20


class Readable(Protocol):
    """A binary stream (an open file, an upload, a zip member)."""

    def read(self, size: int = -1, /) -> bytes: ...


class WearableError(ValueError):
    """A file that cannot be read as step counts; `kind` says why, str() says it plainly."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class DailySteps:
    """Steps on one local day."""

    day: dt.date
    steps: int


@dataclass(frozen=True, slots=True)
class StepsImport:
    """The result of one upload: days oldest first, how many records counted and were ignored."""

    source: Source
    days: tuple[DailySteps, ...]
    records: int
    ignored: int

    @property
    def first_day(self) -> dt.date:
        return self.days[0].day

    @property
    def last_day(self) -> dt.date:
        return self.days[-1].day


def _zone(timezone: str | None) -> ZoneInfo | None:
    if timezone is None:
        return None
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {timezone!r}") from exc


def _finish(source: Source, totals: dict[dt.date, int], records: int, ignored: int) -> StepsImport:
    if not totals:
        raise WearableError("empty", "We found no step counts in this file.")
    for day, steps in totals.items():
        if steps > MAX_STEPS_PER_DAY:
            raise WearableError(
                "malformed", f"This file says {steps} steps on {day.isoformat()}, which cannot be right."
            )
    days = tuple(DailySteps(day=d, steps=totals[d]) for d in sorted(totals))
    return StepsImport(source=source, days=days, records=records, ignored=ignored)


def _limited(stream: Readable, max_bytes: int, chunk: int = CHUNK) -> Iterator[bytes]:
    """The stream in chunks; WearableError once more than max_bytes were read."""
    total = 0
    while block := stream.read(chunk):
        total += len(block)
        if total > max_bytes:
            limit = max_bytes // 1_000_000
            raise WearableError("too_large", f"This file is too large (the limit is {limit} MB).")
        yield block


def _count(value: str | int | float | None) -> int:
    """A whole, non-negative step count; raise WearableError otherwise."""
    try:
        number = float(value) if isinstance(value, str) else value
    except ValueError:
        number = None
    if (
        isinstance(number, bool)
        or not isinstance(number, int | float)
        or number != number  # NaN
        or number < 0
        or number > MAX_STEPS_PER_DAY
    ):
        raise WearableError("malformed", f"A step count in this file is not a number we can use: {value!r}.")
    return round(number)


# ---- Apple Health ----


@lru_cache(maxsize=4096)
def _day_as_written(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _apple_day(stamp: str, zone: ZoneInfo | None) -> dt.date:
    """The local day of an Apple Health time such as '2026-05-04 09:00:00 +0200'."""
    if zone is None:
        return _day_as_written(stamp[:10])
    return dt.datetime.fromisoformat(stamp.replace(" +", "+").replace(" -", "-")).astimezone(zone).date()


@dataclass(slots=True)
class _XmlState:
    root: str = ""
    records: int = 0
    ignored: int = 0


def _apple_xml(blocks: Iterable[bytes], zone: ZoneInfo | None) -> StepsImport:
    parser = expat_parser()
    by_source: dict[tuple[dt.date, str], int] = defaultdict(int)
    state = _XmlState()

    def start(name: str, attrs: dict[str, str]) -> None:
        if not state.root:
            state.root = name
            if name != "HealthData":
                raise WearableError("foreign", "This is not an Apple Health export (export.xml).")
            return
        if name != "Record":
            return
        if attrs.get("type") != STEP_TYPE:
            state.ignored += 1
            return
        try:
            day = _apple_day(attrs["startDate"], zone)
        except (KeyError, ValueError) as exc:
            raise WearableError("malformed", "A step record in this file has no readable date.") from exc
        by_source[(day, attrs.get("sourceName", ""))] += _count(attrs.get("value"))
        state.records += 1

    parser.StartElementHandler = start
    try:
        for block in blocks:
            parser.Parse(block, False)
        parser.Parse(b"", True)
    except XMLRefused as exc:
        raise WearableError("malformed", "This file uses XML features we do not accept (entities).") from exc
    except (expat.ExpatError, LookupError, UnicodeError) as exc:  # LookupError: an unknown encoding
        if not state.root:
            raise WearableError("foreign", "This is not an Apple Health export (export.xml).") from exc
        problem = str(exc)[:120]  # where expat stopped (line, column); never the content
        raise WearableError("malformed", f"This export is damaged or cut short ({problem}).") from exc
    totals: dict[dt.date, int] = {}
    for (day, _source), steps in by_source.items():
        totals[day] = max(totals.get(day, 0), steps)
    return _finish("apple_health", totals, state.records, state.ignored)


def _seekable(stream: Readable) -> bool:
    check = getattr(stream, "seekable", None)
    try:
        return bool(check()) if callable(check) and hasattr(stream, "seek") else False
    except (OSError, ValueError):
        return False


def parse_apple_health(
    stream: Readable, timezone: str | None = None, max_bytes: int = MAX_XML_BYTES
) -> StepsImport:
    """Daily steps from Apple Health's export.xml, or from the export.zip that holds it."""
    zone = _zone(timezone)
    head = stream.read(4)
    if head.startswith(b"PK"):
        # A zip needs random access: a file on disk (an upload's spooled file) is read in place,
        # anything else is held in memory up to MAX_ZIP_IN_MEMORY compressed bytes.
        source: Any
        if _seekable(stream):
            source = stream
            source.seek(0)
        else:
            source = io.BytesIO(head + b"".join(_limited(stream, MAX_ZIP_IN_MEMORY - len(head))))
        try:
            archive = zipfile.ZipFile(source)
            names = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == "export.xml"]
            if not names:
                raise WearableError("foreign", "This zip file holds no Apple Health export.xml.")
            with archive.open(names[0]) as member:
                return _apple_xml(_limited(member, max_bytes), zone)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
            # damaged, cut short, compressed in a way zipfile cannot read, or password-protected
            raise WearableError("malformed", "This zip file is damaged or cannot be opened.") from exc

    def blocks() -> Iterator[bytes]:
        yield head
        yield from _limited(stream, max_bytes - len(head))

    return _apple_xml(blocks(), zone)


# ---- Google Fit ----


def parse_google_fit(stream: Readable, max_bytes: int = MAX_CSV_BYTES) -> StepsImport:
    """Daily steps from Google Fit's Takeout 'Daily activity metrics.csv'."""
    raw = b"".join(_limited(stream, max_bytes))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WearableError("foreign", "This is not a Google Fit daily activity file (CSV).") from exc
    reader = csv.DictReader(io.StringIO(text))
    fields = reader.fieldnames or []
    if "Date" not in fields or "Step count" not in fields:
        raise WearableError(
            "foreign", "This is not a Google Fit daily activity file: no Date and Step count columns."
        )
    totals: dict[dt.date, int] = {}
    records = ignored = 0
    try:
        for row in reader:
            steps = (row.get("Step count") or "").strip()
            if not steps:
                ignored += 1  # a day the phone recorded no steps at all
                continue
            day = dt.date.fromisoformat((row.get("Date") or "").strip())
            if day in totals:
                raise WearableError("malformed", f"The day {day.isoformat()} appears twice in this file.")
            totals[day] = _count(steps)
            records += 1
    except (ValueError, csv.Error) as exc:
        if isinstance(exc, WearableError):
            raise
        raise WearableError("malformed", f"A row of this file cannot be read ({exc}).") from exc
    return _finish("google_fit", totals, records, ignored)


# ---- Fitbit ----


def _load_json(stream: Readable, max_bytes: int) -> Any:
    raw = b"".join(_limited(stream, max_bytes))
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise WearableError("malformed", "This file is not valid JSON.") from exc


def parse_fitbit(stream: Readable, max_bytes: int = MAX_JSON_BYTES) -> StepsImport:
    """Daily steps from a Fitbit export's steps-*.json (per-minute counts)."""
    doc = _load_json(stream, max_bytes)
    if not isinstance(doc, list) or (doc and not (isinstance(doc[0], dict) and "dateTime" in doc[0])):
        raise WearableError("foreign", "This is not a Fitbit steps file.")
    totals: dict[dt.date, int] = defaultdict(int)
    for item in doc:
        if not isinstance(item, dict) or set(item) - {"dateTime", "value"}:
            raise WearableError("malformed", "An entry of this Fitbit file is not a step count.")
        try:
            day = dt.datetime.strptime(str(item["dateTime"]), "%m/%d/%y %H:%M:%S").date()
        except (KeyError, ValueError) as exc:
            raise WearableError("malformed", "An entry of this Fitbit file has no readable date.") from exc
        totals[day] += _count(item.get("value"))
    return _finish("fitbit", dict(totals), len(doc), 0)


# ---- FHIR ----


def _step_code(resource: dict[str, Any]) -> bool:
    codings = (resource.get("code") or {}).get("coding") or []
    return any(
        isinstance(c, dict) and c.get("system") == LOINC and c.get("code") in STEP_CODES for c in codings
    )


def _fhir_day(resource: dict[str, Any], zone: ZoneInfo | None) -> dt.date:
    def day_of(text: object) -> dt.date:
        if not isinstance(text, str) or len(text) < 10:
            raise ValueError("no date")
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if stamp.tzinfo is not None and zone is not None:
            stamp = stamp.astimezone(zone)
        return stamp.date()

    if "effectiveDateTime" in resource:
        return day_of(resource["effectiveDateTime"])
    period = resource.get("effectivePeriod")
    if isinstance(period, dict) and "start" in period:
        start = day_of(period["start"])
        end = day_of(period.get("end", period["start"]))
        # A period may end at midnight of the next day (a whole day), no later.
        midnight = str(period.get("end", ""))[11:19] == "00:00:00"
        if end != start and not (end == start + dt.timedelta(days=1) and midnight):
            raise ValueError("a period longer than one day")
        return start
    raise ValueError("no effective time")


def _fhir_resources(doc: Any) -> Iterator[dict[str, Any]]:
    if isinstance(doc, dict) and doc.get("resourceType") == "Bundle":
        for entry in doc.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict):
                yield resource
    elif isinstance(doc, dict) and doc.get("resourceType") == "Observation":
        yield doc
    else:
        raise WearableError("foreign", "This is not a FHIR Observation or Bundle.")


def parse_fhir_steps(
    stream: Readable, timezone: str | None = None, max_bytes: int = MAX_JSON_BYTES
) -> StepsImport:
    """Daily steps from FHIR R4 Observations (one, a Bundle, or NDJSON lines)."""
    zone = _zone(timezone)
    raw = b"".join(_limited(stream, max_bytes))
    try:
        docs: list[Any] = [json.loads(raw)]
    except (ValueError, RecursionError):
        try:
            docs = [json.loads(line) for line in raw.splitlines() if line.strip()]
        except (ValueError, RecursionError) as exc:
            raise WearableError("malformed", "This file is not valid FHIR JSON.") from exc
    try:
        return _fhir_totals(docs, zone)
    except (TypeError, AttributeError) as exc:  # a list where an object belongs, and the like
        raise WearableError("malformed", "This FHIR file does not have the shape of Observations.") from exc


def _fhir_totals(docs: list[Any], zone: ZoneInfo | None) -> StepsImport:
    totals: dict[dt.date, int] = defaultdict(int)
    records = ignored = 0
    for doc in docs:
        for resource in _fhir_resources(doc):
            if resource.get("resourceType") != "Observation" or not _step_code(resource):
                ignored += 1
                continue
            if resource.get("status") not in FINAL_STATUSES:
                ignored += 1  # preliminary, cancelled or entered in error
                continue
            quantity = resource.get("valueQuantity")
            if not isinstance(quantity, dict):
                raise WearableError("malformed", "A step Observation in this file has no valueQuantity.")
            try:
                day = _fhir_day(resource, zone)
            except (ValueError, TypeError) as exc:
                raise WearableError("malformed", f"A step Observation has no usable day ({exc}).") from exc
            totals[day] += _count(quantity.get("value"))
            records += 1
    return _finish("fhir", dict(totals), records, ignored)


# ---- one door for uploads ----


def sniff(head: bytes) -> Source | None:
    """Which export the first bytes of a file look like, or None."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"PK", b"<?xml", b"<HealthData", b"<!DOCTYPE HealthData")):
        return "apple_health"
    if text.startswith(b"Date,") or b"Step count" in text.split(b"\n", 1)[0]:
        return "google_fit"
    if text.startswith(b"[") and b"dateTime" in text:
        return "fitbit"
    if text.startswith(b"{") and b"resourceType" in text:
        return "fhir"
    return None


def parse_upload(stream: Readable, timezone: str | None = None) -> StepsImport:
    """Parse an upload of any supported kind, chosen from its first bytes."""
    head = stream.read(4096)
    kind = sniff(head)
    if kind is None:
        raise WearableError(
            "foreign", "We cannot read this file. Upload an Apple Health, Google Fit, Fitbit or FHIR export."
        )
    whole: Readable
    if _seekable(stream):
        stream.seek(0)  # type: ignore[attr-defined]
        whole = stream
    else:
        whole = _Prefixed(head, stream)
    if kind == "apple_health":
        return parse_apple_health(whole, timezone)
    if kind == "google_fit":
        return parse_google_fit(whole)
    if kind == "fitbit":
        return parse_fitbit(whole)
    return parse_fhir_steps(whole, timezone)


class _Prefixed(io.RawIOBase):
    """A stream that first gives back bytes already read from another stream."""

    def __init__(self, head: bytes, rest: Readable) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0:
                out, self._head = self._head + self._rest.read(), b""
                return out
            out, self._head = self._head[:size], self._head[size:]
            return out
        return self._rest.read(size)
