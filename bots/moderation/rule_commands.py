"""`!filters`: moderators list, add and remove a room's word and pattern rules, one at a time.

`!config moderation words [...]` works too, but rewrites the whole list and
can only answer a refused pattern in the model's words; here a bad pattern
gets its reason in the moderator's language and nothing is stored.
"""

from __future__ import annotations

import json
import logging
from typing import Literal

from bots.moderation.access import ModerationBase
from bots.moderation.settings import ModerationSettings
from bots.moderation.textrules import MAX_PATTERNS, PatternError, check_pattern, pattern_problem
from core.i18n import Trusted
from core.plugin import Context, Refusal, group
from core.roles import Role
from core.room_settings import NETWORK, SettingError

log = logging.getLogger(__name__)

MAX_WORD = 200


Kind = Literal["word", "pattern"]


class RuleCommands(ModerationBase):
    """The word/pattern list half of the moderation plugin (mixed into ModerationPlugin)."""

    # A room's own rules: its moderators only (no network stand-in). `!filters` alone
    # lists, as it always did (an empty alias: core's groups have no default yet).
    filters = group("filters", help="help_filters", alone="list", min_role=Role.MODERATOR)

    @filters.command("list", help="help_filters_list")
    async def filters_list(self, ctx: Context[ModerationSettings]) -> None:
        settings = ctx.settings
        if not settings.words and not settings.patterns:
            await ctx.reply(ctx.t("rules_empty"))
            return
        lines = [ctx.t("rules_header", words=len(settings.words), patterns=len(settings.patterns))]
        lines += [f"w{n}. {word}" for n, word in enumerate(settings.words, 1)]
        lines += [f"p{n}. {pattern}" for n, pattern in enumerate(settings.patterns, 1)]
        await ctx.reply("\n".join(lines))

    @filters.command("add", help="help_filters_add")
    async def filters_add(self, ctx: Context[ModerationSettings], kind: Kind | None = None, *,
                          value: str = "") -> None:
        kind, text = _rule(kind, value)
        current = _rules_of(ctx.settings, kind)
        if kind == "pattern":
            if len(current) >= MAX_PATTERNS:
                await ctx.reply(ctx.t("too_many_patterns", most=MAX_PATTERNS, count=len(current) + 1)
                                + "\n" + ctx.t("nothing_changed"))
                return
            try:
                check_pattern(text)
            except PatternError as error:
                await ctx.reply(ctx.t(error.reason, pattern=text[:60]) + "\n"
                                + ctx.t("nothing_changed"))
                return
        elif len(text) > MAX_WORD:
            await ctx.reply(ctx.t("word_too_long", most=MAX_WORD))
            return
        if text in current:
            await ctx.reply(ctx.t("rule_exists"))
            return
        await self._store_rules(ctx, kind, [*current, text], "rule_added")

    @filters.command("remove", help="help_filters_remove")
    async def filters_remove(self, ctx: Context[ModerationSettings], kind: Kind | None = None, *,
                             value: str = "") -> None:
        kind, text = _rule(kind, value)
        current = _rules_of(ctx.settings, kind)
        if text.isdigit() and 1 <= int(text) <= len(current):
            current.pop(int(text) - 1)
        elif text in current:
            current.remove(text)
        else:
            await ctx.reply(ctx.t("rule_missing"))
            return
        await self._store_rules(ctx, kind, current, "rule_removed")

    async def _store_rules(self, ctx: Context, kind: Kind, rules: list[str], done: str) -> None:
        key = "words" if kind == "word" else "patterns"
        try:
            await self.runtime.settings.set_value(ctx.room_id, type(self), key, json.dumps(rules))
        except SettingError as error:
            await ctx.reply("\n".join(error.problems) + "\n" + ctx.t("nothing_changed"))
            return
        await ctx.reply(ctx.t(done, kind=Trusted(kind), count=len(rules)))

    async def _drop_refused_patterns(self) -> None:
        """Stored pattern lists the checks now refuse (a stronger probe, the cap) lose those
        patterns at start, or every event of the room would fail validating its settings.

        Logged with the room and the pattern's number, never the pattern's text
        (which may quote what it is meant to catch).
        """
        settings = self.runtime.settings
        rows = await self.runtime.db.fetchall(
            "SELECT room_id, value FROM core_room_settings WHERE plugin = ? AND key = 'patterns' "
            "ORDER BY room_id = ? DESC", (self.name, NETWORK))
        for row in rows:
            room_id = row["room_id"]
            try:
                stored = json.loads(row["value"])
            except ValueError:
                stored = None
            if not isinstance(stored, list):
                continue
            kept: list[str] = []
            for number, pattern in enumerate(stored, 1):
                problem = pattern_problem(pattern) if isinstance(pattern, str) else ("invalid", "")
                if problem is not None:
                    log.warning("moderation: stored pattern p%s of %s is refused now (%s); dropped",
                                number, room_id or "the network", problem[0])
                elif len(kept) >= MAX_PATTERNS:
                    log.warning("moderation: stored pattern p%s of %s is over the cap of %s; "
                                "dropped", number, room_id or "the network", MAX_PATTERNS)
                else:
                    kept.append(pattern)
            if kept == stored:
                continue
            try:
                await settings.reset_value(room_id, type(self), "patterns")
                if kept:
                    await settings.set_value(room_id, type(self), "patterns", json.dumps(kept))
            except SettingError as error:
                log.warning("moderation: patterns of %s not rewritten (%s)", room_id,
                            "; ".join(error.problems)[:200])


def _rule(kind: Kind | None, value: str) -> tuple[Kind, str]:
    """The kind and text of `filters add|remove word|pattern <text>`, or how to write it."""
    if kind is None or not value.strip():
        raise Refusal("rules_usage")
    return kind, value.strip()


def _rules_of(settings: ModerationSettings, kind: Kind) -> list[str]:
    return list(settings.words if kind == "word" else settings.patterns)
