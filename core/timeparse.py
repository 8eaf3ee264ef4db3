"""Reading the times and durations members type, in English and Arabic, and the zones they name.

The one time parser of the framework: check-in deadlines, moderation
windows and the `Duration`/`Moment` converters of command arguments
(core/converters.py) all read through it, so a form one accepts all accept.

What is read (digits may be Western or Eastern Arabic everywhere):

* durations: `2h`, `1h30`, `1h30m`, `1h 30m`, `90 minutes`, `2 hours`, `an hour`,
  `half an hour`, `an hour and a half`, `1.5h`, `ساعة`, `ساعتين`, `3 ساعات`,
  `نصف ساعة`, `ساعة ونصف`, `ربع ساعة`, `30 دقيقة`, `30د` (optionally after
  `in`, `for`, `within`, `بعد`, `خلال`, `لمدة`);
* clock times in the member's zone: `18:30`, `18.30`, `6pm`, `6:30 pm`,
  `tomorrow 9:00`, `9am tomorrow`, `tonight 23:00`, `tonight 11`, `noon`,
  `الساعة 6 مساءً`, `غداً 9:00`, `بكرا 9 الصبح`, `الليلة 11` (optionally after
  `at`, `by`, `until`, `الساعة`, `عند`, `حتى`, `قبل`).

Where the time ends and the note begins: the deadline is the longest run of
leading words (at most eight) that reads completely as one of the forms above;
everything after it is the note, as typed. So `2 hours meeting at the bakery`
is 2h with the note "meeting at the bakery", and `2 hours 30 minutes walk` is
2h30m with the note "walk". A bare number after a unit counts as minutes only
when glued to it (`1h30`); `2h 30` is 2h with the note "30" (for `!extend` the
word after the duration is the PIN, which may be digits). A bare number alone
(`6`, `!checkin 2`) is never a deadline: minutes, hours or 6 o'clock? It is
refused with the forms, as is an hour without am/pm (`at 6`, `tomorrow 9`):
twelve hours off is too much for a safety deadline. `H:MM` without am/pm is a
24-hour time (`6:30` is 06:30). When a leading run was recognised as a time but
is wrong (`18:30 pm`, `25:99`, `at 6`), that error is given rather than a
shorter reading with the rest as note.

`tonight` (`الليلة`) reads hours 5 to 11 without am/pm as evening (`tonight 11`
is 23:00, `tonight 1:00` is 01:00 after midnight, `tonight 12` is midnight).
`tomorrow` (`غداً`, `بكرا`) typed after midnight and before 04:00 means the coming
morning (at 01:00, `tomorrow 9:00` is in eight hours, as people mean it), and
the answer always shows the date when it is not today.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

MAX_WORDS = 8
# Arabic-Indic and Eastern Arabic-Indic digits typed on Arabic keyboards.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_ARABIC_LETTERS = str.maketrans({"ة": "ه", "ى": "ي", "ـ": None, "٫": ".", "،": ",", "؛": ",",
                                 "٬": ","})
_TRAILING = ",.;:!?،؛-–—)"


class TimeInputError(ValueError):
    """Input the member must correct; `key` names the catalog message explaining how."""

    def __init__(self, key: str, text: str = "") -> None:
        super().__init__(key)
        self.key = key
        # The words the error is about (for "at 6", not the note after it), when known.
        self.text = text


def normalize(text: str) -> str:
    """Lower case, Western digits, Arabic without diacritics and with one alef, ه for ة, ي for ى."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_DIGITS))
    # NFKD splits أ إ آ ؤ ئ into a letter and a combining hamza or madda; the marks
    # (and the short vowels, tanwin, shadda) go.
    plain = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    plain = unicodedata.normalize("NFKC", plain).lower().translate(_ARABIC_LETTERS)
    return re.sub(r"\s+", " ", plain).strip()


# -- words ------------------------------------------------------------------------

HOUR, MINUTE, SECOND, DAY, WEEK = 3600, 60, 1, 86400, 7 * 86400


def _words(*groups: tuple[str, ...]) -> set[str]:
    return {normalize(word) for group in groups for word in group}


