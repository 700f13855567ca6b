"""Text as the rules read it: Unicode, look-alike letters, invisible characters, spaces."""

from __future__ import annotations

import re
import unicodedata

# Characters with no look of their own that NFKC keeps and that are not format characters (Cf):
# combining grapheme joiner, Hangul fillers, Khmer inherent vowels, variation selectors.
_INVISIBLE = frozenset(
    [
        0x034F,
        0x115F,
        0x1160,
        0x17B4,
        0x17B5,
        0x3164,
        0xFFA0,
        *range(0x180B, 0x1810),
        *range(0xFE00, 0xFE10),
        *range(0xE0100, 0xE01F0),
    ]
)
# Typographic apostrophes, so "can’t" tokenises like "can't". The grave and acute accents
# ("can`t", "can´t") are replaced before NFKC, which turns an acute accent into a space and a mark.
_APOSTROPHES = {"\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u2032": "'"}
_ACCENTS = str.maketrans({"`": "'", "\u00b4": "'"})
_MAX_RUN = 64  # characters without a space: longer runs get a space (see normalise_text)
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# Cyrillic and Greek letters that look like Latin ones ("I wet mys\u0435lf" with a Cyrillic e).
# Folded only in a message with at least as many Latin letters as other Cyrillic and Greek ones,
# so Russian or Greek text stays as it is (and goes to a clinician as a language the rules
# cannot read).
_LOOKALIKES = str.maketrans(
    {
        # Cyrillic
        "\u0410": "A", "\u0412": "B", "\u0415": "E", "\u041a": "K", "\u041c": "M", "\u041d": "H",
        "\u041e": "O", "\u0420": "P", "\u0421": "C", "\u0422": "T", "\u0425": "X", "\u0423": "Y",
        "\u0406": "I", "\u0408": "J", "\u0405": "S", "\u0430": "a", "\u0435": "e", "\u043e": "o",
        "\u0440": "p", "\u0441": "c", "\u0445": "x", "\u0443": "y", "\u0456": "i", "\u0458": "j",
        "\u0455": "s", "\u0501": "d", "\u04bb": "h", "\u051b": "q", "\u051d": "w", "\u04cf": "l",
        "\u043a": "k",
        # Greek
        "\u0391": "A", "\u0392": "B", "\u0395": "E", "\u0396": "Z", "\u0397": "H", "\u0399": "I",
        "\u039a": "K", "\u039c": "M", "\u039d": "N", "\u039f": "O", "\u03a1": "P", "\u03a4": "T",
        "\u03a5": "Y", "\u03a7": "X", "\u03bf": "o", "\u03b1": "a", "\u03bd": "v", "\u03b9": "i",
        "\u03ba": "k", "\u03c1": "p", "\u03c5": "u", "\u03c7": "x",
    }
)  # fmt: skip


def _mostly_latin(text: str) -> bool:
    """True unless the text has more Cyrillic or Greek letters that look like no Latin letter than
    Latin letters ("i c\u0430nt \u0440\u0435\u0435" is Latin; Russian text is not)."""
    latin = other = 0
    for char in unicodedata.normalize("NFKC", text):
        if char < "\x80":
            latin += char.isalpha()
            continue
        if char.isalpha() and ord(char) not in _LOOKALIKES:
            name = unicodedata.name(char, "")
            if name.startswith("LATIN"):
                latin += 1
            elif name.startswith(("CYRILLIC", "GREEK")):
                other += 1
    return latin >= other


