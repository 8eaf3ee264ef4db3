"""The command parser (core/commands.py): finding commands, quoting, binding to signatures."""

from __future__ import annotations

import contextlib
import enum
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.commands import (
    BadArgument,
    CommandError,
    Invocation,
    MissingArgument,
    Signature,
    TooManyArguments,
    UnclosedQuote,
    UserId,
    find_invocation,
    split_words,
)

BOT = "@solidarity:example.org"


def find(body: str, *, mentioned: bool = False, prefix: str = "!") -> Invocation | None:
    return find_invocation(
        body, prefix=prefix, bot_user_id=BOT, bot_names=("Solidarity bot",), mentioned=mentioned
    )


# -- find_invocation --------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "name", "args"),
    [
        ("!help", "help", ""),
        ("!HELP", "help", ""),
        ("  !help  ", "help", ""),
        ("!help config", "help", "config"),
        ("!config admin min_role moderator", "config", "admin min_role moderator"),
        ("!note first line\nsecond line", "note", "first line\nsecond line"),
        ("!note\nbody on the next line", "note", "body on the next line"),
        (f"{BOT}: help", "help", ""),
        (f"{BOT} help me", "help", "me"),
        (f"{BOT}, help", "help", ""),
        (f"{BOT}: !help", "help", ""),
        (f"{BOT.upper()}: help", "help", ""),
    ],
)
def test_find_invocation_prefix_and_user_id(body: str, name: str, args: str) -> None:
    assert find(body) == Invocation(name=name, args=args)


def test_display_name_addresses_the_bot_only_when_mentioned() -> None:
    assert find("Solidarity bot: help", mentioned=True) == Invocation("help", "")
    assert find("solidarity BOT, help config", mentioned=True) == Invocation("help", "config")
    assert find("Solidarity bot: !help", mentioned=True) == Invocation("help", "")
    # Without the mention the display name is just text someone wrote.
    assert find("Solidarity bot: help") is None
    assert find("Solidarity bot: !help") is None


def test_a_name_that_merely_starts_with_the_bots_is_not_addressing_it() -> None:
    assert find(f"{BOT}x: help") is None
    assert find("Solidarity botanist: help", mentioned=True) is None


def test_reply_fallback_is_stripped() -> None:
    body = "> <@alex:example.org> what time is it?\n> second quoted line\n\n!time Cairo"
    assert find(body) == Invocation("time", "Cairo")
    # The quoted text itself can never trigger a command.
    assert find("> <@alex:example.org> !ban @x:y\n\nthanks!") is None


@pytest.mark.parametrize(
    "body",
    [
        "",
        "   ",
        "hello there",
        "!",
        "! help",
        "!\nhelp",
        "a !help in the middle",
        "> !help",
        "help",
        "Solidarity bot",
        f"{BOT}",
        f"{BOT}:   ",
        "@someone:else.org: help",
    ],
)
def test_non_commands_return_none(body: str) -> None:
    assert find(body, mentioned=False) is None


def test_custom_multi_character_prefix() -> None:
    assert find("sol.help", prefix="sol.") == Invocation("help", "")
    assert find("!help", prefix="sol.") is None


# -- forgiving forms in a DM ---------------------------------------------------

KNOWN = frozenset({"help", "checkin", "safe", "cancel", "find", "language", "lang"})


def dm(body: str, *, prefix: str = "!") -> Invocation | None:
    return find_invocation(body, prefix=prefix, bot_user_id=BOT, bot_names=("Solidarity bot",),
                           in_dm=True, known=KNOWN)


@pytest.mark.parametrize(
    ("body", "name", "args"),
    [
        ("help", "help", ""),
        ("Help", "help", ""),
        ("HELP?", "help", ""),
        ("help!", "help", ""),
        ("help me please", "help", ""),
        ("help checkin", "help", "checkin"),
        ("help !safe", "help", "!safe"),
        ("help nonsense", "help", ""),
        ("commands", "help", ""),
        ("?", "help", ""),
        ("؟", "help", ""),
        ("？", "help", ""),
        ("مساعدة", "help", ""),
        ("\u200fhelp", "help", ""),
        ("! help", "help", ""),
        ("!  checkin 2h walking home", "checkin", "2h walking home"),
        ("!\nhelp", "help", ""),
        ("!Help", "help", ""),
        ("!ＨＥＬＰ", "help", ""),
        ("！help", "help", ""),
        ("／help", "help", ""),
        ("/help", "help", ""),
        ("/safe 1234", "safe", "1234"),
        ("! Safe 1234", "safe", "1234"),
        # The exact prefix with an unknown name still answers (with a suggestion).
        ("! hepl", "hepl", ""),
        ("!hepl", "hepl", ""),
        (f"{BOT}: help", "help", ""),
    ],
)
def test_a_dm_forgives_the_form(body: str, name: str, args: str) -> None:
    assert dm(body) == Invocation(name=name, args=args)