_UNITS: dict[str, int] = {}
for _seconds, _names in (
    (HOUR, ("h", "hr", "hrs", "hour", "hours", "س", "ساعة", "ساعات", "ساعه", "ساعت")),
    (MINUTE, ("m", "min", "mins", "minute", "minutes", "د", "دقيقة", "دقائق", "دقايق", "دقيقه",
              "دقيقا")),
    (SECOND, ("s", "sec", "secs", "second", "seconds", "ث", "ثانية", "ثواني", "ثوان")),
    (DAY, ("d", "day", "days", "ي", "يوم", "أيام", "ايام")),
    (WEEK, ("w", "wk", "week", "weeks", "أسبوع", "اسبوع", "أسابيع", "اسابيع")),
):
    for _name in _names:
        _UNITS[normalize(_name)] = _seconds
# A unit word alone is one of it ("ساعة", "hour"); abbreviations need a number.
_SINGULAR = _words(("hour", "minute", "day", "week", "ساعة", "دقيقة", "يوم", "أسبوع"))
_DUAL = {normalize(w): s for w, s in (("ساعتين", HOUR), ("ساعتان", HOUR), ("دقيقتين", MINUTE),
                                       ("دقيقتان", MINUTE), ("يومين", DAY), ("يومان", DAY),
                                       ("أسبوعين", WEEK), ("أسبوعان", WEEK))}
_NUMBERS = {normalize(w): n for n, names in enumerate((
    (), ("one", "واحد", "واحدة"), ("two", "اثنين", "اثنان", "إثنين"), ("three", "ثلاث", "ثلاثة"),
    ("four", "أربع", "أربعة"), ("five", "خمس", "خمسة"), ("six", "ست", "ستة"),
    ("seven", "سبع", "سبعة"), ("eight", "ثمان", "ثماني", "ثمانية"), ("nine", "تسع", "تسعة"),
    ("ten", "عشر", "عشرة"), ("eleven",), ("twelve",))) for w in names}
_ARTICLE = {"a", "an"}
_HALF = _words(("half", "نصف", "نص"))
_QUARTER = _words(("quarter", "ربع"))
_THIRD = _words(("ثلث",))
_AND = _words(("and", "&", "+", ",", "و"))
_EXCEPT = _words(("إلا", "الا"))
_DURATION_LEAD = _words(("in", "for", "within", "بعد", "خلال", "لمدة", "مدة", "في"))
_CLOCK_LEAD = _words(("at", "by", "until", "till", "til", "before", "الساعة", "عند", "حتى",
                      "قبل", "لغاية", "إلى", "على"))
_OCLOCK = _words(("o'clock", "oclock"))
_TODAY = _words(("today", "اليوم"))
_TONIGHT = _words(("tonight", "الليلة"))
_TOMORROW = _words(("tomorrow", "tmrw", "tmr", "غداً", "غدا", "بكرا", "بكرة", "بكره", "بكرى"))
_NOON = _words(("noon", "midday", "الظهر", "الظهيرة"))
_MIDNIGHT = _words(("midnight",))
# Meridiem words, and what they do to an hour from 1 to 12.
_AM = _words(("am", "ص", "صباحاً", "صباحا", "صباح", "الصبح", "الصباح", "صبحا", "فجراً", "فجرا",
              "الفجر"))
_PM = _words(("pm", "م", "مساءً", "مساء", "مساءا", "المساء", "مسا", "العصر", "عصرا", "عصراً"))
_NOONISH = _words(("ظهراً", "ظهرا", "بعد الظهر"))
_NIGHT = _words(("ليلاً", "ليلا", "الليل", "بالليل", "في الليل"))
_MERIDIEM_PHRASES = {tuple(normalize(p).split()): normalize(p) for p in
                     ("بعد الظهر", "في الليل")}
# Words that may start a word glued to "و" ("ونصف", "وربع", "و30" is split by the tokenizer).
_AFTER_WA = _HALF | _QUARTER | _THIRD | set(_UNITS) | set(_DUAL) | set(_NUMBERS)


# -- tokens -------------------------------------------------------------------------