def _clusters(text: str) -> list[tuple[str, int, int]]:
    """Visible characters with their combining marks, and their span in text; invisibles dropped."""
    clusters: list[tuple[str, int, int]] = []
    for i, char in enumerate(text):
        if "\x20" <= char < "\x7f":  # printable ASCII: itself (the common case, kept fast)
            clusters.append((char, i, i + 1))
            continue
        category = unicodedata.category(char)
        if category == "Cf" or ord(char) in _INVISIBLE:
            continue  # zero-width space/joiner, soft hyphen, BOM, bidi marks: hide nothing
        if category.startswith("M") and clusters and not clusters[-1][0].isspace():
            mark, start, _ = clusters[-1]
            clusters[-1] = (mark + char, start, i + 1)
            continue
        if char in _LINE_BREAKS or (
            category in ("So", "Sk") and (ord(char) >= 0x1F000 or 0x2600 <= ord(char) < 0x27C0)
        ):
            # An emoji reads as a line break: patients use it as a full stop ("No fever 😱 I wet
            # myself"), and a long run of them is one break (spaCy splits a run in quadratic time).
            char = "\n"
        elif category.startswith("C") or char.isspace():
            char = " "  # other control characters and every other space are a plain space
        clusters.append((char, i, i + 1))
    return clusters


# Printable ASCII with tabs and line breaks: most messages. NFKC, look-alikes, marks and
# invisible characters cannot occur, so _normalise_plain gives the same result much faster.
_PLAIN = re.compile(r"[\x20-\x7e\t\n\r\x0b\x0c\x1c-\x1e]*")
_RUNS = re.compile(r"[\s\x1c-\x1e]+|[^\s\x1c-\x1e]+")
_BREAK = re.compile(r"[\n\r\x0b\x0c\x1c-\x1e]")


def _normalise_plain(text: str) -> tuple[str, list[tuple[int, int]]]:
    """normalise_text for printable ASCII text (the same result, a test compares them)."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    lowered = text.lower().replace("`", "'")
    for run in _RUNS.finditer(lowered):
        start, end = run.span()
        if lowered[start].isspace() or lowered[start] in "\x1c\x1d\x1e":
            if out:
                line = _BREAK.search(lowered, start, end)
                at = line.start() if line is not None else start
                out.append("\n" if line is not None else " ")
                spans.append((at, at + 1))
            continue
        for k in range(start, end, _MAX_RUN):
            if k > start:
                out.append(" ")  # no word is this long; spaCy splits a long run in quadratic time
                spans.append((k, k + 1))
            stop = min(end, k + _MAX_RUN)
            out.append(lowered[k:stop])
            spans.extend(zip(range(k, stop), range(k + 1, stop + 1), strict=True))
    if out and out[-1] in (" ", "\n"):
        out.pop()
        spans.pop()
    return "".join(out), spans


def normalise_text(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Text as the rules read it, and for each of its characters the span it came from in text.

    Unicode NFKC, Cyrillic and Greek look-alikes as Latin letters (in a mostly Latin text), lower
    case, format and other invisible characters removed, control characters
    as spaces, runs of spaces collapsed (a run with a line break, "\r\n" included, becomes one
    line break, which the pipeline reads as a sentence end). The spans keep the original text
    for display.
    """
    if _PLAIN.fullmatch(text):
        return _normalise_plain(text)
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    fold: dict[int, str] = _LOOKALIKES if _mostly_latin(text) else {}
    run = 0  # characters since the last space in out
    for cluster, start, end in _clusters(text):
        if cluster.isspace():
            if not out:
                continue
            if out[-1] in (" ", "\n"):
                if cluster == "\n" and out[-1] == " ":
                    out[-1] = "\n"  # a line break in a run of spaces is kept: it ends a sentence
                    spans[-1] = (start, end)
                continue
        if len(cluster) == 1 and cluster < "\x80":
            chars = cluster.translate(_ACCENTS).lower()  # NFKC and the folds leave ASCII as it is
        else:
            chars = unicodedata.normalize("NFKC", cluster.translate(_ACCENTS)).translate(fold).lower()
        for char in chars:
            if char.isspace():
                run = 0
            elif run >= _MAX_RUN:
                out.append(" ")  # no word is this long; spaCy splits a long run in quadratic time
                spans.append((start, end))
                run = 0
            if not char.isspace():
                run += 1
            out.append(_APOSTROPHES.get(char, char))
            spans.append((start, end))
    while out and out[-1] in (" ", "\n"):
        out.pop()
        spans.pop()
    return "".join(out), spans
