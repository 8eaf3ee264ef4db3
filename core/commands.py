"""Command lines: find the invocation in a message and bind it to a handler's signature.

A handler declares its arguments like an ordinary function:

    async def pronouns(self, ctx, value: str) -> None          # one word
    async def ban(self, ctx, user: UserId, *reason: str)       # words after
    async def config(self, ctx, plugin: str, key: str, *, value: str)  # raw rest of line

A keyword-only `str` parameter receives the rest of the line verbatim
(newlines and quotes included), which is what multi-line texts need.

Other argument types are read by converters registered for their annotation
(`register_converter`, and core/converters.py for durations, moments in the
member's zone, room ids or aliases and reactions). A converter may read
several words (`2 hours`, `tomorrow 9:00`): it takes the rest of the line and
says where its value ended.
"""

from __future__ import annotations

import enum
import inspect
import re
import types
import typing
import unicodedata
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

QUOTES = {'"': '"', "'": "'", "“": "”", "„": "“", "«": "»", "‘": "’"}
# Matched with fullmatch: `$` would also accept a trailing newline in a quoted word.
USER_ID = re.compile(r"@[^:\s]+:[^\s]+")
# Reply fallbacks ("> <@user> quoted text" lines) precede the real body.
REPLY_FALLBACK = re.compile(r"\A(?:>[^\n]*\n)+\n?")
# In a DM, these words alone (or first) ask for the help, without any prefix.
HELP_WORDS = frozenset({"help", "commands", "?", "؟", "مساعدة", "مساعده", "المساعدة"})
# Prefixes a member may type in a DM when they do not know the configured one.
DM_MARKERS = ("!", "/")
# Invisible marks a keyboard or client may put before the text (bidi, zero-width).
_LEADING_MARKS = "\u200b\u200c\u200d\u200e\u200f\u2066\u2067\u2068\u2069\u061c\ufeff"
_TRAILING_PUNCTUATION = "?!.,:;؟،؛"


class UserId(str):
    """A Matrix user id argument such as `@alex:example.org`."""


class ArgumentContext(Protocol):
    """What a converter may know about the reader: their language, zone and the time."""

    @property
    def language(self) -> str: ...

    @property
    def zone(self) -> ZoneInfo: ...

    @property
    def now(self) -> float: ...


# A converter reads the start of `text` and returns the value and the text after it;
# it raises ValueError when the text is not of its type.
ReadArgument = Callable[[str, "ArgumentContext | None"], tuple[Any, str]]


@dataclass(frozen=True)
class Converter:
    read: ReadArgument
    # Names the catalog message `expected_<kind>` that says what the argument must be.
    expected: str
    # Reads several words (the rest of the line is offered); else one word or quoted group.
    greedy: bool = False


CONVERTERS: dict[Any, Converter] = {}


def register_converter(annotation: Any, read: ReadArgument, *, expected: str,
                       greedy: bool = False) -> None:
    """Make `annotation` usable as a command argument type (core/converters.py has examples).

    `read(text, ctx)` gets one word (or quoted group), or with `greedy` the
    rest of the line, and returns (value, text left after it). The plugin or
    core catalog must hold `expected_<expected>` (load-time checks find it).
    """
    CONVERTERS[annotation] = Converter(read=read, expected=expected, greedy=greedy)


class CommandError(Exception):
    """Base for problems with a command line; `key` names the catalog message."""

    key = "command_error"

    def __init__(self, **values: Any) -> None:
        super().__init__(self.key)
        self.values = values


class UnclosedQuote(CommandError):
    key = "unclosed_quote"


class MissingArgument(CommandError):
    key = "missing_argument"


class TooManyArguments(CommandError):
    key = "too_many_arguments"


class BadArgument(CommandError):
    key = "bad_argument"


@dataclass(frozen=True)
class Invocation:
    """A command found in a message: its name and the raw text after it."""

    name: str
    args: str


