"""Wearable exports to daily steps: Apple Health (streamed), Google Fit, Fitbit and FHIR."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from telespine.care.wearables import (
    WearableError,
    parse_apple_health,
    parse_fhir_steps,
    parse_fitbit,
    parse_google_fit,
    parse_upload,
    sniff,
)

HEAD = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!ELEMENT HealthData (ExportDate,Me,(Record|Workout)*)>
<!ATTLIST HealthData locale CDATA #REQUIRED>
]>
<HealthData locale="en_GB">
 <ExportDate value="2026-05-10 08:00:00 +0100"/>
 <Me HKCharacteristicTypeIdentifierDateOfBirth="1980-01-01"/>
"""


def record(
    start: str, value: int | str, source: str = "iPhone", kind: str = "HKQuantityTypeIdentifierStepCount"
) -> str:
    return (
        f' <Record type="{kind}" sourceName="{source}" unit="count" creationDate="{start}" '
        f'startDate="{start}" endDate="{start}" value="{value}">\n'
        '  <MetadataEntry key="HKWasUserEntered" value="0"/>\n </Record>\n'
    )


def export(*records: str) -> bytes:
    return HEAD + "".join(records).encode() + b"</HealthData>\n"


def apple(data: bytes, **kw: object) -> list[tuple[str, int]]:
    result = parse_apple_health(io.BytesIO(data), **kw)  # type: ignore[arg-type]
    return [(d.day.isoformat(), d.steps) for d in result.days]


def test_apple_health_sums_steps_per_day_and_keeps_the_larger_source() -> None:
    data = export(
        record("2026-05-04 09:00:00 +0100", 1200),
        record("2026-05-04 18:00:00 +0100", 800),
        record("2026-05-04 09:00:00 +0100", 1500, source="Apple Watch"),  # the same walk, counted twice
        record("2026-05-05 07:30:00 +0100", 4000),
        record("2026-05-05 07:30:00 +0100", 70, kind="HKQuantityTypeIdentifierHeartRate"),
    )
    result = parse_apple_health(io.BytesIO(data))
    assert [(d.day, d.steps) for d in result.days] == [
        (dt.date(2026, 5, 4), 2000),
        (dt.date(2026, 5, 5), 4000),
    ]
    assert result.records == 4 and result.ignored == 1 and result.source == "apple_health"


def test_apple_health_day_is_the_persons_local_day_when_a_zone_is_given() -> None:
    data = export(record("2026-05-04 23:30:00 +0000", 500), record("2026-05-05 00:30:00 +0000", 700))
    assert apple(data) == [("2026-05-04", 500), ("2026-05-05", 700)]
    # in New Zealand (UTC+12) both walks were on the 5th
    assert apple(data, timezone="Pacific/Auckland") == [("2026-05-05", 1200)]


def test_apple_health_zip_export_is_read_from_inside_the_zip() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("apple_health_export/export.xml", export(record("2026-05-04 09:00:00 +0100", 321)))
    assert apple(buffer.getvalue()) == [("2026-05-04", 321)]


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>", "foreign"),
        (b"this is not xml at all", "foreign"),
        (export(record("2026-05-04 09:00:00 +0100", 10))[:-40], "malformed"),  # cut short
        (export(record("2026-05-04 09:00:00 +0100", "lots")), "malformed"),
        (export(record("2026-05-04 09:00:00 +0100", -5)), "malformed"),
        (export(record("yesterday", 5)), "malformed"),
        (
            export(record("2026-05-04 09:00:00 +0100", 100_000), record("2026-05-04 10:00:00 +0100", 90_000)),
            "malformed",
        ),
        (export(), "empty"),
        (
            b'<?xml version="1.0"?><!DOCTYPE HealthData [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
            b"<HealthData>&b;</HealthData>",
            "malformed",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE HealthData SYSTEM "file:///etc/passwd"><HealthData>&x;</HealthData>',
            "malformed",
        ),
        (b"PK\x03\x04 not really a zip", "malformed"),
        (b'<?xml version="1.0" encoding="ATF-8"?><HealthData/>', "foreign"),
    ],
)
def test_apple_health_bad_files_get_a_clear_error(data: bytes, kind: str) -> None:
    with pytest.raises(WearableError) as caught:
        parse_apple_health(io.BytesIO(data))
    assert caught.value.kind == kind
    assert str(caught.value)  # a message to show


