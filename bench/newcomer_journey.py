"""A newcomer's journey through a gated room, counted: from the join to their first post.

    .venv/bin/python bench/newcomer_journey.py [--languages en ar] [--runs 1] [--tree DIR]
                                               [--transcript] [--keep]

One throwaway Synapse (rate limits off) and the full bot (core.bot.Bot with the
admin and onboarding plugins, config defaults but `crypto.trust: all`, as the
integration tests: nio members are not cross-signed). For each language, an
owner (E2EE member) makes a fresh encrypted room in the network's default
language (English): the bot at power 100, onboarding on, the gate on, the rules
written in English and in Arabic, `batch_seconds` 1 (so the room welcome comes
within the first look rather than after the newcomer left). Then a fresh E2EE
newcomer (core.matrix.member.Member) is invited and joins.

The newcomer is scripted to do what a person reading only their language would
do from what they see, nothing the bot did not tell them, in this order:

1. after each step, read what the bot sent: wait up to 30 s for a first message,
   then until 4 s pass without another;
2. read line by line: a line is readable when most of its letters are in the
   newcomer's script (Arabic or Latin; commands, ids, links and the room's name
   left out). Instructions are taken from readable lines only;
3. a welcome mostly in another language, with a readable line offering
   `!language <theirs>`: send it;
4. a readable line mentioning ✅: react ✅ to that message; else a readable line
   mentioning `!agree`: send `!agree` in the DM;
5. once they accepted and the bot answered: post in the room;
6. nothing readable to act on: try `!help`, then `!rules`, in the DM, unprompted
   (each once: what people try with a bot);
7. still nothing: act on `✅`/`!agree` seen in a message they cannot read (a guess,
   counted as such); then give up ("stuck").

Counted per journey, from the join to the first post that the homeserver
accepted: the bot's messages received (private chat and room), the commands
sent, reactions sent, posts refused, steps taken unprompted or guessed, the bot's
messages mostly not in the newcomer's language (< 50 % of letters in their
script), and messages with an admin hint (a moderation/admin command such as
`!config`, `directory_rooms`, Room settings, or words addressed to admins). Time from join to post is shown
but is mostly the scripted 4 s reading pauses.

`--tree DIR` runs the same script against another checkout of the project (e.g.
`git worktree add --detach /tmp/before <commit>`): its `core` and `bots` are
imported instead of this one's, with the same virtualenv. `--transcript` prints
what the newcomer read and did (synthetic text; nothing here is a member's).

A measurement, not a test: it prints figures and exits 0 whatever they are
(non-zero only if the benchmark itself could not run).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING


def _tree() -> Path:
    """The checkout to measure: `--tree`, read before anything of the project is imported."""
    for index, arg in enumerate(sys.argv):
        if arg == "--tree" and index + 1 < len(sys.argv):
            return Path(sys.argv[index + 1]).resolve()
        if arg.startswith("--tree="):
            return Path(arg.split("=", 1)[1]).resolve()
    return Path(__file__).resolve().parent.parent


TREE = _tree()
# First on the path: ahead of the virtualenv's editable install of this checkout.
sys.path.insert(0, str(TREE))

from bots.admin import AdminPlugin  # noqa: E402
from bots.onboarding import OnboardingPlugin  # noqa: E402
from core.bot import Bot  # noqa: E402
from core.config import Config  # noqa: E402
from core.homeserver import LocalSynapse  # noqa: E402
from core.matrix.member import Member  # noqa: E402

if TYPE_CHECKING:
    from core.matrix.member import Received

ROOM_NAME = "Garden"
RULES_EN = "1. Be kind to everyone.\n2. What is said here stays here."
RULES_AR = "١. لطفاً مع الجميع.\n٢. ما يُقال هنا يبقى هنا."
HELLO = {"en": "Hello everyone!", "ar": "مرحباً بالجميع!"}

FIRST_WAIT = 30.0  # seconds for the bot's first message after a step
QUIET = 4.0  # seconds without a new message: the newcomer has read everything
MAX_STEPS = 12

ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
# Direction marks and isolates: layout, not text.
MARKS = dict.fromkeys(map(ord, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e"
                               "\u2066\u2067\u2068\u2069"))
# Commands, user and room ids, aliases and links read the same in every language.
TOKENS = re.compile(r"![\w-]+|@[^\s:]+:[\w.\-]+(?::\d+)?|[!#][^\s:]+:[\w.\-]+|https?://\S+")
ADMIN_HINTS = re.compile(
    r"!(?:config|enable|disable|plugins|onboarding|network|modroom|policy|filters|raid|modlog"
    r"|warn|mute|unmute|kick|ban|unban|redact|alert|rollcall)\b|!language room\b"
    r"|directory_rooms|Room settings|Roles & Permissions|إعدادات الغرفة"
    # What is addressed to admins inside a member's message ("for admins: `room <code>` ...").
    r"|\b(?:[Rr]oom admins|[Ff]or admins)\b|للمديرين|لمديري")
CHECK = "✅"


async def poll(condition: Callable[[], bool], limit: float) -> bool:
    """True once `condition` holds, False if `limit` seconds pass first."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