@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "clock", "word"
    text: str
    glued: bool  # no space before it
    value: float = 0.0
    minute: int = 0


_TOKEN = re.compile(
    r"(?P<space>\s*)(?:(?P<clock>\d{1,2}:\d{2})(?!\d)|(?P<num>\d+(?:\.\d+)?)"
    r"|(?P<word>[a-z]+(?:'[a-z]+)?|[\u0621-\u064a]+)|(?P<punct>[,&+]))")


def _tokens(text: str) -> list[_Token] | None:
    # "p.m.", "a.m." -> "pm", "am"
    text = re.sub(r"(?<![a-z])([ap])\.\s?m\b\.?", r"\1m", text)
    found: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            if text[position:].strip() == "":
                break
            return None
        position = match.end()
        glued = not match.group("space") and bool(found)
        if match.group("clock"):
            hour, minute = match.group("clock").split(":")
            found.append(_Token("clock", match.group("clock"), glued, float(hour), int(minute)))
        elif match.group("num"):
            found.append(_Token("num", match.group("num"), glued, float(match.group("num"))))
        else:
            word = match.group("word") or match.group("punct")
            if word not in _KNOWN and word.startswith("و") and word[1:] in _AFTER_WA:
                found.append(_Token("word", "و", glued))
                found.append(_Token("word", word[1:], True))
            else:
                found.append(_Token("word", word, glued))
    return found


# -- what was read ---------------------------------------------------------------------

@dataclass(frozen=True)
class When:
    """A deadline as typed: a duration, or a wall-clock time (needs the member's zone)."""

    seconds: float | None = None
    hour: int = 0
    minute: int = 0
    day: str = ""  # "", "today", "tomorrow" or "tonight" (clock times only)

    @property
    def is_clock(self) -> bool:
        return self.seconds is None


class _NoParse(Exception):
    """Not one of the forms at all (the words are probably the note)."""


