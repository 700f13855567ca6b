"""Red-flag screening of free-text patient and parent messages.

The package reads a message in layers (docs/care.md, "Screening messages"):

- `normalise`: Unicode, look-alike letters, invisible characters and spaces, with offsets kept;
- `matching`: the medspaCy pipeline (sentences, line breaks, TargetMatcher) built from
  `data/screening.yaml`;
- `context`: ConText (negated, hedged, hypothetical, historical, family mentions);
- `language`: the known-words check for a text the rules cannot read;
- `screen`: `screen_message`, the public entry point.
"""

from telespine.care.screening.matching import Pipeline, build_pipeline, get_pipeline
from telespine.care.screening.normalise import normalise_text
from telespine.care.screening.result import IgnoredMention, Mention, Screening, merge_screening
from telespine.care.screening.rules import Concept, ScreeningRules, load_screening_rules
from telespine.care.screening.screen import screen_message

__all__ = [
    "Concept",
    "IgnoredMention",
    "Mention",
    "Pipeline",
    "Screening",
    "ScreeningRules",
    "build_pipeline",
    "get_pipeline",
    "load_screening_rules",
    "merge_screening",
    "normalise_text",
    "screen_message",
]