@pytest.mark.parametrize(
    "body",
    [
        "hello",
        "hi, can you help?",
        # Free answers in a DM (an introduction, a guided entry) are only words.
        "cancel",
        "safe",
        "safe and sound",
        "checkin 2h",
        "find housing",
        "/shrug",  # another marker than the prefix: only for the bot's commands
        "/ hello",
        "!",
        "/",
        "...",
        "",
        "   ",
    ],
)
def test_a_dm_does_not_take_every_message_for_a_command(body: str) -> None:
    assert dm(body) is None


@pytest.mark.parametrize(
    "body", ["help", "Help", "! help", "／help", "！help", "؟", "?", "/help", "!\nhelp"]
)
def test_a_group_room_stays_strict(body: str) -> None:
    assert find_invocation(body, prefix="!", bot_user_id=BOT, known=KNOWN) is None
    assert find_invocation(body, prefix="!", bot_user_id=BOT, in_dm=False, known=KNOWN) is None


def test_a_dm_with_another_prefix_still_takes_the_usual_marks() -> None:
    assert dm("sol.help", prefix="sol.") == Invocation("help", "")
    assert dm("SOL. help", prefix="sol.") == Invocation("help", "")
    assert dm("!help", prefix="sol.") == Invocation("help", "")
    assert dm("!hepl", prefix="sol.") is None
    assert dm("help", prefix="sol.") == Invocation("help", "")


def test_forgiving_keeps_the_arguments_as_typed() -> None:
    # Only the prefix and the name are folded; a note keeps its width and case.
    assert dm("！checkin 2h Ｃafé at 5") == Invocation("checkin", "2h Ｃafé at 5")


# -- split_words ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", []),
        ("   ", []),
        ("one two  three", ["one", "two", "three"]),
        ('"two words" three', ["two words", "three"]),
        ("'two words' three", ["two words", "three"]),
        ("“curly quotes” next", ["curly quotes", "next"]),
        ("‘single curly’ next", ["single curly", "next"]),
        ("„German style“ next", ["German style", "next"]),
        ("«Arabic style» next", ["Arabic style", "next"]),
        ("«نص عربي» next", ["نص عربي", "next"]),
        ("don't stop", ["don't", "stop"]),
        ("it’s fine", ["it’s", "fine"]),
        ('say "it\'s fine" now', ["say", "it's fine", "now"]),
        ('""', [""]),
        ("a\tb\nc", ["a", "b", "c"]),
    ],
)
def test_split_words(text: str, words: list[str]) -> None:
    assert split_words(text) == (words, "")


def test_split_words_with_count_keeps_the_rest_untouched() -> None:
    words, rest = split_words('  first "second word"   the rest\n  "stays" as is  ', 2)
    assert words == ["first", "second word"]
    assert rest == 'the rest\n  "stays" as is'


@pytest.mark.parametrize("text", ['"open', "one 'two", "“never closed", "«no end", 'a "b" "c'])
def test_unclosed_quote_is_an_error(text: str) -> None:
    with pytest.raises(UnclosedQuote) as caught:
        split_words(text)
    assert caught.value.values["quote"] in "\"'“«"
    assert caught.value.key == "unclosed_quote"


def test_quote_only_opens_at_the_start_of_a_word() -> None:
    # A straight quote inside a word is an apostrophe, not an opener.
    assert split_words('rock\'n\'roll 5"') == (["rock'n'roll", '5"'], "")


# -- Signature.bind ---------------------------------------------------------


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "Slow"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


async def one_word(self: Any, ctx: Any, value: str) -> None: ...


async def defaulted(self: Any, ctx: Any, name: str, count: int = 3) -> None: ...


async def variadic(self: Any, ctx: Any, user: UserId, *reason: str) -> None: ...


async def numbers(self: Any, ctx: Any, *values: float) -> None: ...


async def rest_of_line(self: Any, ctx: Any, plugin: str, key: str, *, value: str) -> None: ...


async def optional_rest(self: Any, ctx: Any, *, text: str = "default") -> None: ...


async def typed(
    self: Any, ctx: Any, n: int, x: float, flag: bool, who: UserId,
    pick: Literal["red", "Blue", 3], mode: Mode, level: Level,
) -> None: ...


async def optional_choice(self: Any, ctx: Any, mode: Literal["on", "off"] | None = None) -> None: ...