class _Reader:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self, ahead: int = 0) -> _Token | None:
        index = self.at + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def word(self, ahead: int = 0) -> str:
        token = self.peek(ahead)
        return token.text if token is not None and token.kind == "word" else ""

    def take_word(self, choices: set[str]) -> str:
        if self.word() in choices:
            self.at += 1
            return self.tokens[self.at - 1].text
        return ""

    def done(self) -> bool:
        return self.at >= len(self.tokens)

    # -- durations --

    def number(self) -> float | None:
        token = self.peek()
        if token is None:
            return None
        if token.kind == "num" and (token.value.is_integer() or len(token.text.split(".")[1]) == 1):
            self.at += 1
            return token.value
        if token.kind == "word" and token.text in _NUMBERS:
            self.at += 1
            return float(_NUMBERS[token.text])
        return None

    def fraction_after(self, unit: int) -> float:
        """`and a half`, `ونصف`, `وربع`, `إلا ربع` after a unit."""
        start = self.at
        if self.take_word(_AND):
            self.take_word(_ARTICLE)
            if self.take_word(_HALF):
                return unit / 2
            if self.take_word(_QUARTER):
                return unit / 4
            if self.take_word(_THIRD):
                return unit / 3
        elif self.take_word(_EXCEPT) and self.take_word(_QUARTER):
            return -unit / 4
        self.at = start
        return 0.0

    def part(self, bare: bool) -> tuple[float, int] | None:
        """One amount of one unit: (seconds, unit). `bare`: may a unit word stand alone
        (`ساعة`, `ساعتين`, `hour`)? Only first or after "and": `2h day trip` is 2h."""
        start = self.at
        word = self.word()
        if word in _DUAL and bare:
            self.at += 1
            return 2 * _DUAL[word], _DUAL[word]
        if word in _SINGULAR and bare:
            self.at += 1
            return float(_UNITS[word]), _UNITS[word]
        if word in _ARTICLE or word in _HALF or word in _QUARTER or word in _THIRD:
            self.take_word(_ARTICLE)
            share = 1.0
            if self.take_word(_HALF):
                share = 0.5
            elif self.take_word(_QUARTER):
                share = 0.25
                self.take_word({"of"})
            elif self.take_word(_THIRD):
                share = 1 / 3
            self.take_word(_ARTICLE)
            unit_word = self.word()
            if unit_word in _SINGULAR or (share == 1.0 and unit_word in {"hr", "min", "sec"}):
                self.at += 1
                return share * _UNITS[unit_word], _UNITS[unit_word]
            self.at = start
            return None
        amount = self.number()
        if amount is None:
            return None
        # "2 and a half hours"
        extra = 0.0
        before = self.at
        if self.take_word(_AND):
            self.take_word(_ARTICLE)
            if self.take_word(_HALF):
                extra = 0.5
            else:
                self.at = before
        unit_word = self.word()
        if unit_word in _UNITS:
            self.at += 1
            return (amount + extra) * _UNITS[unit_word], _UNITS[unit_word]
        self.at = start
        return None

    def duration(self) -> float:
        self.take_word(_DURATION_LEAD)
        total = 0.0
        parts = 0
        while not self.done():
            start = self.at
            joined = bool(parts and self.take_word(_AND))
            found = self.part(bare=not parts or joined)
            if found is None:
                self.at = start
                break
            seconds, unit = found
            total += seconds + self.fraction_after(unit)
            parts += 1
            glued = self.peek()
            if (unit == HOUR and glued is not None and glued.kind == "num" and glued.glued
                    and glued.value.is_integer() and 0 <= glued.value < 60
                    and self.word(1) not in _UNITS):
                # "1h30": minutes glued to the hours.
                self.at += 1
                total += glued.value * MINUTE
        if not parts or not self.done():
            raise _NoParse
        if total <= 0:
            raise TimeInputError("bad_duration")
        return total

    # -- clock times --

    def meridiem(self) -> str:
        for phrase, name in _MERIDIEM_PHRASES.items():
            if tuple(self.word(i) for i in range(len(phrase))) == phrase:
                self.at += len(phrase)
                return name
        return self.take_word(_AM | _PM | _NOONISH | _NIGHT)

    def clock(self) -> When:
        day = ""
        marked = False
        hour: float | None = None
        minute = 0
        has_minutes = False
        meridiem = ""
        while not self.done():
            token = self.peek()
            assert token is not None
            if hour is None and self.take_word(_CLOCK_LEAD):
                marked = True
            elif not day and (found := self._day()):
                day = found
            elif hour is None and token.kind == "clock":
                self.at += 1
                hour, minute, has_minutes = token.value, token.minute, True
            elif hour is None and token.kind == "num" and "." in token.text \
                    and len(token.text.split(".")[1]) == 2:
                self.at += 1
                whole, part = token.text.split(".")
                hour, minute, has_minutes = float(whole), int(part), True
            elif hour is None and token.kind == "num" and token.value.is_integer():
                self.at += 1
                hour = token.value
            elif hour is None and token.kind == "word" and token.text in _NUMBERS:
                self.at += 1
                hour = float(_NUMBERS[token.text])
            elif hour is None and (self.take_word(_NOON)):
                hour, has_minutes, meridiem = 12.0, True, "noon"
            elif hour is None and (self.take_word(_MIDNIGHT) or self._phrase("منتصف الليل")):
                hour, has_minutes, meridiem = 0.0, True, "midnight"
            elif hour is not None and not meridiem and (found := self.meridiem()):
                meridiem = found
            elif hour is not None and self.take_word(_OCLOCK):
                marked = True
            else:
                raise _NoParse
        if hour is None or not (marked or day or meridiem or has_minutes):
            raise _NoParse
        return self._settle(int(hour), minute, has_minutes, meridiem, day)

    def _phrase(self, phrase: str) -> bool:
        words = normalize(phrase).split()
        if [self.word(i) for i in range(len(words))] == words:
            self.at += len(words)
            return True
        return False

    def _day(self) -> str:
        if self.take_word(_TODAY):
            return "today"
        if self.take_word(_TONIGHT):
            return "tonight"
        if self.take_word(_TOMORROW):
            return "tomorrow"
        return ""

    @staticmethod
    def _settle(hour: int, minute: int, has_minutes: bool, meridiem: str, day: str) -> When:
        if minute > 59:
            raise TimeInputError("bad_time")
        if meridiem in ("noon", "midnight"):
            return When(hour=hour, minute=minute, day=day)  # the word already set the hour
        if meridiem:
            if not 1 <= hour <= 12:
                raise TimeInputError("bad_time")
            if meridiem in _AM:
                hour = 0 if hour == 12 else hour
            elif meridiem in _PM:
                hour = 12 if hour == 12 else hour + 12
            elif meridiem in _NOONISH:
                hour = 12 if hour == 12 else hour + 12 if hour <= 6 else hour
            else:  # the night: evening hours, then midnight and after
                hour = 0 if hour == 12 else hour + 12 if hour >= 6 else hour
        elif day == "tonight":
            if hour > 23:
                raise TimeInputError("bad_time")
            hour = 0 if hour == 12 else hour + 12 if 5 <= hour <= 11 else hour
        elif hour > 23:
            raise TimeInputError("bad_time")
        elif not has_minutes and 1 <= hour <= 12:
            # "at 6", "tomorrow 9": morning or evening? Twelve hours off is too much.
            raise TimeInputError("ambiguous_hour")
        return When(hour=hour, minute=minute, day=day)


