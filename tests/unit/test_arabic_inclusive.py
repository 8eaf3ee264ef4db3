"""Arabic catalog texts never address or describe a person in the masculine only.

Many readers of this bot are trans, non-binary or women; Arabic verbs,
imperatives and pronouns carry gender, and the texts used to speak to every
reader, and about the person in danger, as a man ("لم يسجّل {member} وصوله
بأمان"). The texts now use verbal nouns, the passive, "يُرجى …", teams
("فريق التنظيم") and plural imperatives for a room. The forms below were removed
and must not come back, in any catalog, including keys added later.
"""

from __future__ import annotations

import re

import pytest

from tests.unit.test_core_i18n import CATALOGS

# Marks dropped before matching. Damma stays: it is what tells the passive
# "أُرسل" (it was sent) from the imperative "أرسل" (send!).
_MARKS = re.compile("[\u064b\u064d\u064e\u0650\u0651\u0652\u0640]")
_LETTER = "\u0621-\u064a\u064c\u064f"  # a letter, or the damma left on one

# Masculine-singular imperatives addressed to the reader, with و/ف in front and
# an object pronoun after them (أكّده، فأخبر، احذفها).
_IMPERATIVES = (
    "أرسل", "اكتب", "اختر", "أضف", "استخدم", "جرب", "أكد", "ابدأ", "أجب", "أخبر", "تفاعل",
    "اطمئن", "أغلق", "فكر", "حاول", "أعط", "اطلب", "راجع", "امنح", "ادع", "اقرأ", "اقبل",
    "احذف", "اسأل", "تأكد", "حدد", "اسمح", "مرر", "اضغط", "كن", "تخلص", "أبق", "اجعل", "ابحث",
    "اقترح", "استلم", "تواصل مع",
)
IMPERATIVE = re.compile(
    rf"(?<![{_LETTER}])[وف]?(?:{'|'.join(_IMPERATIVES)})(?:ه|ها|هم|ني)?(?![{_LETTER}])")

# Masculine forms of the reader or of a named person, and masculine plurals
# for roles that have a neutral team name.
FORBIDDEN = (
    "أنه في خطر", "أنه بأمان", "وصوله بأمان", "لم يسجل", "أشار", "ملاحظته", "لم يترك",
    "تكون بأمان", "عندما تكون", "لم تسجل", "إن لم تفعل", "هل تقصد", "عم تبحث", "ما تريد",
    "هل تود", "لتتمكن", "لترى", "لتقول", "ستُنبه", "لن تُقيد", "لم يقبل بعد", "يطلب منك",
    "اتصاله", "فاته", "يمكنه", "مشتركا", "لست مشرفا", "كن لطيفا", "مشغل البوت", "للمنظمين",
    "المنظمون", "منظمو", "منظمي", "المنظمين", "مشرفو", "مشرفي", "مديري", "القيمين",
    "القادمون", "القادمين", "عضوا", "تتصرف",
)



def _has(text: str, form: str) -> bool:
    """`form` at the start of a word (`فاته` is "he missed it", not the end of `معرّفاتها`)."""
    return re.search(rf"(?<![{_LETTER}]){re.escape(form)}", text) is not None


def _arabic_texts() -> list[tuple[str, str]]:
    return [(f"{owner}.{key}", _MARKS.sub("", forms["ar"]))
            for owner, catalog in sorted(CATALOGS.items())
            for key, forms in catalog.messages.items() if forms.get("ar")]


TEXTS = _arabic_texts()


def test_every_catalog_is_read() -> None:
    owners = {name.rsplit(".", 1)[0] for name, _ in TEXTS}
    assert {"core.messages", "checkins", "alerts", "moderation", "onboarding", "resources",
            "admin"} <= owners
    assert len(TEXTS) > 400


@pytest.mark.parametrize("text", [
    "أرسل !safe عندما تكون بأمان", "فأكّده هناك", "احذفها", "تأكّد منه شخصياً",
    "لم يسجّل {member} وصوله بأمان", "أشار {member} إلى أنه في خطر", "للمنظّمين: بدء",
    "اطلب من مشغّل البوت",
])
def test_the_old_forms_are_caught(text: str) -> None:
    # The patterns find what the catalogs used to say; a test that could not fail proves nothing.
    text = _MARKS.sub("", text)
    assert IMPERATIVE.search(text) or any(_has(text, form) for form in FORBIDDEN)


@pytest.mark.parametrize("text", [
    "أُرسل الطلب إلى {user}.", "يُرجى إرسال {safe} ليعرفوا أنك بأمان.", "لم أعد أتابع {room}",
    "أجيبوا بالأمر {here} أو تفاعلوا بـ ✅", "وسيلة تواصل (هاتف، بريد)",
    "للتأكيد أنك بأمان: {safe}",
])
def test_neutral_forms_pass(text: str) -> None:
    text = _MARKS.sub("", text)
    assert not IMPERATIVE.search(text)
    assert not [form for form in FORBIDDEN if _has(text, form)]


def test_no_masculine_only_imperative_to_the_reader() -> None:
    found = [f"{name}: {match.group(0)!r}" for name, text in TEXTS
             if (match := IMPERATIVE.search(text))]
    assert found == []


def test_no_masculine_only_description_of_people() -> None:
    found = [f"{name}: {form!r}" for name, text in TEXTS for form in FORBIDDEN
             if _has(text, form)]
    assert found == []
