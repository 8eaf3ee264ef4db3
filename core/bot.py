"""The running bot: storage, connection, dispatcher, scheduler and plugins wired together."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from core.builtin import CorePlugin
from core.clock import Clock
from core.config import Config, ConfigError, missing_secrets
from core.crypto import IdentityOutcome, ensure_cross_signed_identity
from core.crypto.services import TrustServices
from core.discovery import plugins_for, validate_plugin_blocks
from core.dispatch import Dispatcher
from core.dms import DirectMessages
from core.events import RoomEvent
from core.i18n import Trusted
from core.languages import LanguagePreferences
from core.logsafe import log_exception, new_error_id
from core.matrix import MatrixConnection, SendError
from core.matrix.actions import NioRoomActions
from core.messages import CATALOG
from core.outbox import Outbox
from core.plugin import Plugin, message_content, plugin_problems
from core.room_settings import RoomSettings
from core.runtime import Runtime
from core.scheduler import Job, Scheduler
from core.sealed import DEMO_PASSPHRASE
from core.storage import CORE_MIGRATIONS, Database

log = logging.getLogger(__name__)


class Bot:
    """Build with a Config, `await start()`, then `await run()` until `stop()`."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        plugins: Sequence[type[Plugin]] | None = None,
        demo: bool = False,
        recovery_key: str | None = None,
    ) -> None:
        self.recovery_key = recovery_key
        problems = missing_secrets(config, demo=demo)
        plugin_classes = list(plugins) if plugins is not None else plugins_for(config)
        if plugins is not None:  # discovery checks what it finds; a given list is checked here
            problems += [problem for plugin in plugin_classes for problem in plugin_problems(plugin)]
        problems += validate_plugin_blocks(config, plugin_classes)
        if problems:
            raise ConfigError(problems)
        self.config = config
        self.clock = clock or Clock()
        self.plugin_classes: list[type[Plugin]] = [CorePlugin, *plugin_classes]
        passphrase = config.storage.store_passphrase.resolve() or DEMO_PASSPHRASE
        config.storage.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        # mkdir's mode applies only to a new folder: an existing one is closed too.
        config.storage.data_dir.chmod(0o700)
        self.db = Database(config.storage.database)
        self.connection = MatrixConnection(config, self.db, self.clock, passphrase=passphrase)
        jobs = config.bot.scheduler
        self.scheduler = Scheduler(self.db, self.clock, max_attempts=jobs.max_attempts,
                                   backoff_initial_seconds=jobs.backoff_initial_seconds,
                                   backoff_max_seconds=jobs.backoff_max_seconds)
        actions = NioRoomActions(self.connection)
        self.dms = DirectMessages(self.db, actions, self.connection, self.clock,
                                  config.matrix.user_id)
        self.outbox = Outbox(self.db, self.clock, actions, self.dms, config.bot.outbox)
        self.runtime = Runtime(
            config=config,
            db=self.db,
            clock=self.clock,
            scheduler=self.scheduler,
            settings=RoomSettings(self.db, config.plugins),
            languages=LanguagePreferences(self.db, config.bot.default_language),
            sender=self.connection,
            rooms=self.connection,
            actions=actions,
            dms=self.dms,
            outbox=self.outbox,
            bot_user_id=config.matrix.user_id,
        )
        self.outbox.sealer = self.runtime.sealer
        self.dispatcher = Dispatcher(self.runtime)
        self._run_task: asyncio.Task[None] | None = None
        self.on_event: Callable[[RoomEvent], None] | None = None
        self.identity: IdentityOutcome | None = None
        self.trust_services: TrustServices | None = None
        self._passphrase = passphrase
        # Set once the first sync is in, plugins are ready and timers run.
        self.ready = asyncio.Event()
        # Events that came while the database could not be written, in order.
        self._held: list[tuple[RoomEvent, Callable[[], None]]] = []
        self._releasing: asyncio.Task[None] | None = None
        # Plugins left out because they raised while starting: name -> stage.
        self.failed_plugins: dict[str, str] = {}

    async def start(self) -> None:
        """Open storage, run migrations, connect, set plugins up; no events yet."""
        # An unwritable file is logged once and waited out, not a crash loop.
        await self.db.open(wait_writable=True)
        await self.db.migrate("core", CORE_MIGRATIONS)
        await self.runtime.settings.load()
        await self.runtime.languages.load()
        await self.runtime.zones.load()
        await self.dms.load()
        await self.runtime.network.load()
        for plugin_class in self.plugin_classes:
            try:
                plugin = plugin_class(self.runtime)
            except Exception as exc:
                self._isolate(plugin_class.name, "construction", exc)
                continue
            self.runtime.plugins[plugin.name] = plugin
            self.dispatcher.add_plugin(plugin)
            if isinstance(plugin, CorePlugin):
                plugin.dispatcher = self.dispatcher
        for plugin in list(self.runtime.plugins.values()):
            try:
                await plugin.setup()
            except Exception as exc:
                if isinstance(plugin, CorePlugin):
                    raise  # without help and languages there is no bot to run
                self._isolate(plugin.name, "setup", exc)
        self.scheduler.register("core", "prune_handled", self._prune_handled)
        await self.scheduler.cancel("core-prune-handled")  # the hand-rescheduled job of old
        await self.scheduler.every("core", "prune_handled", 3600)
        await self.connection.connect()
        if self.config.crypto.cross_signing:
            await self._ensure_identity()
        self.trust_services = await TrustServices.create(self)
        # The bot hears what the connection learns (ConnectionListener, below).
        self.connection.connect_services(self, trust=self.trust_services.trust,
                                         verification=self.trust_services.verification)

    def _isolate(self, name: str, stage: str, exc: Exception) -> None:
        """Leave out a plugin that failed to start: logged by name, the others run on.

        Its commands are then unknown, its listeners do not run, its jobs stay
        stored but do not fire (until a start where it works), and
        `failed_plugins` names it.
        """
        log_exception(log, f"plugin {name} failed at {stage} and is left out", exc,
                      new_error_id())
        self.failed_plugins[name] = stage
        self.runtime.plugins.pop(name, None)
        self.dispatcher.remove_plugin(name)
        self.scheduler.unregister_owner(name)

    async def _ensure_identity(self) -> None:
        """Publish or restore the cross-signed identity; never resets it silently."""
        self.identity = await ensure_cross_signed_identity(
            self.connection.cross_signing_session(),
            local_store=self.identity_path,
            passphrase=self._passphrase,
            recovery_key=self.recovery_key or self.config.crypto.recovery_key.resolve(),
        )
        if self.identity.recovery_key:
            path = self.config.storage.data_dir / "RECOVERY-KEY.txt"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(self.identity.recovery_key + "\n")
            log.warning("new cross-signing identity created; its recovery key is in %s "
                        "(mode 0600): store it somewhere safe and delete the file", path)
        log.info("cross-signing identity %s (device signed: %s)", self.identity.action,
                 self.identity.device_signed)

    @property
    def identity_path(self) -> Path:
        return self.config.storage.data_dir / "identity.enc"

    # -- what the connection tells the bot (core.matrix.ConnectionListener) --

    def note_state(self, room_id: str, source: dict[str, Any]) -> None:
        """A real state event of a joined room: the network learns its rooms from them."""
        self.runtime.network.note_state(room_id, source)

    async def joined_direct(self, room_id: str, member: str) -> None:
        """The bot joined a room `member` opened as a DM with it (a hint; core.dms checks)."""
        await self.dms.remember(room_id, member)

    async def explain_undecryptable(self, room_id: str, sender: str, code: str | None) -> None:
        """Once per member and room a day: why their message could not be read."""
        key = f"undecryptable_notice:{room_id}:{sender}"
        row = await self.db.fetchone("SELECT value FROM core_state WHERE key = ?", (key,))
        if row and self.clock.now() - float(row["value"]) < 86400:
            return
        await self.db.execute(
            "INSERT INTO core_state (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, str(self.clock.now())),
        )
        language = self.runtime.languages.for_reader(sender, room_id)
        if code:
            text = CATALOG.text("undecryptable_withheld", language, user=Trusted(sender),
                                code=code)
        else:
            text = CATALOG.text("undecryptable_missing", language, user=Trusted(sender))
        content = message_content(text, [sender])
        try:
            await self.connection.send_message(room_id, content, f"sol-udn-{room_id}-{sender}")
        except SendError as exc:
            log.warning("could not explain an unreadable message in %s: %s", room_id, exc.reason)

    async def run(self) -> None:
        """Sync and dispatch until `stop()`; overdue jobs fire once the first sync is in."""
        if self.trust_services is not None:
            self.trust_services.start()
        when_ready = asyncio.create_task(self._when_synced())
        try:
            await self.connection.run(self._submit)
        finally:
            when_ready.cancel()

    def refuses_invite(self, room_id: str, inviter: str) -> str | None:
        """The first plugin's reason to decline an invite the config allows, or None."""
        for plugin in self.runtime.plugins.values():
            try:
                refusal = plugin.refuses_invite(room_id, inviter)
            except Exception as exc:  # a plugin's bug must not stop invites being handled
                log_exception(log, f"invite check of {plugin.name}", exc, new_error_id())
                continue
            if refusal is not None:
                return f"{plugin.name}: {refusal}"
        return None

    async def _when_synced(self) -> None:
        """After the first sync (rooms, members, DMs known): plugins' ready, then timers and sends.

        A job due at start (an escalation that fell due while the bot was
        down) fires only now, when it can reach the rooms it needs.
        """
        await self.connection.synced.wait()
        for plugin in self.runtime.plugins.values():
            try:
                await plugin.ready()
            except Exception as exc:  # one plugin's start must not hold the others' timers
                log_exception(log, f"ready hook of {plugin.name}", exc, new_error_id())
        self.outbox.start()
        self.scheduler.start()
        self.ready.set()

    def _submit(self, event: RoomEvent, done: Callable[[], None]) -> None:
        if self.on_event is not None:
            self.on_event(event)
        if self._held or not self.db.writable:
            # Nothing could be recorded as handled (nor a check-in stored, an
            # alert queued): the event waits, in order, and is handled once the
            # file takes writes. Its batch's sync token stays unstored, so a
            # restart meanwhile replays it instead of losing it.
            self._held.append((event, done))
            if self._releasing is None:
                self._releasing = asyncio.create_task(self._release_held())
            return
        self.dispatcher.submit(event, done)

    async def _release_held(self) -> None:
        await self.db.wait_writable()
        held, self._held, self._releasing = self._held, [], None
        log.info("database writable again: handling %d events that waited", len(held))
        for event, done in held:
            self.dispatcher.submit(event, done)

    def stop(self) -> None:
        self.connection.stop()

    async def close(self) -> None:
        """Finish queued work, then release everything (safe to call twice)."""
        self.connection.stop()
        if self._releasing is not None:  # held events are replayed after the restart
            self._releasing.cancel()
        try:
            await asyncio.wait_for(self.dispatcher.drain(), timeout=10)
        except TimeoutError:
            log.warning("shutdown: some events were still being handled; they will be replayed")
        await self.dispatcher.stop()
        await self.scheduler.stop()
        # Unsent items stay queued in the database and go out after the restart.
        await self.outbox.stop()
        for plugin in self.runtime.plugins.values():
            await plugin.teardown()
        if self.trust_services is not None:
            await self.trust_services.stop()
        await self.connection.close()
        await self.db.close()

    async def _prune_handled(self, job: Job) -> None:
        days = self.config.storage.handled_event_retention_days
        await self.db.execute(
            "DELETE FROM core_handled_events WHERE handled_at < ?",
            (self.clock.now() - days * 86400,),
        )
        await self.outbox.prune(self.clock.now() - self.config.bot.outbox.retention_days * 86400)