def plain(text: str) -> str:
    return text.translate(MARKS)


def share(text: str, language: str) -> float | None:
    """The part of `text`'s letters in `language`'s script; None without letters to judge."""
    words = TOKENS.sub(" ", plain(text)).replace(ROOM_NAME, " ")
    arabic, latin = len(ARABIC.findall(words)), len(LATIN.findall(words))
    if arabic + latin == 0:
        return None
    return (arabic if language == "ar" else latin) / (arabic + latin)


def readable_lines(text: str, language: str) -> list[str]:
    return [line for line in plain(text).split("\n") if (share(line, language) or 0) >= 0.5]


@dataclass
class Seen:
    """One message of the bot as the newcomer received it."""

    message: Received
    where: str  # "dm" or "room"
    share: float | None
    admin_hint: bool

    @property
    def foreign(self) -> bool:
        return self.share is not None and self.share < 0.5


@dataclass
class Journey:
    language: str
    tree: str
    seen: list[Seen] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    commands: int = 0
    reactions: int = 0
    refused_posts: int = 0
    unprompted: int = 0
    guessed: int = 0
    posted: bool = False
    seconds: float = 0.0
    outcome: str = ""

    @property
    def messages(self) -> int:
        return len(self.seen)

    @property
    def foreign(self) -> int:
        return sum(s.foreign for s in self.seen)

    @property
    def admin_hints(self) -> int:
        return sum(s.admin_hint for s in self.seen)


