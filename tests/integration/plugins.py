"""Small plugins the integration tests load next to the real ones."""

from __future__ import annotations

from core.i18n import Catalog
from core.plugin import Context, Plugin, command

CATALOG = Catalog(
    "testing",
    {
        "help_echo": {"en": "Repeat the text.", "ar": "كرّر النص."},
        "help_boom": {"en": "Fail on purpose.", "ar": "افشل عمداً."},
        "echo": {"en": "echo: {text}", "ar": "صدى: {text}"},
        "help_safe": {"en": "A safety command (never rate limited).",
                      "ar": "أمر سلامة (لا يُقيَّد بحدّ السرعة أبداً)."},
        "safe": {"en": "safe: {text}", "ar": "بأمان: {text}"},
        "help_whisper": {"en": "A private command (answered in your DM).",
                         "ar": "أمر خاص (يأتي الرد في رسالتك المباشرة)."},
        "whisper": {"en": "whispered: {text}", "ar": "همس: {text}"},
    },
)


class EchoPlugin(Plugin):
    """Answers `!echo <text>` with the same text."""

    name = "echo"
    catalog = CATALOG

    @command("echo", help="help_echo")
    async def echo(self, ctx: Context, *, text: str) -> None:
        await ctx.reply(ctx.t("echo", text=text))


class BoomPlugin(Plugin):
    """`!boom` raises, to prove one plugin's bug does not stop the bot."""

    name = "boom"
    catalog = CATALOG

    @command("boom", help="help_boom")
    async def boom(self, ctx: Context, *, text: str = "") -> None:
        # The exception message carries what the member wrote: it must not be logged.
        raise RuntimeError(text)


class SafetyPlugin(Plugin):
    """`!safe <text>`: a command marked `safety`, which the rate limit never holds back."""

    name = "safety"
    catalog = CATALOG

    @command("safe", help="help_safe", safety=True)
    async def safe(self, ctx: Context, *, text: str = "") -> None:
        await ctx.reply(ctx.t("safe", text=text))


class WhisperPlugin(Plugin):
    """`!whisper <text>`: a `private` command, answered only in the member's DM."""

    name = "whisper"
    catalog = CATALOG

    @command("whisper", help="help_whisper", private=True)
    async def whisper(self, ctx: Context, *, text: str = "") -> None:
        await ctx.reply(ctx.t("whisper", text=text))