_KNOWN = (set(_UNITS) | set(_DUAL) | set(_NUMBERS) | _ARTICLE | _HALF | _QUARTER | _THIRD | _AND
          | _EXCEPT | _DURATION_LEAD | _CLOCK_LEAD | _TODAY | _TONIGHT | _TOMORROW | _NOON
          | _MIDNIGHT | _AM | _PM | _NOONISH | _NIGHT)


def _read_expression(text: str, *, clock: bool) -> When:
    tokens = _tokens(normalize(text))
    if not tokens:
        raise _NoParse
    try:
        return When(seconds=_Reader(tokens).duration())
    except _NoParse:
        if not clock:
            raise
    return _Reader(tokens).clock()


def read_when(text: str, *, clock: bool = True) -> tuple[When, str]:
    """The deadline at the start of `text` and the note after it (as typed, stripped).

    `clock=False` reads durations only (`!extend`, `!rollcall`). Raises
    TimeInputError: "bad_when" (or "bad_duration" without clock times) when no
    leading words read as a deadline, "bad_time" or "ambiguous_hour" when they
    were recognised as a time of day that is wrong or could be morning or evening.
    """
    spans = [match.span() for match in re.finditer(r"\S+", text)][:MAX_WORDS]
    for count in range(len(spans), 0, -1):
        end = spans[count - 1][1]
        candidate = text[:end].rstrip(_TRAILING)
        try:
            when = _read_expression(candidate, clock=clock)
        except _NoParse:
            continue
        except TimeInputError as error:
            error.text = candidate
            raise
        return when, text[end:].strip()
    first = text.split(maxsplit=1)[0] if text.strip() else ""
    if clock and ":" in first:
        raise TimeInputError("bad_time", first)
    raise TimeInputError("bad_when" if clock else "bad_duration", text.strip())


