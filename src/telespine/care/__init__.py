"""telespine.care: follow-up rules: message screening, diary escalation and the reminder schedule.

Pure domain code: no web, database or e-mail. The medspaCy pipeline is built on first use
(get_pipeline), never at import time.
"""

from telespine.care.diary import CaseState, DiaryEntry
from telespine.care.escalation import (
    Escalation,
    EscalationReport,
    EscalationRules,
    ScreenedText,
    evaluate_case,
    load_escalation_rules,
    screen_note,
)
from telespine.care.findings_merge import MergeError, load_merge_order, merge_findings
from telespine.care.reminders import (
    Email,
    Reminder,
    ReminderRules,
    due_reminders,
    load_reminder_rules,
    reminder_key,
    render_email,
)
from telespine.care.retriage import Retriage, retriage, retriage_message
from telespine.care.screening import (
    IgnoredMention,
    Mention,
    Screening,
    ScreeningRules,
    get_pipeline,
    load_screening_rules,
    merge_screening,
    screen_message,
)

__all__ = [
    "CaseState",
    "DiaryEntry",
    "Email",
    "Escalation",
    "EscalationReport",
    "EscalationRules",
    "IgnoredMention",
    "Mention",
    "MergeError",
    "Reminder",
    "ReminderRules",
    "Retriage",
    "ScreenedText",
    "Screening",
    "ScreeningRules",
    "due_reminders",
    "evaluate_case",
    "get_pipeline",
    "load_escalation_rules",
    "load_merge_order",
    "load_reminder_rules",
    "load_screening_rules",
    "merge_findings",
    "merge_screening",
    "reminder_key",
    "render_email",
    "retriage",
    "retriage_message",
    "screen_message",
    "screen_note",
]
