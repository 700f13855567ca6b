"""Parse generated Apple Health exports of 20 MB and 200 MB: peak memory and throughput.

Usage: .venv/bin/python bench/wearables/run.py [--small 20] [--large 200] [--dir /tmp] [--zip]

Writes two export.xml files shaped like real ones (a DOCTYPE with an internal DTD, step records
from a phone and a watch with metadata, heart-rate and energy records in between), then parses
each in a fresh Python process with telespine.care.wearables.parse_apple_health and reports
that process's peak RSS (ru_maxrss), the peak RSS of the same process before parsing (imports
only), the throughput, and the ratio of the two peaks. Flat memory means a ratio near 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
import zipfile
from pathlib import Path

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 14 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>
<!ATTLIST HealthData locale CDATA #REQUIRED>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record type CDATA #REQUIRED unit CDATA #IMPLIED value CDATA #IMPLIED
  sourceName CDATA #REQUIRED sourceVersion CDATA #IMPLIED device CDATA #IMPLIED
  creationDate CDATA #IMPLIED startDate CDATA #REQUIRED endDate CDATA #REQUIRED>
<!ELEMENT MetadataEntry EMPTY>
<!ATTLIST MetadataEntry key CDATA #REQUIRED value CDATA #REQUIRED>
]>
<HealthData locale="en_GB">
 <ExportDate value="2026-05-10 08:00:00 +0100"/>
 <Me HKCharacteristicTypeIdentifierDateOfBirth="1980-01-01"
   HKCharacteristicTypeIdentifierBiologicalSexIdentifier="HKBiologicalSexNotSet"/>
"""
DEVICE = (
    "&lt;&lt;HKDevice: 0x600003c2c8c0&gt;, name:iPhone, manufacturer:Apple Inc., "
    "model:iPhone, hardware:iPhone14,2, software:17.4&gt;"
)
STEPS = "HKQuantityTypeIdentifierStepCount"
HEART = "HKQuantityTypeIdentifierHeartRate"
ENERGY = "HKQuantityTypeIdentifierActiveEnergyBurned"
META_SYNC = '  <MetadataEntry key="HKMetadataKeySyncVersion" value="2"/>\n'
META_MOTION = '  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="0"/>\n'



def write_export(path: Path, megabytes: int, seed: int = 1) -> tuple[int, int]:
    """Write an export of about `megabytes` MB; return (step records, bytes written)."""
    rng = random.Random(seed)
    target = megabytes * 1_000_000
    start = dt.datetime(2020, 1, 1, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    step_records = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(HEAD)
        size = len(HEAD)
        moment = start
        while size < target:
            moment += dt.timedelta(minutes=rng.randint(3, 20))
            stamp = moment.strftime("%Y-%m-%d %H:%M:%S %z")
            end = (moment + dt.timedelta(minutes=2)).strftime("%Y-%m-%d %H:%M:%S %z")
            kind = rng.random()
            times = f'creationDate="{end}" startDate="{stamp}" endDate="{end}"'
            if kind < 0.55:
                source = "iPhone" if rng.random() < 0.6 else "Apple Watch"
                line = (
                    f' <Record type="{STEPS}" sourceName="{source}" sourceVersion="17.4" '
                    f'device="{DEVICE}" unit="count" {times} value="{rng.randint(5, 400)}">\n'
                    f"{META_SYNC} </Record>\n"
                )
                step_records += 1
            elif kind < 0.85:
                line = (
                    f' <Record type="{HEART}" sourceName="Apple Watch" sourceVersion="10.4" '
                    f'device="{DEVICE}" unit="count/min" {times} value="{rng.randint(55, 120)}">\n'
                    f"{META_MOTION} </Record>\n"
                )
            else:
                kcal = f"{rng.random() * 5:.3f}"
                line = f' <Record type="{ENERGY}" sourceName="Apple Watch" unit="kcal" {times} '
                line += f'value="{kcal}"/>\n'
            out.write(line)
            size += len(line)
        out.write("</HealthData>\n")
    return step_records, size


CHILD = """
import json, resource, sys, time
from telespine.care.wearables import parse_apple_health
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    result = parse_apple_health(f, max_bytes=10_000_000_000)  # a .zip is read in place
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_kb": before, "peak_kb": peak, "seconds": seconds,
                  "days": len(result.days), "records": result.records, "ignored": result.ignored}))
"""


def measure(path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
    doc: dict[str, float] = json.loads(out.stdout)
    doc["mb"] = path.stat().st_size / 1_000_000
    doc["mb_per_s"] = doc["mb"] / doc["seconds"]
    return doc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=20)
    ap.add_argument("--large", type=int, default=200)
    ap.add_argument("--dir", default=os.environ.get("TMPDIR", "/tmp"))
    ap.add_argument("--zip", action="store_true", help="also parse the large file as export.zip")
    args = ap.parse_args()
    results = {}
    for label, mb in (("small", args.small), ("large", args.large)):
        path = Path(args.dir) / f"telespine-bench-export-{mb}mb.xml"
        t0 = time.perf_counter()
        records, size = write_export(path, mb)
        took = time.perf_counter() - t0
        print(f"wrote {path} ({size / 1e6:.0f} MB, {records} step records) in {took:.1f} s")
        try:
            results[label] = measure(path)
        finally:
            path.unlink(missing_ok=True)
        r = results[label]
        print(
            f"{label}: {r['mb']:.0f} MB, {r['records']:.0f} step records, {r['days']:.0f} days, "
            f"{r['seconds']:.1f} s, {r['mb_per_s']:.1f} MB/s, peak RSS {r['peak_kb'] / 1024:.1f} MiB "
            f"(after imports {r['before_kb'] / 1024:.1f} MiB)"
        )
    if args.zip:
        path = Path(args.dir) / f"telespine-bench-export-{args.large}mb.zip"
        xml = Path(args.dir) / "export.xml"
        write_export(xml, args.large)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(xml, "apple_health_export/export.xml")
        xml.unlink()
        try:
            r = results["zip"] = measure(path)
        finally:
            path.unlink(missing_ok=True)
        print(
            f"zip: {r['mb']:.0f} MB compressed ({args.large} MB of XML), {r['seconds']:.1f} s, "
            f"peak RSS {r['peak_kb'] / 1024:.1f} MiB (after imports {r['before_kb'] / 1024:.1f} MiB)"
        )
    ratio = results["large"]["peak_kb"] / results["small"]["peak_kb"]
    growth = (results["large"]["peak_kb"] - results["large"]["before_kb"]) / 1024
    print(f"peak RSS large/small: {ratio:.3f} (the large parse added {growth:.1f} MiB over the imports)")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