class Newcomer:
    """The scripted reader: acts only on what the bot's messages tell them (see the docstring)."""

    def __init__(self, member: Member, bot_user: str, room: str, language: str,
                 journey: Journey) -> None:
        self.member = member
        self.bot_user = bot_user
        self.room = room
        self.language = language
        self.journey = journey
        self.read = 0  # index in member.received up to which the newcomer has read
        self.dm: str | None = None
        self.sent: set[str] = set()
        self.reacted: set[str] = set()
        self.accept_tried = 0  # accept actions taken
        self.answered_accept = False
        self.post_tried_after = -1  # accept_tried when a post was last tried

    def _from_bot(self) -> list[Received]:
        return [m for m in self.member.received if m.sender == self.bot_user]

    async def look(self) -> list[Seen]:
        """Wait for what the bot sends after a step, and read it."""
        start = len(self._from_bot())
        await poll(lambda: len(self._from_bot()) != start, FIRST_WAIT)
        count, quiet_since = len(self._from_bot()), time.monotonic()
        while time.monotonic() - quiet_since < QUIET:
            await asyncio.sleep(0.1)
            if len(self._from_bot()) != count:
                count, quiet_since = len(self._from_bot()), time.monotonic()
        fresh = []
        for message in self._from_bot()[start:]:
            if message.room_id != self.room and self.dm is None:
                self.dm = message.room_id
            fresh.append(Seen(message, "room" if message.room_id == self.room else "dm",
                              share(message.body, self.language),
                              bool(ADMIN_HINTS.search(plain(message.body)))))
        self.journey.seen.extend(fresh)
        return fresh

    async def command(self, text: str, why: str) -> None:
        assert self.dm is not None
        self.sent.add(text)
        self.journey.commands += 1
        self.journey.actions.append(f"{text} ({why})")
        await self.member.send(self.dm, text)

    async def react(self, seen: Seen, why: str) -> None:
        message = seen.message
        self.reacted.add(message.event_id)
        self.journey.reactions += 1
        self.journey.actions.append(f"{CHECK} on message {self.journey.seen.index(seen) + 1} ({why})")
        await self.member.client.room_send(
            message.room_id, "m.reaction",
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": message.event_id,
                              "key": CHECK}},
            ignore_unverified_devices=True,
        )

    async def post(self) -> bool:
        self.post_tried_after = self.accept_tried
        try:
            await self.member.send(self.room, HELLO[self.language])
        except RuntimeError:
            self.journey.refused_posts += 1
            self.journey.actions.append("post in the room: refused")
            return False
        self.journey.actions.append("post in the room: accepted")
        return True

    def _readable(self, seen: Seen) -> list[str]:
        return readable_lines(seen.message.body, self.language)

    async def _accept_from(self, candidates: list[Seen], *, guess: bool) -> bool:
        """React ✅ or send `!agree` as the newest message saying so tells; False: none does."""
        for seen in reversed(candidates):
            lines = (plain(seen.message.body).split("\n") if guess else self._readable(seen))
            why = "guessed from a message not in their language" if guess else "as told"
            if any(CHECK in line for line in lines) and seen.message.event_id not in self.reacted:
                self.accept_tried += 1
                self.journey.guessed += guess
                await self.react(seen, why)
                return True
            if any(re.search(r"!agree\b", line) for line in lines) and "!agree" not in self.sent:
                self.accept_tried += 1
                self.journey.guessed += guess
                await self.command("!agree", why)
                return True
        return False

    async def step(self) -> bool:
        """One thing a person would do next; False when they see nothing more to try."""
        seen = self.journey.seen
        code = self.language
        offer = f"!language {code}"
        if (offer not in self.sent and any(s.foreign for s in seen if s.where == "dm")
                and any(offer in line for s in seen for line in self._readable(s))):
            await self.command(offer, "offered in their language")
            return True
        if self.accept_tried > self.post_tried_after and self.answered_accept:
            if await self.post():
                self.journey.posted = True
            return True
        if await self._accept_from([s for s in seen if s.where == "dm"], guess=False):
            return True
        for unprompted in ("!help", "!rules"):
            if unprompted not in self.sent:
                self.journey.unprompted += 1
                await self.command(unprompted, "unprompted: nothing readable said what to do")
                return True
        return await self._accept_from([s for s in seen if s.where == "dm"], guess=True)

    async def run(self) -> None:
        started = time.monotonic()
        await self.look()
        if self.dm is None:
            self.journey.outcome = "no private welcome"
            return
        for _ in range(MAX_STEPS):
            tried = self.accept_tried
            if not await self.step():
                self.journey.outcome = "stuck: nothing left to try"
                break
            if self.journey.posted:
                self.journey.outcome = "posted"
                break
            fresh = await self.look()
            if self.accept_tried != tried:
                self.answered_accept = bool(fresh)
                if not fresh:
                    self.journey.actions.append("(no answer to that)")
        else:
            self.journey.outcome = f"gave up after {MAX_STEPS} steps"
        self.journey.seconds = time.monotonic() - started


async def start_bot(hs: LocalSynapse, work: Path) -> Bot:
    name = "journeybot" + secrets.token_hex(3)
    password = "bot-password-" + name
    await hs.register(name, password)
    (work / "password").write_text(password)
    (work / "passphrase").write_text("bench store passphrase")
    config = Config.model_validate({
        "matrix": {"homeserver": hs.url, "user_id": f"@{name}:localhost",
                   "password": {"file": str(work / "password")}},
        "storage": {"data_dir": str(work / "data"),
                    "store_passphrase": {"file": str(work / "passphrase")}},
        "bot": {"invites": {"allowed_servers": ["localhost"]}},
        "crypto": {"trust": "all"},
        "logging": {"level": "WARNING"},
    })
    bot = Bot(config, plugins=[AdminPlugin, OnboardingPlugin])
    await bot.start()
    return bot


async def member(hs: LocalSynapse, work: Path, prefix: str) -> Member:
    user = await hs.register(prefix + secrets.token_hex(3), "member-password")
    found = Member(hs.url, user.user_id, work / user.user_id.strip("@").replace(":", "_"))
    await found.login_with_token(user.user_id, user.device_id, user.access_token)
    await found.start()
    return found