class ReadOnly:
    """A stream that can only be read (no seek), like a socket."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def read(self, size: int = -1, /) -> bytes:
        return self._inner.read(size)


def test_zip_and_xml_read_from_seekable_files_and_plain_streams(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("apple_health_export/export.xml", export(record("2026-05-04 09:00:00 +0100", 321)))
    path = tmp_path / "export.zip"
    path.write_bytes(buffer.getvalue())
    with path.open("rb") as f:
        assert [d.steps for d in parse_upload(f).days] == [321]
    assert [d.steps for d in parse_upload(ReadOnly(buffer.getvalue())).days] == [321]
    xml = export(record("2026-05-04 09:00:00 +0100", 7))
    assert [d.steps for d in parse_upload(ReadOnly(xml)).days] == [7]


def test_damaged_zip_exports_are_a_wearable_error() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "apple_health_export/export.xml", export(record("2026-05-04 09:00:00 +0100", 321)) * 50
        )
    data = bytearray(buffer.getvalue())
    for at in range(60, len(data) - 100, 97):  # flip bytes inside the compressed stream
        damaged = bytes(data[:at]) + bytes([data[at] ^ 0xFF]) + bytes(data[at + 1 :])
        with contextlib.suppress(WearableError):
            parse_apple_health(io.BytesIO(damaged))


def test_apple_health_over_the_size_limit_is_refused_while_streaming() -> None:
    data = export(*(record(f"2026-05-{d:02d} 09:00:00 +0100", 100) for d in range(1, 29)))

    class Counting(io.BytesIO):
        read_total = 0

        def read(self, size: int | None = -1) -> bytes:
            out = super().read(size)
            Counting.read_total += len(out)
            return out

    stream = Counting(data + b"<!--" + b"x" * 5_000_000 + b"-->")
    with pytest.raises(WearableError) as caught:
        parse_apple_health(stream, max_bytes=len(data) + 1000)  # type: ignore[arg-type]
    assert caught.value.kind == "too_large"
    assert Counting.read_total < len(data) + 3 * (1 << 20)  # stopped early, not after reading it all


def test_google_fit_daily_metrics_csv() -> None:
    csv_text = (
        "Date,Move Minutes count,Calories (kcal),Distance (m),Step count,Average speed (m/s)\n"
        "2026-05-04,40,1900.5,3000.2,4210,1.1\n"
        "2026-05-05,12,1700,800,,0.9\n"
        "2026-05-06,55,2100,5200.7,7001,1.2\n"
    )
    result = parse_google_fit(io.BytesIO(csv_text.encode()))
    assert [(d.day.isoformat(), d.steps) for d in result.days] == [("2026-05-04", 4210), ("2026-05-06", 7001)]
    assert result.ignored == 1
    with pytest.raises(WearableError, match="Step count") as caught:
        parse_google_fit(io.BytesIO(b"Date,Weight\n2026-05-04,80\n"))
    assert caught.value.kind == "foreign"
    with pytest.raises(WearableError) as caught:
        parse_google_fit(io.BytesIO(b"Date,Step count\n2026-05-04,10\n2026-05-04,20\n"))
    assert caught.value.kind == "malformed"
    with pytest.raises(WearableError) as caught:
        parse_google_fit(io.BytesIO(b"Date,Step count\n04/05/2026,10\n"))
    assert caught.value.kind == "malformed"


def test_fitbit_minute_steps_are_summed_per_day() -> None:
    doc = [
        {"dateTime": "05/04/26 09:00:00", "value": "30"},
        {"dateTime": "05/04/26 09:01:00", "value": "45"},
        {"dateTime": "05/05/26 10:00:00", "value": "12"},
    ]
    result = parse_fitbit(io.BytesIO(json.dumps(doc).encode()))
    assert [(d.day.isoformat(), d.steps) for d in result.days] == [("2026-05-04", 75), ("2026-05-05", 12)]
    for bad, kind in (
        ({"steps": 4}, "foreign"),
        ([{"dateTime": "2026-05-04", "value": "3"}], "malformed"),
        ([{"dateTime": "05/04/26 09:00:00", "value": "x"}], "malformed"),
        ([], "empty"),
    ):
        with pytest.raises(WearableError) as caught:
            parse_fitbit(io.BytesIO(json.dumps(bad).encode()))
        assert caught.value.kind == kind, bad
    with pytest.raises(WearableError) as caught:
        parse_fitbit(io.BytesIO(b"[{"))
    assert caught.value.kind == "malformed"


def observation(code: str = "55423-8", value: object = 5000, status: str = "final", **when: object) -> dict:
    return {
        "resourceType": "Observation",
        "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": "Number of steps"}]},
        "valueQuantity": {
            "value": value,
            "unit": "steps",
            "system": "http://unitsofmeasure.org",
            "code": "{steps}",
        },
        **(when or {"effectiveDateTime": "2026-05-04"}),
    }


def test_fhir_daily_steps_from_a_bundle() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": observation()},
            {"resource": observation("41950-7", 6100, effectiveDateTime="2026-05-05T23:59:00+01:00")},
            {
                "resource": observation(
                    effectivePeriod={"start": "2026-05-06T00:00:00Z", "end": "2026-05-07T00:00:00Z"}
                )
            },
            {"resource": observation("8867-4", 70)},  # heart rate: ignored
            {"resource": observation(status="entered-in-error")},  # ignored
            {"resource": {"resourceType": "Patient", "id": "p"}},  # ignored
        ],
    }
    result = parse_fhir_steps(io.BytesIO(json.dumps(bundle).encode()))
    assert [(d.day.isoformat(), d.steps) for d in result.days] == [
        ("2026-05-04", 5000),
        ("2026-05-05", 6100),
        ("2026-05-06", 5000),
    ]
    assert result.records == 3 and result.ignored == 3
    # the same in the person's zone: 23:59 in London is 08:59 next day in Tokyo
    tokyo = parse_fhir_steps(io.BytesIO(json.dumps(bundle).encode()), timezone="Asia/Tokyo")
    assert dt.date(2026, 5, 6) in [d.day for d in tokyo.days]


def test_fhir_ndjson_and_bad_observations() -> None:
    lines = "\n".join(json.dumps(observation(effectiveDateTime=f"2026-05-0{d}")) for d in (1, 2))
    assert len(parse_fhir_steps(io.BytesIO(lines.encode())).days) == 2
    for bad, kind in (
        ({"resourceType": "Patient"}, "foreign"),
        (observation(value="many"), "malformed"),
        (observation(effectivePeriod={"start": "2026-05-01", "end": "2026-05-08"}), "malformed"),
        ({**observation(), "valueQuantity": None}, "malformed"),
        (observation(code="8867-4"), "empty"),
        (observation(value=float("nan")), "malformed"),
    ):
        with pytest.raises(WearableError) as caught:
            parse_fhir_steps(io.BytesIO(json.dumps(bad).encode()))
        assert caught.value.kind == kind, bad


def test_upload_picks_the_parser_from_the_first_bytes() -> None:
    assert parse_upload(io.BytesIO(export(record("2026-05-04 09:00:00 +0100", 9)))).source == "apple_health"
    assert parse_upload(io.BytesIO(b"Date,Step count\n2026-05-04,10\n")).source == "google_fit"
    assert (
        parse_upload(
            io.BytesIO(json.dumps([{"dateTime": "05/04/26 09:00:00", "value": "3"}]).encode())
        ).source
        == "fitbit"
    )
    assert parse_upload(io.BytesIO(json.dumps(observation()).encode())).source == "fhir"
    assert sniff(b"%PDF-1.7") is None
    with pytest.raises(WearableError) as caught:
        parse_upload(io.BytesIO(b"%PDF-1.7 a scanned letter"))
    assert caught.value.kind == "foreign"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_give_steps_or_a_wearable_error(data: bytes) -> None:
    try:
        result = parse_upload(io.BytesIO(data))
    except WearableError as exc:
        assert exc.kind in {"malformed", "foreign", "too_large", "empty"} and str(exc)
    else:
        assert result.days


SAMPLE = export(
    record("2026-05-04 09:00:00 +0100", 1200), record("2026-05-05 09:00:00 +0100", 800, source="Apple Watch")
)


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(0, len(SAMPLE) - 1), flip=st.integers(0, 255))
def test_damaged_apple_exports_never_escape_as_other_errors(cut: int, flip: int) -> None:
    damaged = SAMPLE[:cut] + bytes([flip]) + SAMPLE[cut + 1 :]
    for data in (SAMPLE[:cut], damaged):
        with contextlib.suppress(WearableError):
            parse_apple_health(io.BytesIO(data))


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids, max_size=4),
        max_leaves=20,
    )
)
def test_any_json_gives_steps_or_a_wearable_error(doc: object) -> None:
    text = json.dumps(doc, allow_nan=True).encode()
    for parser in (parse_fhir_steps, parse_fitbit):
        with contextlib.suppress(WearableError):
            parser(io.BytesIO(text))


FHIR_KEYS = [
    "resourceType",
    "entry",
    "resource",
    "code",
    "coding",
    "system",
    "status",
    "valueQuantity",
    "value",
    "effectiveDateTime",
    "effectivePeriod",
    "start",
    "end",
]
FHIR_VALUES = [
    "Bundle",
    "Observation",
    "http://loinc.org",
    "55423-8",
    "final",
    "2026-05-04",
    "2026-05-04T10:00:00Z",
    "x",
]


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.sampled_from(FHIR_VALUES) | st.integers(-5, 10**6) | st.none(),
        lambda kids: (
            st.lists(kids, max_size=3) | st.dictionaries(st.sampled_from(FHIR_KEYS), kids, max_size=5)
        ),
        max_leaves=25,
    )
)
@example({"resourceType": "Observation", "code": "x"})
@example({"resourceType": "Bundle", "entry": 5})
@example(
    {
        "resourceType": "Bundle",
        "entry": [{"resource": {"resourceType": "Observation", "code": {"coding": 3}}}],
    }
)
@example(
    {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "55423-8"}]},
        "valueQuantity": [],
        "effectiveDateTime": "2026-05-04",
    }
)
def test_near_fhir_documents_give_steps_or_a_wearable_error(doc: object) -> None:
    with contextlib.suppress(WearableError):
        parse_fhir_steps(io.BytesIO(json.dumps(doc).encode()))