def _date_at(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def resolve(when: When, now: float, zone: ZoneInfo) -> float:
    """The moment `when` means, read at `now` in `zone` (wall-clock arithmetic across DST)."""
    if when.seconds is not None:
        return now + when.seconds
    local_now = datetime.fromtimestamp(now, tz=zone)
    today = local_now.date()
    if when.day == "tomorrow":
        # After midnight and before 04:00, "tomorrow" is the coming morning.
        day = today if local_now.hour < 4 else today + timedelta(days=1)
        candidate = _date_at(day, when.hour, when.minute, zone)
        if candidate.timestamp() <= now:
            candidate = _date_at(today + timedelta(days=1), when.hour, when.minute, zone)
        return candidate.timestamp()
    candidate = _date_at(today, when.hour, when.minute, zone)
    if candidate.timestamp() <= now:
        if when.day == "today":
            raise TimeInputError("time_passed")
        candidate = _date_at(today + timedelta(days=1), when.hour, when.minute, zone)
    return candidate.timestamp()


def parse_duration(text: str) -> float:
    """Seconds in a duration typed alone (`2h`, `1h30`, `90 minutes`, `ساعتين`)."""
    try:
        when = _read_expression(text, clock=False)
    except _NoParse:
        raise TimeInputError("bad_duration") from None
    assert when.seconds is not None
    return when.seconds


def looks_like_clock(text: str) -> bool:
    try:
        return read_when(text)[0].is_clock
    except TimeInputError as error:
        return error.key in ("bad_time", "ambiguous_hour")


def parse_clock(text: str, now: float, zone: ZoneInfo) -> float:
    """The next moment the wall clock in `zone` shows the time in `text` alone."""
    try:
        when = _read_expression(text, clock=True)
    except _NoParse:
        raise TimeInputError("bad_time") from None
    if not when.is_clock:
        raise TimeInputError("bad_time")
    return resolve(when, now, zone)


@dataclass(frozen=True)
class DeadlineLimits:
    """How near and how far a deadline may be, in seconds from now."""

    minimum: float
    maximum: float


def check_limits(due: float, now: float, limits: DeadlineLimits) -> float:
    if due - now < limits.minimum:
        raise TimeInputError("deadline_too_soon")
    if due - now > limits.maximum:
        raise TimeInputError("deadline_too_far")
    return due


def parse_deadline(text: str, now: float, zone: ZoneInfo, limits: DeadlineLimits) -> float:
    """A deadline typed alone (no note), checked against the limits."""
    when, rest = read_when(text)
    if rest:
        raise TimeInputError("bad_time" if when.is_clock else "bad_when")
    return check_limits(resolve(when, now, zone), now, limits)


# -- zones ------------------------------------------------------------------------------

_ZONES: frozenset[str] | None = None
_CITIES: dict[str, str] | None = None
_AREAS = ("Europe", "Asia", "Africa", "America", "Atlantic", "Indian", "Australia", "Pacific",
          "Antarctica", "Arctic")
# Two zones with one city name: the one the tz database keeps as canonical.
_PREFERRED = {"istanbul": "Europe/Istanbul", "nicosia": "Asia/Nicosia"}
# Cities (and the spellings people type) without a zone of their own: the
# region the network serves, in Arabic and English.
_EXTRA_CITIES: dict[str, tuple[str, ...]] = {
    "Asia/Beirut": ("بيروت", "طرابلس لبنان", "صيدا", "صور", "زحلة", "جونية", "بعلبك", "النبطية",
                    "sidon", "saida", "tyre", "zahle", "jounieh", "baalbek", "tripoli lebanon"),
    "Asia/Damascus": ("دمشق", "الشام", "حلب", "حمص", "حماة", "اللاذقية", "طرطوس", "إدلب", "درعا",
                      "السويداء", "دير الزور", "الرقة", "الحسكة", "القامشلي", "aleppo", "halab",
                      "homs", "hama", "latakia", "lattakia", "tartus", "idlib", "daraa",
                      "deir ez-zor", "raqqa", "hasakah", "qamishli", "sham"),
    "Africa/Cairo": ("القاهرة", "الإسكندرية", "الجيزة", "بورسعيد", "السويس", "الأقصر", "أسوان",
                     "المنصورة", "طنطا", "alexandria", "giza", "port said", "suez", "luxor",
                     "aswan", "mansoura", "tanta"),
    "Asia/Amman": ("عمّان", "عمان", "إربد", "الزرقاء", "العقبة", "irbid", "zarqa", "aqaba"),
    "Asia/Jerusalem": ("القدس", "حيفا", "يافا", "الناصرة", "عكا", "al quds", "haifa", "jaffa",
                       "nazareth", "acre"),
    "Asia/Hebron": ("الخليل", "رام الله", "نابلس", "جنين", "بيت لحم", "طولكرم", "أريحا",
                    "ramallah", "nablus", "jenin", "bethlehem", "tulkarm", "jericho"),
    "Asia/Gaza": ("غزة", "خان يونس", "رفح", "دير البلح", "khan yunis", "rafah"),
    "Asia/Baghdad": ("بغداد", "البصرة", "الموصل", "أربيل", "النجف", "كربلاء", "كركوك",
                     "السليمانية", "basra", "mosul", "erbil", "najaf", "karbala", "kirkuk",
                     "sulaymaniyah"),
    "Asia/Riyadh": ("الرياض", "جدة", "مكة", "المدينة المنورة", "الدمام", "jeddah", "mecca",
                    "makkah", "medina", "dammam"),
    "Asia/Kuwait": ("الكويت",),
    "Asia/Qatar": ("الدوحة", "قطر", "doha"),
    "Asia/Bahrain": ("المنامة", "البحرين", "manama"),
    "Asia/Dubai": ("دبي", "أبوظبي", "أبو ظبي", "الشارقة", "abu dhabi", "sharjah"),
    "Asia/Muscat": ("مسقط",),
    "Asia/Aden": ("صنعاء", "عدن", "تعز", "الحديدة", "sanaa", "sana'a", "taiz", "hodeidah"),
    "Asia/Tehran": ("طهران",),
    "Africa/Khartoum": ("الخرطوم", "أم درمان", "بورتسودان", "omdurman", "port sudan"),
    "Africa/Juba": ("جوبا",),
    "Africa/Tripoli": ("طرابلس", "طرابلس الغرب", "بنغازي", "مصراتة", "benghazi", "misrata"),
    "Africa/Tunis": ("تونس", "صفاقس", "سوسة", "sfax", "sousse"),
    "Africa/Algiers": ("الجزائر", "وهران", "قسنطينة", "oran", "constantine"),
    "Africa/Casablanca": ("الرباط", "الدار البيضاء", "مراكش", "فاس", "طنجة", "أكادير", "rabat",
                          "marrakech", "marrakesh", "fes", "fez", "tangier", "agadir"),
    "Africa/Nouakchott": ("نواكشوط",),
    "Africa/Mogadishu": ("مقديشو",),
    "Africa/Djibouti": ("جيبوتي",),
    "Indian/Comoro": ("موروني",),
    "Europe/Istanbul": ("إسطنبول", "اسطنبول", "استانبول", "أنقرة", "إزمير", "غازي عنتاب",
                        "غازي عينتاب", "عنتاب", "مرسين", "أضنة", "أورفة", "شانلي أورفة", "هاتاي",
                        "أنطاكية", "الريحانية", "كلس", "بورصة", "قونية", "قيصري", "ankara",
                        "izmir", "gaziantep", "antep", "mersin", "adana", "urfa", "sanliurfa",
                        "hatay", "antakya", "reyhanli", "kilis", "bursa", "konya", "kayseri"),
    "Asia/Nicosia": ("نيقوسيا",),
    "Europe/Berlin": ("برلين", "هامبورغ", "ميونخ", "ميونيخ", "كولونيا", "فرانكفورت", "إيسن",
                      "دورتموند", "دوسلدورف", "شتوتغارت", "بريمن", "هانوفر", "لايبزيغ", "munich",
                      "münchen", "hamburg", "cologne", "köln", "frankfurt", "essen", "dortmund",
                      "düsseldorf", "stuttgart", "bremen", "hanover", "hannover", "leipzig"),
    "Europe/Paris": ("باريس", "ليون", "مرسيليا", "تولوز", "ليل", "lyon", "marseille", "toulouse",
                     "lille"),
    "Europe/London": ("لندن", "مانشستر", "برمنغهام", "manchester", "birmingham"),
    "Europe/Stockholm": ("ستوكهولم", "مالمو", "غوتنبرغ", "يوتبوري", "malmö", "malmo",
                         "gothenburg", "göteborg"),
    "Europe/Copenhagen": ("كوبنهاغن", "كوبنهاجن"),
    "Europe/Oslo": ("أوسلو",),
    "Europe/Helsinki": ("هلسنكي",),
    "Europe/Amsterdam": ("أمستردام", "روتردام", "لاهاي", "rotterdam", "the hague"),
    "Europe/Brussels": ("بروكسل", "أنتويرب", "antwerp"),
    "Europe/Vienna": ("فيينا",),
    "Europe/Zurich": ("زيورخ", "جنيف", "برن", "geneva", "bern"),
    "Europe/Madrid": ("مدريد", "برشلونة", "barcelona"),
    "Europe/Rome": ("روما", "ميلانو", "milan"),
    "Europe/Athens": ("أثينا",),
    "Europe/Dublin": ("دبلن",),
    "Europe/Warsaw": ("وارسو",),
    "Europe/Moscow": ("موسكو",),
    "Europe/Kyiv": ("كييف",),
    "America/New_York": ("نيويورك",),
    "America/Toronto": ("تورونتو", "مونتريال", "أوتاوا", "montreal", "ottawa"),
    "America/Detroit": ("ديترويت", "ديربورن", "dearborn"),
}


def _zone_names() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones()) | {"UTC"}
    return _ZONES


