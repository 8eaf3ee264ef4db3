"""Moderation policy lists (Matrix spec `m.policy.rule.*`): parsing and fast glob matching.

Draupnir and Mjolnir publish the same events, sometimes under their legacy
type names, so those are read too. A rule is keyed by (list room, event type,
state key): sending the same state again replaces it, and an event without an
entity (the spec's way to remove a rule) removes it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

KINDS = {
    "m.policy.rule.user": "user",
    "m.policy.rule.room": "room",
    "m.policy.rule.server": "server",
    "m.room.rule.user": "user",
    "m.room.rule.room": "room",
    "m.room.rule.server": "server",
    "org.matrix.mjolnir.rule.user": "user",
    "org.matrix.mjolnir.rule.room": "room",
    "org.matrix.mjolnir.rule.server": "server",
}
BAN_RECOMMENDATIONS = frozenset({"m.ban", "org.matrix.mjolnir.ban"})
MAX_ENTITY = 255
MAX_REASON = 500
USER_GLOB = re.compile(r"@[^\s]+:[^\s]+")
SERVER_GLOB = re.compile(r"[A-Za-z0-9.\-*?\[\]:]+")


@dataclass(frozen=True)
class PolicyRule:
    """One ban rule of a list: `entity` is a glob over user ids, room ids or server names."""

    list_room: str
    event_type: str
    state_key: str
    kind: str  # user | room | server
    entity: str
    reason: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.list_room, self.event_type, self.state_key)


@dataclass(frozen=True)
class Removal:
    """A state event that clears the rule at its key."""

    key: tuple[str, str, str]


@dataclass(frozen=True)
class Ignored:
    """An event that is not a usable ban rule; `why` is a catalog-free code for counting."""

    key: tuple[str, str, str]
    why: str


def parse_policy_event(list_room: str, event: dict[str, Any]) -> PolicyRule | Removal | Ignored | None:
    """Read one state event of a list room; None when it is not a policy event at all."""
    event_type = event.get("type")
    if not isinstance(event_type, str) or event_type not in KINDS:
        return None
    state_key = event.get("state_key")
    if not isinstance(state_key, str):
        return None
    key = (list_room, event_type, state_key)
    content = event.get("content")
    if not isinstance(content, dict) or not content:
        return Removal(key)
    entity = content.get("entity")
    if entity is None:
        return Removal(key)
    if not isinstance(entity, str) or not entity.strip() or len(entity) > MAX_ENTITY:
        return Ignored(key, "bad_entity")
    recommendation = content.get("recommendation")
    if recommendation not in BAN_RECOMMENDATIONS:
        return Ignored(key, "unknown_recommendation")
    kind = KINDS[event_type]
    entity = entity.strip()
    if not valid_glob(kind, entity):
        return Ignored(key, "bad_entity")
    reason = content.get("reason")
    reason = reason[:MAX_REASON] if isinstance(reason, str) else ""
    return PolicyRule(list_room, event_type, state_key, kind, entity, reason)


def valid_glob(kind: str, entity: str) -> bool:
    """Is `entity` a plausible glob for its kind? A lone `*` would ban everyone: refused."""
    if entity.strip("*?") == "" or any(c.isspace() for c in entity):
        return False
    if kind == "user":
        if not USER_GLOB.fullmatch(entity):
            return False
        localpart, server = entity[1:].split(":", 1)
        # `@*:*` would ban everyone: one side at least must be specific.
        return localpart.strip("*?") != "" or server.strip("*?") != ""
    if kind == "server":
        return bool(SERVER_GLOB.fullmatch(entity))
    return entity[0] in "!#"


def has_wildcard(entity: str) -> bool:
    return "*" in entity or "?" in entity


def glob_to_regex(glob: str) -> re.Pattern[str]:
    """`*` any run, `?` one character, everything else literal; case-insensitive."""
    parts = []
    for char in glob:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


_Entry = tuple[re.Pattern[str], PolicyRule]
_Bucket = dict[tuple[str, str, str], _Entry]
# Shortest literal piece worth indexing; globs with less are tried one by one.
_MIN_PIECE = 3


class GlobIndex:
    """Match a name against many globs with a handful of dict lookups.

    Each glob is filed under its longest literal piece: an exact entity in a
    dict; a literal prefix (`@spam*:*`) or suffix (`@*:evil.org`) under the
    whole piece, looked up with the name's prefix or suffix of each length in
    use; a piece in the middle under its first three characters, looked up
    with the name's trigrams. Only the globs found that way are tried with
    their regex, so 50,000 rules cost about as much as a few hundred.
    """

    def __init__(self) -> None:
        self._exact: dict[str, dict[tuple[str, str, str], PolicyRule]] = {}
        self._prefix: dict[str, _Bucket] = {}
        self._suffix: dict[str, _Bucket] = {}
        self._infix: dict[str, _Bucket] = {}
        self._other: _Bucket = {}
        self._prefix_lengths: Counter[int] = Counter()
        self._suffix_lengths: Counter[int] = Counter()
        self._where: dict[tuple[str, str, str], tuple[str, str]] = {}

    def __len__(self) -> int:
        return len(self._where)

    def add(self, rule: PolicyRule) -> None:
        self.remove(rule.key)
        entity = rule.entity.lower()
        if not has_wildcard(entity):
            self._exact.setdefault(entity, {})[rule.key] = rule
            self._where[rule.key] = ("exact", entity)
            return
        entry = (glob_to_regex(entity), rule)
        pieces = re.split(r"[*?]+", entity)
        prefix, suffix = pieces[0], pieces[-1]
        middle = max(pieces[1:-1], key=len, default="")
        longest = max(len(prefix), len(suffix), len(middle))
        if longest < _MIN_PIECE:
            self._other[rule.key] = entry
            self._where[rule.key] = ("other", "")
        elif len(prefix) == longest:
            self._prefix.setdefault(prefix, {})[rule.key] = entry
            self._prefix_lengths[len(prefix)] += 1
            self._where[rule.key] = ("prefix", prefix)
        elif len(suffix) == longest:
            self._suffix.setdefault(suffix, {})[rule.key] = entry
            self._suffix_lengths[len(suffix)] += 1
            self._where[rule.key] = ("suffix", suffix)
        else:
            self._infix.setdefault(middle[:_MIN_PIECE], {})[rule.key] = entry
            self._where[rule.key] = ("infix", middle[:_MIN_PIECE])

    def remove(self, key: tuple[str, str, str]) -> None:
        where = self._where.pop(key, None)
        if where is None:
            return
        table, bucket = where
        if table == "exact":
            found = self._exact.get(bucket)
            if found is not None:
                found.pop(key, None)
                if not found:
                    del self._exact[bucket]
            return
        if table == "other":
            self._other.pop(key, None)
            return
        store = {"prefix": self._prefix, "suffix": self._suffix, "infix": self._infix}[table]
        entries = store.get(bucket)
        if entries is not None:
            entries.pop(key, None)
            if not entries:
                del store[bucket]
        if table == "prefix":
            _decrement(self._prefix_lengths, len(bucket))
        elif table == "suffix":
            _decrement(self._suffix_lengths, len(bucket))

    def match(self, name: str) -> PolicyRule | None:
        """The first rule whose glob matches `name`, or None."""
        for rule in self.matches(name):
            return rule
        return None

    def matches(self, name: str) -> Iterator[PolicyRule]:
        lowered = name.lower()
        exact = self._exact.get(lowered)
        if exact:
            yield from exact.values()
        for length in self._prefix_lengths:
            yield from _verified(self._prefix.get(lowered[:length]), lowered)
        for length in self._suffix_lengths:
            if length <= len(lowered):
                yield from _verified(self._suffix.get(lowered[-length:]), lowered)
        if self._infix:
            seen: set[str] = set()
            for start in range(len(lowered) - _MIN_PIECE + 1):
                trigram = lowered[start:start + _MIN_PIECE]
                if trigram not in seen:
                    seen.add(trigram)
                    yield from _verified(self._infix.get(trigram), lowered)
        yield from _verified(self._other, lowered)


def _verified(bucket: _Bucket | None, name: str) -> Iterator[PolicyRule]:
    if bucket:
        for compiled, rule in bucket.values():
            if compiled.fullmatch(name):
                yield rule


def _decrement(counter: Counter[int], length: int) -> None:
    counter[length] -= 1
    if counter[length] <= 0:
        del counter[length]


class PolicyIndex:
    """Every ban rule of the subscribed lists, by kind."""

    def __init__(self) -> None:
        self.users = GlobIndex()
        self.servers = GlobIndex()
        self.rooms = GlobIndex()
        self.rules: dict[tuple[str, str, str], PolicyRule] = {}

    def _table(self, kind: str) -> GlobIndex:
        return {"user": self.users, "server": self.servers, "room": self.rooms}[kind]

    def add(self, rule: PolicyRule) -> None:
        self.remove(rule.key)
        self.rules[rule.key] = rule
        self._table(rule.kind).add(rule)

    def remove(self, key: tuple[str, str, str]) -> PolicyRule | None:
        old = self.rules.pop(key, None)
        if old is not None:
            self._table(old.kind).remove(key)
        return old

    def drop_list(self, list_room: str) -> list[PolicyRule]:
        gone = [rule for key, rule in self.rules.items() if key[0] == list_room]
        for rule in gone:
            self.remove(rule.key)
        return gone

    def of_list(self, list_room: str) -> dict[tuple[str, str, str], PolicyRule]:
        return {key: rule for key, rule in self.rules.items() if key[0] == list_room}

    def match_user(self, user_id: str) -> PolicyRule | None:
        """A rule banning this user, directly or through their server."""
        rule = self.users.match(user_id)
        if rule is None and ":" in user_id:
            rule = self.servers.match(user_id.split(":", 1)[1])
        return rule

    def server_globs(self) -> list[str]:
        return sorted({rule.entity for rule in self.rules.values() if rule.kind == "server"})


def load(index: PolicyIndex, rules: Iterable[PolicyRule]) -> None:
    for rule in rules:
        index.add(rule)
