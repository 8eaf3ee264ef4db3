"""Onboarding's pure parts: texts, settings, power-level arithmetic, space children, drafts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bots.onboarding.directory import matrix_to, space_children
from bots.onboarding.gate import hold_level, level_to_manage, speak_level
from bots.onboarding.introductions import Introductions, introduction
from bots.onboarding.messages import CATALOG
from bots.onboarding.settings import RULES_MAX, OnboardingSettings
from bots.onboarding.texts import (
    PrivateWelcome,
    Rules,
    missing_translations,
    names_list,
    private_welcome,
    room_rules,
    room_welcome,
    rules_block,
)
from core.i18n import FSI, PDI


def test_catalog_complete_in_english_and_arabic() -> None:
    assert CATALOG.problems() == []


def test_names_list_names_a_few_and_counts_the_rest() -> None:
    users = [f"@u{i}:localhost" for i in range(200)]
    text = names_list("en", users, 2)
    assert text == f"{FSI}@u0:localhost{PDI}, {FSI}@u1:localhost{PDI} and 198 others"
    arabic = names_list("ar", users, 2)
    assert "198" in arabic and "إضافةً إلى" in arabic
    assert names_list("en", users[:3], 5).endswith(f"and {FSI}@u2:localhost{PDI}")
    assert names_list("en", users[:1], 5) == f"{FSI}@u0:localhost{PDI}"


def test_room_welcome_mentions_only_named_newcomers() -> None:
    settings = OnboardingSettings(batch_names=3)
    users = [f"@u{i}:localhost" for i in range(50)]
    welcome = room_welcome(settings, "en", users)
    assert welcome.mentions == tuple(users[:3])
    assert "47 others" in welcome.text


def test_custom_room_welcome_places_names() -> None:
    settings = OnboardingSettings(room_welcome_en="Hello {names}, read the pins!")
    welcome = room_welcome(settings, "en", ["@a:x"])
    assert welcome.text == f"Hello {FSI}@a:x{PDI}, read the pins!"
    without = room_welcome(OnboardingSettings(room_welcome_en="Read the pins."), "en", ["@a:x"])
    assert without.text == f"{FSI}@a:x{PDI}: Read the pins."
    # Arabic readers get the Arabic default when only English was customised.
    assert "أهلاً" in room_welcome(settings, "ar", ["@a:x"]).text


def test_rules_fall_back_to_the_default_language_then_another_then_the_built_in() -> None:
    assert room_rules(OnboardingSettings(rules_ar="كن لطيفاً"), "ar") == Rules(
        "كن لطيفاً", "ar", False)
    assert room_rules(OnboardingSettings(rules_en="Be kind"), "ar") == Rules("Be kind", "en", False)
    assert room_rules(OnboardingSettings(rules_ar="كن لطيفاً"), "en", "ar").language == "ar"
    built_in = room_rules(OnboardingSettings(), "ar")
    assert built_in.default and built_in.language == "ar" and "لطيف" in built_in.text


def test_rules_in_another_language_say_so_under_the_readers_title() -> None:
    settings = OnboardingSettings(rules_en="Be kind")
    arabic = rules_block(settings, "ar", "Garden")
    header, text = arabic.split("\n", 1)
    assert text == "Be kind"
    # An Arabic title that says no Arabic version exists, and which language follows.
    assert "العربية" in header and "الإنجليزية" in header and "Garden" in header
    assert header != CATALOG.text("dm_rules_header", "ar", room="Garden")
    assert rules_block(settings, "en", "Garden") == CATALOG.text(
        "dm_rules_header", "en", room="Garden") + "\nBe kind"
    own = rules_block(OnboardingSettings(rules_ar="كن لطيفاً"), "ar", "Garden")
    assert own == CATALOG.text("dm_rules_header", "ar", room="Garden") + "\nكن لطيفاً"


def test_missing_translations_name_texts_written_in_another_language_only() -> None:
    settings = OnboardingSettings(rules_en="Be kind", dm_welcome_en="Hi", room_welcome_ar="أهلاً")
    assert missing_translations(settings, "ar") == ["rules", "dm_welcome"]
    assert missing_translations(settings, "en") == ["room_welcome"]
    assert missing_translations(OnboardingSettings(), "ar") == []


def test_private_welcome_in_arabic_offers_languages_first_and_explains_the_gate() -> None:
    settings = OnboardingSettings(rules_ar="القاعدة الأولى\nالقاعدة الثانية", gate=True,
                                  introductions_room="!intro:x")
    text = private_welcome(settings, PrivateWelcome(
        room_name="غرفة", language="ar", offer_languages=True, gated=True,
        intro_room_name="تعارف", prefix="!"))
    first, rest = text.split("\n\n", 1)
    assert "!language en" in first and "!language ar" in first
    assert "القاعدة الأولى\nالقاعدة الثانية" in rest
    assert "!agree" in rest and "✅" in rest and "!intro" in rest and "!rooms" in rest
    quiet = private_welcome(OnboardingSettings(), PrivateWelcome(
        room_name="Room", language="en", offer_languages=False, gated=False,
        intro_room_name=None, prefix="!"))
    assert "!language" not in quiet and "!intro" not in quiet
    assert "Taking part" in quiet


def test_settings_refuse_bad_values() -> None:
    with pytest.raises(ValidationError):
        OnboardingSettings(rules_en="x" * (RULES_MAX + 1))
    with pytest.raises(ValidationError):
        OnboardingSettings(introductions_room="#alias:x")
    with pytest.raises(ValidationError):
        OnboardingSettings(directory_rooms=["not a room"])
    with pytest.raises(ValidationError):
        OnboardingSettings(intro_questions=["age"])
    with pytest.raises(ValidationError):
        OnboardingSettings(reminder_hours=-1)
    ok = OnboardingSettings(directory_rooms=["#a:x", "!b:y"], directory_space="!s:x")
    assert ok.directory_rooms == ["#a:x", "!b:y"]
    # Room version 12 ids carry no server part.
    assert OnboardingSettings(introductions_room="!t3irFWUp_WJaQ-T3x").introductions_room
    with pytest.raises(ValidationError):
        OnboardingSettings(directory_rooms=["#alias-without-server"])


def test_hold_level_is_just_below_speaking() -> None:
    levels = {"users_default": 0, "events_default": 0, "users": {"@admin:x": 100}}
    assert speak_level(levels) == 0
    assert hold_level(levels, "@new:x") == -1
    # An explicit level (a moderator rejoining) is never lowered.
    assert hold_level(levels, "@admin:x") is None
    # A room where plain members already cannot speak needs no hold.
    assert hold_level({"users_default": 0, "events_default": 10}, "@new:x") is None
    # The encrypted message type can be stricter than the default.
    strict = {"users_default": 20, "events_default": 0, "events": {"m.room.encrypted": 10}}
    assert hold_level(strict, "@new:x") == -1
    assert speak_level({"events_default": "5"}) == 5
    assert level_to_manage({"events": {"m.room.power_levels": 100}}) == 100
    assert level_to_manage({}) == 50


def test_space_children_skip_removed_ones_and_links_carry_via() -> None:
    state = [
        {"type": "m.space.child", "state_key": "!b:x", "content": {"via": ["x"]}},
        {"type": "m.space.child", "state_key": "!gone:x", "content": {}},
        {"type": "m.room.name", "state_key": "", "content": {"name": "Space"}},
        {"type": "m.space.child", "state_key": "!a:y", "content": {"via": ["y", "z"]}},
    ]
    assert space_children(state) == [("!a:y", ["y", "z"]), ("!b:x", ["x"])]
    assert matrix_to("!a:y", ["y", "z"]) == "https://matrix.to/#/!a:y?via=y&via=z"
    assert matrix_to("!a:y") == "https://matrix.to/#/!a:y?via=y"
    assert matrix_to("#room:x") == "https://matrix.to/#/#room:x"


def test_introduction_draft_skips_and_composes() -> None:
    intros = Introductions()
    intros.start("@m:x", "!intro:x", ["pronouns", "languages", "reason"])
    intros.answer("@m:x", "they/them")
    intros.answer("@m:x", "-")
    draft = intros.answer("@m:x", "mutual\naid")
    assert draft is not None and draft.complete
    assert intros.answer("@m:x", "more") is None
    post = introduction("en", "@m:x", draft)
    assert "Pronouns: " in post and "Languages" not in post and "mutual aid" in post
    assert intros.drop("@m:x") is draft and intros.drop("@m:x") is None