def _city_key(name: str) -> str:
    return normalize(name.replace("_", " ").replace("-", " ")).replace("'", "")


def _cities() -> dict[str, str]:
    """Normalized city name -> zone: the city part of the IANA names, then the table."""
    global _CITIES
    if _CITIES is None:
        cities: dict[str, str] = {}
        names = _zone_names()
        # More parts first: America/Argentina/Cordoba (canonical) before America/Cordoba.
        for zone in sorted(names, key=lambda z: (-z.count("/"), z)):
            if "/" in zone and zone.split("/", 1)[0] in _AREAS:
                cities.setdefault(_city_key(zone.rsplit("/", 1)[1]), zone)
        cities.update(_PREFERRED)
        for zone, spellings in _EXTRA_CITIES.items():
            if zone in names:
                for spelling in spellings:
                    cities.setdefault(_city_key(spelling), zone)
        _CITIES = cities
    return _CITIES


def zone_named(name: str) -> ZoneInfo | None:
    """The IANA zone called `name` (case-insensitive), or None when there is none."""
    cleaned = name.strip()
    if not cleaned or ".." in cleaned or cleaned.startswith("/"):
        return None
    if cleaned not in _zone_names():
        lowered = {zone.lower(): zone for zone in _zone_names()}
        cleaned = lowered.get(cleaned.lower(), "")
        if not cleaned:
            return None
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def find_zone(name: str) -> ZoneInfo | None:
    """A zone by its IANA name or a city in it (`Beirut`, `new york`, `بيروت`, `غازي عنتاب`)."""
    found = zone_named(name) or zone_named(name.strip().replace(" ", "_"))
    if found is not None:
        return found
    zone = _cities().get(_city_key(name))
    return zone_named(zone) if zone else None