def find_invocation(
    body: str,
    *,
    prefix: str,
    bot_user_id: str,
    bot_names: tuple[str, ...] = (),
    mentioned: bool = False,
    in_dm: bool = False,
    known: Container[str] = frozenset(),
) -> Invocation | None:
    """Return the command in `body`, or None when the message is not one.

    `!help`, `@bot:server: help`, `Bot: help` (when the bot was mentioned) and
    `Bot: !help` all invoke `help`.

    In a DM with the bot (`in_dm`), where nobody else is talked to, a member
    who does not know the exact form still gets an answer: `! help`, `！help`
    (fullwidth), the prefix in any case, `/help` or `!help` when the bot's
    prefix is another (for a name in `known`, the bot's command names), and a
    help word said plainly (`help`, `Help?`, `؟`, `مساعدة`). Other command
    names without a prefix are not taken: a DM also carries free answers (an
    introduction, a guided entry) where "cancel" or "safe" is only a word.
    Group rooms stay strict: members talk to each other there.
    """
    text = REPLY_FALLBACK.sub("", body, count=1).strip()
    addressed = False
    for name in (bot_user_id, *bot_names):
        if name and text.lower().startswith(name.lower()):
            rest = text[len(name):]
            if rest[:1] in (":", ",", " ", "") and (mentioned or name == bot_user_id):
                text = rest.lstrip(":, ").strip()
                addressed = True
                break
    found = _strict(text, prefix, addressed)
    if not in_dm or (found is not None and found.name in known):
        return found
    loose = _forgiving(text, prefix, known)
    if loose is not None and (found is None or loose.name in known):
        return loose  # `！ＨＥＬＰ` is `help`, not an unknown `ｈｅｌｐ`
    return found


def _strict(text: str, prefix: str, addressed: bool) -> Invocation | None:
    if text.startswith(prefix):
        text = text[len(prefix):]
    elif not addressed:
        return None
    match = re.match(r"(\S+)\s*", text, re.DOTALL)
    if not match:
        return None
    return Invocation(name=match.group(1).lower(), args=text[match.end():])


def _forgiving(text: str, prefix: str, known: Container[str]) -> Invocation | None:
    """A DM's command in a looser form (see find_invocation), or None."""
    text = text.lstrip(_LEADING_MARKS + " \t\n")
    for marker in dict.fromkeys((prefix, *DM_MARKERS)):
        rest = _after_marker(text, marker)
        if rest is None:
            continue
        word, args = _first_word(rest.lstrip())
        name = _fold(word)
        if _one_word(name) and (marker == prefix or name in known):
            return Invocation(name=name, args=args)
    word, args = _first_word(text)
    folded = _fold(word)
    if folded.rstrip(_TRAILING_PUNCTUATION) in HELP_WORDS or (folded and set(folded) <= {"?", "؟"}):
        # `help checkin` explains that one; `help me please` lists them all.
        topic, more = _first_word(args)
        wanted = _fold(topic.removeprefix(prefix))
        return Invocation(name="help", args=topic if wanted in known and not more else "")
    return None


def _after_marker(text: str, marker: str) -> str | None:
    """The text after `marker`, matched across case and width (`！` is `!`), or None."""
    wanted = _fold(marker)
    if not wanted:
        return None
    seen = ""
    for index, char in enumerate(text):
        seen += _fold(char)
        if seen == wanted:
            return text[index + 1:]
        if not wanted.startswith(seen):
            return None
    return None


def _first_word(text: str) -> tuple[str, str]:
    match = re.match(r"(\S+)\s*", text, re.DOTALL)
    if not match:
        return "", ""
    return match.group(1), text[match.end():]


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _one_word(name: str) -> bool:
    # NFKC may open a ligature into several words: not a command name then.
    return bool(name) and not any(char.isspace() for char in name)


def split_words(text: str, count: int | None = None) -> tuple[list[str], str]:
    """Split up to `count` words (all if None); quotes group words.

    Returns the words and the untouched rest of the line. A quote only opens
    at the start of a word, so apostrophes inside words need no escaping.
    """
    words: list[str] = []
    position = 0
    length = len(text)
    while position < length and (count is None or len(words) < count):
        while position < length and text[position].isspace():
            position += 1
        if position >= length:
            break
        opener = text[position]
        if opener in QUOTES:
            closer = QUOTES[opener]
            end = text.find(closer, position + 1)
            if end < 0:
                raise UnclosedQuote(quote=opener)
            words.append(text[position + 1:end])
            position = end + 1
        else:
            end = position
            while end < length and not text[end].isspace():
                end += 1
            words.append(text[position:end])
            position = end
    return words, text[position:].strip()


@dataclass(frozen=True)
class Parameter:
    name: str
    annotation: Any
    default: Any
    kind: inspect._ParameterKind

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty and self.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        )


