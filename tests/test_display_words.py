"""The one registry of display words (display_words.py): every code of every enum has its words in both
languages, the word lists other modules still keep say the same, and an unknown code never raises."""

from __future__ import annotations

import pytest

from xinfang.archives.models import EntryKind, ReviewState
from xinfang.archives.reviews import PURPOSES
from xinfang.auth.models import GrantState, Role
from xinfang.calendar import PeriodUnit
from xinfang.cards import console
from xinfang.cards.models import ActionKind, SupervisionState
from xinfang.cards.service import OUTCOME_NAMES
from xinfang.display_words import REGISTRY, all_codes, entry_status, word, words
from xinfang.petitions.models import CHANNEL_NAMES, Channel
from xinfang.petitions.views import ACTION_NAMES
from xinfang.petitions.workflow import FIELD_TITLES, default_workflow
from xinfang_search.models import CandidateStatus

ENUMS = [(Channel, "channel"), (SupervisionState, "supervision_state"), (ReviewState, "review_state"), (EntryKind, "entry_kind"),
         (Role, "role"), (GrantState, "grant_state"), (ActionKind, "action_kind"), (PeriodUnit, "period_unit"),
         (CandidateStatus, "search_candidate")]


@pytest.mark.parametrize(("enum", "group"), ENUMS, ids=[g for _, g in ENUMS])
def test_every_code_of_every_enum_has_words_in_both_languages(enum, group):
    for member in enum:
        names = words(group).get(member.value)
        assert names and names["zh"] and names["en"], (group, member.value)
        assert word(group, member, "zh") == names["zh"] and word(group, member.value, "en") == names["en"]


def test_every_entry_of_the_registry_has_both_languages():
    for group, codes in REGISTRY.items():
        for code, names in codes.items():
            assert set(names) == {"zh", "en"} and all(names.values()), (group, code)


def test_the_default_workflow_and_the_registry_say_the_same():
    workflow = default_workflow()
    assert {s.key: s.name.model_dump() for s in workflow.states} == words("petition_state")
    for transition in workflow.transitions:
        assert words("petition_action")[transition.key] == transition.name.model_dump(), transition.key
    for field, names in FIELD_TITLES.items():
        assert words("step_field").get(field) == names, f"add {field!r} to display_words.STEP_FIELD"
    for action, names in ACTION_NAMES.items():
        assert words("petition_action").get(action) == names, f"add {action!r} to display_words.PETITION_ACTION"


def test_word_lists_kept_elsewhere_say_the_same_as_the_registry():
    # cards/console.py and cards/service.py still keep their own lists (owned elsewhere): they must not drift.
    assert console.STATE_NAMES == words("supervision_state")
    assert console.VERB_NAMES == words("supervision_verb")
    assert OUTCOME_NAMES == words("supervision_outcome")
    assert console.ACTION_NOTE_NAMES == words("supervision_note")
    assert {c.value: names for c, names in CHANNEL_NAMES.items()} == words("channel")
    assert PURPOSES == words("review_purpose")


def test_an_unknown_code_reads_as_unknown_and_never_raises():
    assert word("review_state", "no_such_state", "zh") == "未知（no_such_state）"
    assert word("review_state", "no_such_state", "en") == "unknown (no_such_state)"
    assert word("no_such_group", "active", "zh") == "未知（active）"
    assert word("review_state", None, "zh") == word("review_state", "", "en") == "—"
    assert entry_status("card", "rectifying", "zh") == "整改中"
    assert entry_status("petition", "reviewed", "en") == "Reviewed"
    assert entry_status("document", "filed", "zh") == "已归档"
    assert {"awaiting_approval", "archive.opinion.pdf", "online", "rectifying"} <= all_codes()