def suggest_zones(name: str, count: int = 3) -> list[str]:
    """The zones whose name or city is closest to `name` (for a name not found)."""
    key = _city_key(name)
    cities = _cities()
    full = {_city_key(zone.replace("/", " ")): zone for zone in _zone_names() if "/" in zone}
    candidates = {**full, **cities}
    found: list[str] = []
    for match in difflib.get_close_matches(key, list(candidates), n=count * 3, cutoff=0.6):
        zone = candidates[match]
        # A link (Asia/Istanbul) is shown as the zone its city is read as (Europe/Istanbul).
        zone = cities.get(_city_key(zone.rsplit("/", 1)[-1]), zone)
        if zone not in found:
            found.append(zone)
    return found[:count]


# -- showing times -------------------------------------------------------------------------

def format_time(timestamp: float, zone: ZoneInfo, now: float) -> str:
    """`18:30` today, else `2026-12-01 18:30`, with the zone name."""
    moment = datetime.fromtimestamp(timestamp, tz=zone)
    today = datetime.fromtimestamp(now, tz=zone).date()
    if moment.date() == today:
        shown = moment.strftime("%H:%M")
    else:
        shown = moment.strftime("%Y-%m-%d %H:%M")
    return f"{shown} ({zone.key})"


def format_duration(seconds: float) -> str:
    """`1h30m`, `45m`, `20s`: compact and language-neutral."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours and minutes:
        return f"{hours}h{minutes:02d}m"
    if hours:
        return f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def utc() -> ZoneInfo:
    return ZoneInfo("UTC")