class Signature:
    """The arguments a handler takes after `(self, ctx)`."""

    def __init__(self, handler: Callable[..., Any]) -> None:
        hints = typing.get_type_hints(handler)
        params = list(inspect.signature(handler).parameters.values())[2:]
        self.parameters = [
            Parameter(p.name, hints.get(p.name, str), p.default, p.kind) for p in params
        ]
        for parameter in self.parameters:
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY and parameter.annotation is not str:
                raise TypeError(f"{handler.__qualname__}: keyword-only argument must be str")

    def usage(self, name_of: Callable[[str], str] | None = None) -> str:
        """`<when> [note]`; `name_of` gives each argument's name in the reader's language."""
        parts = []
        for p in self.parameters:
            label = _label(p)
            if name_of is not None and label == p.name:
                label = name_of(p.name)
            if p.kind is inspect.Parameter.VAR_POSITIONAL:
                parts.append(f"[{label}...]")
            elif p.required:
                parts.append(f"<{label}>")
            else:
                parts.append(f"[{label}]")
        return " ".join(parts)

    def bind(self, text: str, ctx: ArgumentContext | None = None
             ) -> tuple[list[Any], dict[str, Any]]:
        """Convert the raw argument text into call arguments, or raise CommandError.

        Arguments are read left to right: a plain one takes a word (or a
        quoted group), a greedy converter as many words as read as its type.
        """
        positional = [p for p in self.parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
        variadic = next(
            (p for p in self.parameters if p.kind is inspect.Parameter.VAR_POSITIONAL), None
        )
        rest_param = next(
            (p for p in self.parameters if p.kind is inspect.Parameter.KEYWORD_ONLY), None
        )
        rest = text.strip()
        args: list[Any] = []
        for parameter in positional:
            if not rest:
                if parameter.required:
                    raise MissingArgument(name=_label(parameter))
                args.append(parameter.default)
                continue
            found = CONVERTERS.get(_unwrap_optional(parameter.annotation))
            if found is not None and found.greedy:
                value, rest = _read(parameter, found, rest, ctx)
                args.append(value)
                rest = rest.strip()
                continue
            words, rest = split_words(rest, 1)
            args.append(convert(parameter, words[0], ctx))
        kwargs: dict[str, Any] = {}
        if variadic is not None:
            words, rest = split_words(rest)
            args.extend(convert(variadic, word, ctx) for word in words)
        elif rest_param is not None:
            if rest:
                kwargs[rest_param.name] = rest
            elif rest_param.required:
                raise MissingArgument(name=_label(rest_param))
        else:
            extra, _ = split_words(rest)
            if extra:
                raise TooManyArguments(extra=" ".join(extra))
        return args, kwargs


def _read(parameter: Parameter, found: Converter, text: str,
          ctx: ArgumentContext | None) -> tuple[Any, str]:
    try:
        return found.read(text, ctx)
    except ValueError:
        raise BadArgument(name=parameter.name, expected=found.expected,
                          choices=_label(parameter)) from None


def _unwrap_optional(annotation: Any) -> Any:
    """`X | None` (and `Optional[X]`) is X; other unions are taken as text."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return options[0] if len(options) == 1 else str
    return annotation


def _label(parameter: Parameter) -> str:
    annotation = _unwrap_optional(parameter.annotation)
    if typing.get_origin(annotation) is Literal:
        return "|".join(str(choice) for choice in typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "|".join(str(member.value) for member in annotation)
    return parameter.name


def convert(parameter: Parameter, word: str, ctx: ArgumentContext | None = None) -> Any:
    """Turn one word into the parameter's declared type."""
    annotation = _unwrap_optional(parameter.annotation)
    origin = typing.get_origin(annotation)
    found = CONVERTERS.get(annotation)
    if found is not None:
        value, left = _read(parameter, found, word, ctx)
        if left.strip():
            raise BadArgument(name=parameter.name, expected=found.expected,
                              choices=_label(parameter))
        return value
    try:
        if origin is Literal:
            choices = {str(choice).lower(): choice for choice in typing.get_args(annotation)}
            return choices[word.lower()]
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            # Matched like the usage text shows them: by value, any case.
            members = {str(member.value).lower(): member for member in annotation}
            return members[word.lower()]
        if annotation is UserId:
            if not USER_ID.fullmatch(word):
                raise ValueError(word)
            return UserId(word)
        if annotation is int:
            return int(word)
        if annotation is float:
            value = float(word)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(word)
            return value
        if annotation is bool:
            lowered = word.lower()
            if lowered in ("on", "yes", "true", "1"):
                return True
            if lowered in ("off", "no", "false", "0"):
                return False
            raise ValueError(word)
        return word
    except (ValueError, KeyError):
        raise BadArgument(name=parameter.name, expected=expected_kind(annotation),
                          choices=_label(parameter)) from None


def expected_kind(annotation: Any) -> str:
    """Which catalog message (`expected_<kind>`) explains what a word must be."""
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    if annotation is bool:
        return "bool"
    if annotation is UserId:
        return "user"
    return "choice"
