"""Definitions are data: the shipped ones load, and a bad one is refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from resolution.domain.definitions import DefinitionError
from resolution.domain.reading import load_directory, parse_definition

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"

GOOD = """
key = "mini"
version = 1
title = "Mini"

[[levels]]
key = "one"
title = "One"
acts = ["practitioner"]
timescale = "5 working days"

[[levels]]
key = "two"
title = "Two"
acts = ["manager"]
timescale = "48 hours"
final = true

[[actions]]
key = "escalate"
title = "Escalate"
from = ["one"]
to = "next"
roles = ["practitioner"]

[[actions]]
key = "resolve"
title = "Resolve"
from = "*"
closes = "resolved"
"""


def test_every_shipped_definition_loads() -> None:
    registry = load_directory(WORKFLOWS, "leeds-pcrp")
    keys = {d.key for d in registry.all()}
    assert keys == {"leeds-pcrp", "cp-conference-dissent", "hours-escalation"}
    assert registry.default_key == "leeds-pcrp"


def test_the_leeds_process_has_four_levels_an_urgent_route_and_five_day_defaults() -> None:
    leeds = load_directory(WORKFLOWS).latest("leeds-pcrp")
    assert [lv.key for lv in leeds.levels] == ["practitioners", "managers", "leads", "partnership"]
    assert {str(lv.timescale) for lv in leeds.levels} == {"5 working days"}
    assert leeds.agreed_between_parties
    assert leeds.urgent is not None and leeds.urgent.start == "leads"
    assert str(leeds.urgent.timescale) == "24 hours"
    assert {a.key for a in leeds.actions} >= {"escalate", "resolve", "withdraw"}


def test_the_hours_based_definition_carries_hours_and_working_days() -> None:
    hours = load_directory(WORKFLOWS).latest("hours-escalation")
    assert [str(lv.timescale) for lv in hours.levels] == [
        "48 hours",
        "5 working days",
        "48 hours",
        "10 working days",
    ]


def test_the_conference_dissent_sub_process_runs_on_a_short_clock_in_hours() -> None:
    dissent = load_directory(WORKFLOWS).latest("cp-conference-dissent")
    assert str(dissent.levels[0].timescale) == "72 hours"
    assert not dissent.agreed_between_parties


def test_a_good_minimal_definition_parses() -> None:
    d = parse_definition(GOOD, "mini.toml")
    assert d.states == ("one", "two", "resolved")
    assert d.action("escalate").target("one") == "two"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('to = "next"', 'to = "three"'), "actions[0] 'escalate'.to: unknown level 'three'"),
        (('from = ["one"]', 'from = ["zero"]'), "actions[0] 'escalate'.from: unknown level 'zero'"),
        (
            ('acts = ["manager"]', 'acts = ["director"]'),
            "levels[1] 'two'.acts: unknown role 'director'",
        ),
        (
            ('timescale = "48 hours"', 'timescale = "two days"'),
            "levels[1] 'two'.timescale: cannot read timescale",
        ),
        (('key = "two"', 'key = "one"'), "duplicate level key 'one'"),
        (('key = "resolve"', 'key = "escalate"'), "duplicate action key 'escalate'"),
        (('roles = ["practitioner"]', 'roles = ["chief"]'), "unknown role 'chief'"),
        (('title = "Mini"', 'title = "Mini"\nsurprise = 1'), "unknown key 'surprise'"),
        (("version = 1", 'version = "one"'), "version: must be a whole number"),
    ],
)
def test_a_bad_definition_is_refused_naming_the_file_and_key(
    change: tuple[str, str], message: str
) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(DefinitionError) as caught:
        parse_definition(GOOD.replace(old, new, 1), "bad.toml")
    assert str(caught.value).startswith("bad.toml: ")
    assert message in str(caught.value)


def test_a_level_no_case_can_reach_is_refused() -> None:
    text = GOOD.replace('from = ["one"]\nto = "next"', 'from = ["one"]\nto = "one"')
    with pytest.raises(DefinitionError, match="level 'two': no case can reach this level"):
        parse_definition(text, "x.toml")


def test_a_level_from_which_no_outcome_can_be_reached_is_refused() -> None:
    text = GOOD.replace('from = "*"\ncloses', 'from = ["one"]\ncloses')
    with pytest.raises(DefinitionError, match="level 'two': no closing outcome can be reached"):
        parse_definition(text, "x.toml")


def test_escalating_past_the_last_level_is_refused() -> None:
    text = GOOD.replace('from = ["one"]\nto = "next"', 'from = ["one", "two"]\nto = "next"')
    with pytest.raises(DefinitionError, match="level 'two' has no next level"):
        parse_definition(text, "x.toml")


def test_text_that_is_not_toml_is_refused() -> None:
    with pytest.raises(DefinitionError, match="^x.toml: not valid TOML"):
        parse_definition("key = ", "x.toml")


def test_two_files_with_the_same_key_and_version_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(GOOD)
    (tmp_path / "b.toml").write_text(GOOD)
    with pytest.raises(DefinitionError, match="mini version 1 is also defined in"):
        load_directory(tmp_path)


def test_leeds_version_2_is_the_default_and_closes_only_by_agreement_below_the_partnership() -> (
    None
):
    registry = load_directory(WORKFLOWS, "leeds-pcrp")
    v1, v2 = registry.get("leeds-pcrp", 1), registry.latest("leeds-pcrp")
    assert v2.version == 2 and registry.latest(registry.default_key) is v2
    resolve, withdraw, refer = (v2.action(k) for k in ("resolve", "withdraw", "refer"))
    assert resolve and withdraw and refer
    assert resolve.requires_agreement and refer.requires_agreement
    assert not withdraw.requires_agreement and withdraw.agency == "raising"
    assert resolve.needs_agreement(v2.level("leads"))
    assert not resolve.needs_agreement(v2.level("partnership"))  # the final level stands alone
    # Version 1 is published: its rules stay as they were.
    assert not any(a.requires_agreement for a in v1.actions)
    assert {a.agency for a in v1.actions} == {"any"}


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ('roles = ["practitioner"]', 'roles = ["practitioner"]\nrequires_agreement = true',
         "actions[0] 'escalate'.requires_agreement"),
        ('closes = "resolved"', 'closes = "resolved"\nagency = "ours"', "'resolve'.agency"),
        ('closes = "resolved"', 'closes = "resolved"\nrequires_agreement = "yes"',
         "'resolve'.requires_agreement: must be true or false"),
        ('from = "*"\ncloses = "resolved"',
         'from = "*"\ncloses = "resolved"\nagency = "challenged"\nraiser_may = true',
         "'resolve'.raiser_may"),
    ],
)  # fmt: skip
def test_closing_rules_are_checked_on_load(old: str, new: str, named: str) -> None:
    with pytest.raises(DefinitionError, match=named.replace("[", r"\[").replace("]", r"\]")):
        parse_definition(GOOD.replace(old, new, 1), "bad.toml")


def test_agreement_asked_only_of_a_final_level_is_refused() -> None:
    text = GOOD.replace('from = "*"\ncloses = "resolved"', 'from = ["two"]\ncloses = "resolved"')
    text += '\n[[actions]]\nkey = "settle"\ntitle = "Settle"\nfrom = ["two"]\ncloses = "resolved"\nrequires_agreement = true\n'
    with pytest.raises(DefinitionError, match="final level, whose decision stands alone"):
        parse_definition(text, "bad.toml")
