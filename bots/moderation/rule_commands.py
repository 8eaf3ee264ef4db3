"""`!filters`: moderators list, add and remove a room's word and pattern rules, one at a time.

`!config moderation words [...]` works too, but rewrites the whole list and
can only answer a refused pattern in the model's words; here a bad pattern
gets its reason in the moderator's language and nothing is stored.
"""

from __future__ import annotations

import json
import logging
from typing import Literal

from bots.moderation.settings import ModerationSettings
from bots.moderation.textrules import MAX_PATTERNS, PatternError, check_pattern, pattern_problem
from core.i18n import Trusted
from core.plugin import Context, Plugin, command
from core.roles import Role
from core.room_settings import NETWORK, SettingError

log = logging.getLogger(__name__)

MAX_WORD = 200


class RuleCommands(Plugin):
    """The word/pattern list half of the moderation plugin (mixed into ModerationPlugin)."""

    @command("filters", help="help_filters", min_role=Role.MODERATOR)
    async def rules(
        self, ctx: Context, what: Literal["list", "add", "remove"] = "list",
        kind: Literal["word", "pattern"] | None = None, *, value: str = "",
    ) -> None:
        settings: ModerationSettings = ctx.settings  # type: ignore[assignment]
        if what == "list":
            await self._list_rules(ctx, settings)
            return
        if kind is None or not value.strip():
            await ctx.reply(ctx.t("rules_usage"))
            return
        key = "words" if kind == "word" else "patterns"
        current = list(getattr(settings, key))
        text = value.strip()
        if what == "add":
            if kind == "pattern" and len(current) >= MAX_PATTERNS:
                await ctx.reply(ctx.t("too_many_patterns", most=MAX_PATTERNS, count=len(current) + 1)
                                + "\n" + ctx.t("nothing_changed"))
                return
            if kind == "pattern":
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
            current.append(text)
        else:
            if text.isdigit() and 1 <= int(text) <= len(current):
                current.pop(int(text) - 1)
            elif text in current:
                current.remove(text)
            else:
                await ctx.reply(ctx.t("rule_missing"))
                return
        try:
            await self.runtime.settings.set_value(ctx.room_id, type(self), key, json.dumps(current))
        except SettingError as error:
            await ctx.reply("\n".join(error.problems) + "\n" + ctx.t("nothing_changed"))
            return
        await ctx.reply(ctx.t("rule_added" if what == "add" else "rule_removed",
                              kind=Trusted(kind), count=len(current)))

    async def _list_rules(self, ctx: Context, settings: ModerationSettings) -> None:
        if not settings.words and not settings.patterns:
            await ctx.reply(ctx.t("rules_empty"))
            return
        lines = [ctx.t("rules_header", words=len(settings.words), patterns=len(settings.patterns))]
        lines += [f"w{n}. {word}" for n, word in enumerate(settings.words, 1)]
        lines += [f"p{n}. {pattern}" for n, pattern in enumerate(settings.patterns, 1)]
        await ctx.reply("\n".join(lines))

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