async def gated_room(owner: Member, bot: Bot) -> str:
    bot_user = bot.config.matrix.user_id
    room = await owner.create_room(invite=[bot_user], name=ROOM_NAME)
    await owner.wait_member(room, bot_user, 60)
    await poll(lambda: bot.connection.is_encrypted(room), 60)
    levels = await owner.client.room_get_state_event(room, "m.room.power_levels")
    content = dict(getattr(levels, "content", {}))
    content["users"] = {**content.get("users", {}), bot_user: 100}
    await owner.client.room_put_state(room, "m.room.power_levels", content)
    settings = bot.runtime.settings
    await settings.set_enabled(room, OnboardingPlugin, True)
    for key, value in {"gate": "on", "rules_en": RULES_EN, "rules_ar": RULES_AR,
                       "batch_seconds": "1"}.items():
        await settings.set_value(room, OnboardingPlugin, key, value)
    # The bot must know its own power before the join, or it would not hold the newcomer.
    await poll(lambda: bot.runtime.rooms.power_level(room, bot_user) >= 100, 60)
    return room


async def journey(hs: LocalSynapse, bot: Bot, owner: Member, work: Path, language: str,
                  tree: str) -> Journey:
    room = await gated_room(owner, bot)
    newcomer = await member(hs, work, f"newcomer{language}")
    try:
        record = Journey(language, tree)
        # Invited, the member joins by itself (Member accepts invites in its sync loop).
        await owner.client.room_invite(room, newcomer.user_id)
        await newcomer.wait_member(room, newcomer.user_id, 60)
        await Newcomer(newcomer, bot.config.matrix.user_id, room, language, record).run()
        return record
    finally:
        await newcomer.close()


def tree_name(tree: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return str(tree)
    dirty = subprocess.run(["git", "-C", str(tree), "status", "--porcelain", "--", "core", "bots"],
                           capture_output=True, text=True, timeout=10).stdout.strip()
    return out.stdout.strip() + (" + uncommitted changes" if dirty else "")


def report(record: Journey, transcript: bool) -> None:
    print(f"\n== {record.language} newcomer, tree {record.tree}: {record.outcome} "
          f"after {record.seconds:.0f} s")
    for index, seen in enumerate(record.seen, 1):
        part = "n/a" if seen.share is None else f"{seen.share:.0%}"
        flags = (" NOT IN THEIR LANGUAGE" if seen.foreign else "") + (
            " ADMIN HINT" if seen.admin_hint else "")
        print(f"  message {index} ({seen.where}): {part} in {record.language}, "
              f"{len(seen.message.body.splitlines())} lines{flags}")
        if transcript:
            for line in plain(seen.message.body).splitlines():
                print(f"      | {line}")
    for action in record.actions:
        print(f"  -> {action}")


def table(records: list[Journey]) -> None:
    print("\n| tree | newcomer | outcome | bot messages | commands | reactions "
          "| refused posts | unprompted / guessed | not in their language | admin hints |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in records:
        print(f"| {r.tree} | {r.language} | {r.outcome} | {r.messages} | {r.commands} "
              f"| {r.reactions} | {r.refused_posts} | {r.unprompted} / {r.guessed} "
              f"| {r.foreign} | {r.admin_hints} |")


async def run(args: argparse.Namespace, work: Path) -> None:
    hs = LocalSynapse(work / "synapse")
    await hs.start()
    bot: Bot | None = None
    owner: Member | None = None
    run_task: asyncio.Task[None] | None = None
    records: list[Journey] = []
    tree = tree_name(TREE)
    try:
        bot = await start_bot(hs, work)
        run_task = asyncio.create_task(bot.run())
        await asyncio.wait_for(bot.ready.wait(), 60)
        owner = await member(hs, work, "owner")
        for _ in range(args.runs):
            for language in args.languages:
                record = await journey(hs, bot, owner, work, language, tree)
                report(record, args.transcript)
                records.append(record)
        table(records)
    finally:
        if bot is not None:
            bot.stop()
            if run_task is not None:
                await asyncio.gather(run_task, return_exceptions=True)
            await bot.close()
        if owner is not None:
            await owner.close()
        await hs.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--languages", nargs="+", choices=["en", "ar"], default=["en", "ar"])
    parser.add_argument("--runs", type=int, default=1, help="journeys per language")
    parser.add_argument("--tree", default=str(TREE),
                        help="checkout whose core/ and bots/ are measured (default: this one)")
    parser.add_argument("--transcript", action="store_true", help="print what the newcomer read")
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("nio").setLevel(logging.ERROR)
    print(f"measuring {TREE} ({tree_name(TREE)})", flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-journey-"))
    try:
        asyncio.run(run(args, work))
    finally:
        if args.keep:
            print(f"work dir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)



if __name__ == "__main__":
    main()