async def nothing(self: Any, ctx: Any) -> None: ...


async def untyped(self, ctx, word):  # type: ignore[no-untyped-def]
    ...


def test_bind_positional_and_defaults() -> None:
    assert Signature(one_word).bind("hello") == (["hello"], {})
    assert Signature(one_word).bind('"hello world"') == (["hello world"], {})
    assert Signature(defaulted).bind("x") == (["x", 3], {})
    assert Signature(defaulted).bind("x 7") == (["x", 7], {})
    assert Signature(nothing).bind("   ") == ([], {})
    assert Signature(untyped).bind("as-is") == (["as-is"], {})


def test_bind_variadic_words() -> None:
    assert Signature(variadic).bind("@a:b.org") == ([UserId("@a:b.org")], {})
    args, kwargs = Signature(variadic).bind('@a:b.org spamming "the room" again')
    assert args == ["@a:b.org", "spamming", "the room", "again"]
    assert isinstance(args[0], UserId)
    assert kwargs == {}
    assert Signature(numbers).bind("1 2.5 -3e2") == ([1.0, 2.5, -300.0], {})


def test_bind_keyword_only_takes_the_raw_rest_of_the_line() -> None:
    text = 'admin greeting  Hello "friend",\n  welcome!\n\nSecond paragraph.  '
    args, kwargs = Signature(rest_of_line).bind(text)
    assert args == ["admin", "greeting"]
    assert kwargs == {"value": 'Hello "friend",\n  welcome!\n\nSecond paragraph.'}
    # An unclosed quote in the rest of the line is just text.
    assert Signature(rest_of_line).bind('a b "unclosed')[1] == {"value": '"unclosed'}


def test_bind_optional_rest_of_line() -> None:
    assert Signature(optional_rest).bind("") == ([], {})
    assert Signature(optional_rest).bind(" 'all of it' ") == ([], {"text": "'all of it'"})


def test_bind_converts_types() -> None:
    args, _ = Signature(typed).bind("-12 2.5 ON @x:example.org blue FAST 2")
    assert args == [-12, 2.5, True, "@x:example.org", "Blue", Mode.FAST, Level.HIGH]
    assert type(args[0]) is int
    assert isinstance(args[3], UserId)
    args, _ = Signature(typed).bind("١٢ 1e3 off @x:y 3 slow 1")
    assert args == [12, 1000.0, False, "@x:y", 3, Mode.SLOW, Level.LOW]


@pytest.mark.parametrize(
    ("word", "expected"),
    [("yes", True), ("true", True), ("1", True), ("On", True),
     ("no", False), ("FALSE", False), ("0", False), ("off", False)],
)
def test_bool_words(word: str, expected: bool) -> None:
    args, _ = Signature(typed).bind(f"1 1 {word} @a:b red fast 1")
    assert args[2] is expected


VALID = ["1", "1.5", "on", "@a:b", "red", "fast", "1"]


@pytest.mark.parametrize(
    ("index", "bad", "name", "expected"),
    [
        (0, "1.5", "n", "int"),
        (0, "twelve", "n", "int"),
        (0, "9" * 5000, "n", "int"),
        (1, "nan", "x", "float"),
        (1, "inf", "x", "float"),
        (1, "1e400", "x", "float"),
        (2, "maybe", "flag", "bool"),
        (3, "alex", "who", "user"),
        (3, "@alex", "who", "user"),
        (3, '"@a:b\n"', "who", "user"),
        (3, '"@a:b c"', "who", "user"),
        (4, "green", "pick", "choice"),
        (5, "medium", "mode", "choice"),
        (6, "3", "level", "choice"),
    ],
)
def test_bad_arguments(index: int, bad: str, name: str, expected: str) -> None:
    words = list(VALID)
    words[index] = bad
    with pytest.raises(BadArgument) as caught:
        Signature(typed).bind(" ".join(words))
    assert caught.value.values["name"] == name
    assert caught.value.values["expected"] == expected
    assert caught.value.key == "bad_argument"


def test_bad_choice_lists_the_choices_even_when_optional() -> None:
    with pytest.raises(BadArgument) as caught:
        Signature(typed).bind("1 1 on @a:b green fast 1")
    assert caught.value.values["choices"] == "red|Blue|3"
    with pytest.raises(BadArgument) as caught:
        Signature(optional_choice).bind("maybe")
    assert caught.value.values["choices"] == "on|off"
    assert Signature(optional_choice).bind("OFF") == (["off"], {})
    assert Signature(optional_choice).bind("") == ([None], {})


