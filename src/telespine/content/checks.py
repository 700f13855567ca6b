"""Safety checks run on every guide at load time, so an edited or added guide cannot mislead.

A guide that fails one raises GuideError, and callers show emergency safety-netting instead.
Checked here (not only by tests on the shipped files) because TELESPINE_GUIDES_DIR and new
guide files are loaded at run time:

- every red flag names rules that exist in the triage rule set, and its action is at least as
  urgent as each rule's level (a guide must never soften the triage policy);
- an adult guide names no pediatric-only rule;
- no emergency number is written out: texts use the {emergency_number} placeholder;
- every source a section cites is in the guide's reference list (the citations link to it);
- pediatric guides name no medicine dose and never suggest aspirin.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from telespine.triage import load_ruleset
from telespine.triage.types import Disposition

from .emergency import hard_coded_numbers
from .errors import GuideError
from .model import (
    ChecklistSection,
    FaqSection,
    Guide,
    ListSection,
    RedFlagsSection,
    SourcesSection,
    TextSection,
)

# Units and words that, right after a number, make a dose ("400 mg", "2 tablets", "5 ml").
DOSE_UNITS = frozenset(
    {
        "mg",
        "mcg",
        "ug",
        "µg",
        "g",
        "ml",
        "l",
        "milligram",
        "milligrams",
        "microgram",
        "micrograms",
        "gram",
        "grams",
        "millilitre",
        "millilitres",
        "milliliter",
        "milliliters",
        "tablet",
        "tablets",
        "pill",
        "pills",
        "capsule",
        "capsules",
        "caplet",
        "caplets",
        "dose",
        "doses",
        "teaspoon",
        "teaspoons",
        "tsp",
        "tablespoon",
        "tablespoons",
        "spoon",
        "spoons",
        "spoonful",
        "spoonfuls",
        "drop",
        "drops",
        "puff",
        "puffs",
        "sachet",
        "sachets",
        "suppository",
        "suppositories",
        "patch",
        "patches",
    }
)
NUMBER_WORDS = frozenset(
    {
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "half",
        "quarter",
    }
)
# Medicine words: a timing pattern ("every 6 hours", "3 times a day") next to one is a dose.
MEDICINE_WORDS = frozenset(
    {
        "medicine",
        "medicines",
        "medication",
        "medications",
        "painkiller",
        "painkillers",
        "drug",
        "drugs",
        "tablet",
        "tablets",
        "pill",
        "pills",
        "syrup",
        "ibuprofen",
        "paracetamol",
        "acetaminophen",
        "naproxen",
        "diclofenac",
        "codeine",
        "tramadol",
        "aspirin",
        "nsaid",
        "nsaids",
        "calpol",
        "nurofen",
        "tylenol",
        "advil",
        "motrin",
    }
)
TIME_UNITS = frozenset({"hour", "hours", "hourly", "hr", "hrs", "h"})
ASPIRIN_WORDS = frozenset({"aspirin", "acetylsalicylic", "salicylate", "salicylates"})
# A mention of aspirin is allowed only as a warning: one of these in the same clause, just before
# it ("never give aspirin") or just after it ("aspirin is not safe").
NEGATIONS = frozenset({"never", "not", "don't", "dont", "no", "avoid", "isn't", "mustn't", "shouldn't"})
NEGATION_BEFORE = 6
NEGATION_AFTER = 3


def iter_texts(guide: Guide) -> Iterator[tuple[str, str]]:
    """Every text a reader sees, with the key path it came from."""
    yield "title", guide.title
    yield "emergency_line", guide.emergency_line
    for disposition in Disposition:
        yield f"actions.{disposition.value}", guide.actions.for_(disposition)
    for index, section in enumerate(guide.sections):
        where = f"sections[{index}]"
        yield f"{where}.title", section.title
        if isinstance(section, TextSection):
            for i, para in enumerate(section.paragraphs):
                yield f"{where}.paragraphs[{i}]", para
        elif isinstance(section, ListSection | ChecklistSection):
            yield f"{where}.intro", section.intro
            for i, item in enumerate(section.items):
                yield f"{where}.items[{i}]", item
            if isinstance(section, ListSection):
                yield f"{where}.outro", section.outro
        elif isinstance(section, RedFlagsSection):
            yield f"{where}.intro", section.intro
            for i, flag in enumerate(section.flags):
                yield f"{where}.flags[{i}].text", flag.text
        elif isinstance(section, FaqSection):
            for i, faq in enumerate(section.items):
                yield f"{where}.items[{i}].question", faq.question
                yield f"{where}.items[{i}].answer", faq.answer
        elif isinstance(section, SourcesSection):
            yield f"{where}.intro", section.intro


def words(text: str) -> list[str]:
    """Lowercase words; digits stay, other punctuation separates (apostrophes are kept)."""
    text = text.lower().replace("\u2019", "'")
    return "".join(ch if ch.isalnum() or ch in "'µ" else " " for ch in text).split()


def sentences(text: str) -> list[str]:
    """Rough sentence split, enough for looking at words that belong together."""
    for mark in "!?;":
        text = text.replace(mark, ".")
    return [s for s in text.split(".") if s.strip()]


def _is_number(word: str) -> bool:
    return word.isdigit() or word in NUMBER_WORDS or _split_amount(word) is not None


def _split_amount(word: str) -> tuple[str, str] | None:
    """'400mg' -> ('400', 'mg'); None for a word that is not digits followed by letters."""
    digits = len(word) - len(word.lstrip("0123456789"))
    if 0 < digits < len(word):
        return word[:digits], word[digits:]
    return None


def dose_problems(text: str) -> list[str]:
    """Dose-like phrases in text: a number with a dose unit, or a medicine with a timing."""
    found: list[str] = []
    for sentence in sentences(text):
        ws = words(sentence)
        for index, word in enumerate(ws):
            amount = _split_amount(word)
            if amount is not None and amount[1] in DOSE_UNITS:
                found.append(word)
            nxt = ws[index + 1] if index + 1 < len(ws) else ""
            if _is_number(word) and nxt in DOSE_UNITS:
                found.append(f"{word} {nxt}")
            third = ws[index + 2] if index + 2 < len(ws) else ""
            if _is_number(word) and nxt in {"a", "an"} and third in DOSE_UNITS:
                found.append(f"{word} {nxt} {third}")  # "half a tablet"
            if word in {"mg", "mcg", "µg"}:
                found.append(word)  # "mg/kg", "mg per dose": a dose unit even without a number before it
        if MEDICINE_WORDS & set(ws):
            for index, word in enumerate(ws[:-1]):
                nxt = ws[index + 1]
                # "every 6 hours", "every 4 to 6 hours", "3 times a day", "twice a day"
                after = ws[index + 1 : index + 5]
                if word == "every" and any(_is_number(w) for w in after[:2]) and TIME_UNITS & set(after):
                    found.append(" ".join(ws[index : index + 5]))
                if _is_number(word) and nxt == "times":
                    found.append(f"{word} times")
                if word in {"twice", "thrice"} and nxt in {"a", "daily", "per", "each"}:
                    found.append(f"{word} {nxt}")
    return found


def aspirin_problems(text: str) -> list[str]:
    """Mentions of aspirin that are not a warning against it (clauses split at commas too)."""
    found: list[str] = []
    for sentence in sentences(text):
        for clause in sentence.replace(",", ".").replace(":", ".").split("."):
            ws = words(clause)
            for index, word in enumerate(ws):
                if word not in ASPIRIN_WORDS:
                    continue
                near = (
                    ws[max(0, index - NEGATION_BEFORE) : index] + ws[index + 1 : index + 1 + NEGATION_AFTER]
                )
                if not NEGATIONS & set(near):
                    found.append(clause.strip())
    return found


def _check_rules(path: Path, guide: Guide) -> None:
    try:
        ruleset = load_ruleset()
    except Exception as exc:  # RuleSetError, or any bug in loading the rules
        # Without the rules a guide's red flags cannot be checked; treat the guide as unsafe.
        raise GuideError(path, f"cannot check red flags: the triage rules do not load ({exc})") from exc
    known = {rule.id: rule for rule in ruleset.rules}
    index = guide.sections.index(guide.red_flags)
    for i, flag in enumerate(guide.red_flags.flags):
        key = f"sections[{index}].flags[{i}]"
        for rule_id in flag.rules:
            rule = known.get(rule_id)
            if rule is None:
                raise GuideError(path, f"red flag {flag.id!r} names unknown rule {rule_id!r}", f"{key}.rules")
            level = Disposition(rule.level)
            if flag.action.level > level.level:
                raise GuideError(
                    path,
                    f"red flag {flag.id!r} says {flag.action.value} but rule {rule_id} is {level.value}: "
                    "a guide may never be less urgent than the triage rules",
                    f"{key}.action",
                )
            if guide.audience == "adult" and rule.audience == "pediatric":
                raise GuideError(
                    path, f"red flag {flag.id!r}: {rule_id} applies to children only", f"{key}.rules"
                )


def _check_citations(path: Path, guide: Guide) -> None:
    listed = set(guide.section("sources").sources)
    for index, section in enumerate(guide.sections):
        missing = [key for key in section.sources if key not in listed]
        if missing:
            raise GuideError(
                path,
                f"cites {', '.join(missing)}, which the 'sources' section does not list",
                f"sections[{index}].sources",
            )


def check_guide(path: Path, guide: Guide) -> None:
    """Run every load-time safety check on a raw guide (placeholders unfilled); GuideError on failure."""
    _check_rules(path, guide)
    _check_citations(path, guide)
    for key, text in iter_texts(guide):
        numbers = hard_coded_numbers(text)
        if numbers:
            raise GuideError(
                path, f"names the emergency number {numbers[0]}; write {{emergency_number}} instead", key
            )
        if guide.audience != "pediatric":
            continue
        doses = dose_problems(text)
        if doses:
            raise GuideError(path, f"a guide for children must not give a dose ({doses[0]!r})", key)
        aspirin = aspirin_problems(text)
        if aspirin:
            raise GuideError(
                path, f"a guide for children may name aspirin only to warn against it ({aspirin[0]!r})", key
            )