def test_missing_arguments() -> None:
    with pytest.raises(MissingArgument) as caught:
        Signature(one_word).bind("")
    assert caught.value.values == {"name": "value"}
    with pytest.raises(MissingArgument) as caught:
        Signature(rest_of_line).bind("admin")
    assert caught.value.values == {"name": "key"}
    with pytest.raises(MissingArgument) as caught:
        Signature(rest_of_line).bind("admin greeting   ")
    assert caught.value.values == {"name": "value"}
    with pytest.raises(MissingArgument) as caught:
        Signature(typed).bind("1 2 on")
    assert caught.value.values == {"name": "who"}


def test_too_many_arguments() -> None:
    with pytest.raises(TooManyArguments) as caught:
        Signature(one_word).bind('a b "c d"')
    assert caught.value.values == {"extra": "b c d"}
    with pytest.raises(TooManyArguments):
        Signature(nothing).bind("surplus")
    with pytest.raises(TooManyArguments):
        Signature(defaulted).bind("x 1 2")


def test_unclosed_quote_while_binding() -> None:
    with pytest.raises(UnclosedQuote):
        Signature(one_word).bind('"hello')


def test_keyword_only_arguments_must_be_text() -> None:
    async def bad(self: Any, ctx: Any, *, count: int) -> None: ...

    with pytest.raises(TypeError, match="keyword-only"):
        Signature(bad)


def test_usage() -> None:
    assert Signature(one_word).usage() == "<value>"
    assert Signature(defaulted).usage() == "<name> [count]"
    assert Signature(variadic).usage() == "<user> [reason...]"
    assert Signature(rest_of_line).usage() == "<plugin> <key> <value>"
    assert Signature(optional_rest).usage() == "[text]"
    assert Signature(nothing).usage() == ""
    assert Signature(optional_choice).usage() == "[on|off]"
    assert Signature(typed).usage() == "<n> <x> <flag> <who> <red|Blue|3> <fast|Slow> <1|2>"


# -- property tests: any input gives an answer or a CommandError --------------

SIGNATURES = [Signature(h) for h in (
    one_word, defaulted, variadic, numbers, rest_of_line, optional_rest, typed,
    optional_choice, nothing,
)]

# Text biased towards the characters the parser cares about, plus any Unicode.
SPECIAL = st.sampled_from(
    ["help", "？", "！", "／", "؟", "/", "ﷺ", "ﷻ", "¨", "ᏸ",
     '"', "'", "“", "”", "„", "«", "»", "‘", "’", " ", "\n", "\t", "!", ":", ",", ">", "@",
     BOT, "Solidarity bot", "\u2068", "\u2069", "\u200f", "\x00", "\r\n", "\u2028", "١"]
)
TEXT = st.one_of(
    st.text(),
    st.lists(st.one_of(SPECIAL, st.text(max_size=8)), max_size=40).map("".join),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(body=TEXT, prefix=st.sampled_from(["!", "sol.", "@", ">"]), mentioned=st.booleans(),
       in_dm=st.booleans())
def test_find_invocation_never_crashes(body: str, prefix: str, mentioned: bool,
                                       in_dm: bool) -> None:
    result = find_invocation(
        body, prefix=prefix, bot_user_id=BOT, bot_names=("Solidarity bot", ""),
        mentioned=mentioned, in_dm=in_dm, known=KNOWN,
    )
    if result is not None:
        assert result.name
        assert not any(c.isspace() for c in result.name)
        assert result.name == result.name.lower()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT)
def test_bind_gives_arguments_or_a_command_error(text: str) -> None:
    for signature in SIGNATURES:
        try:
            args, kwargs = signature.bind(text)
        except CommandError as error:
            assert error.key in {
                "unclosed_quote", "missing_argument", "too_many_arguments", "bad_argument"
            }
            continue
        assert isinstance(args, list)
        assert isinstance(kwargs, dict)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunk=TEXT, repeat=st.integers(1, 20_000))
def test_huge_messages(chunk: str, repeat: int) -> None:
    body = "!cmd " + chunk * repeat
    invocation = find(body)
    assert invocation is not None
    for signature in SIGNATURES:
        with contextlib.suppress(CommandError):  # a usage error is a fine answer; a crash is not
            signature.bind(invocation.args)


def test_megabyte_message_is_quick() -> None:
    body = "!note " + ('"quoted words" plain ' * 50_000) + "\n" * 1000
    invocation = find(body)
    assert invocation is not None and invocation.name == "note"
    args, _ = Signature(numbers).bind("1 " * 100_000)
    assert len(args) == 100_000
    with pytest.raises(UnclosedQuote):
        Signature(variadic).bind("@a:b " + "x " * 100_000 + '"')
