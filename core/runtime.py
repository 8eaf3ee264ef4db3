"""The services a running bot shares with its plugins (one handle, not ten arguments)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.authority import Authority
from core.clock import Clock
from core.config import Config
from core.identity_holds import IdentityHolds
from core.languages import LanguagePreferences
from core.network import Network
from core.room_settings import RoomSettings
from core.scheduler import Scheduler
from core.sealed import DEMO_PASSPHRASE, Sealer
from core.storage import Database
from core.zones import MemberZones

if TYPE_CHECKING:
    from core.actions import RoomActions
    from core.dms import DirectMessages
    from core.outbox import Outbox
    from core.plugin import Plugin, RoomView, Sender


@dataclass
class Runtime:
    config: Config
    db: Database
    clock: Clock
    scheduler: Scheduler
    settings: RoomSettings
    languages: LanguagePreferences
    sender: Sender
    rooms: RoomView
    actions: RoomActions
    dms: DirectMessages
    outbox: Outbox
    bot_user_id: str
    plugins: dict[str, Plugin] = field(default_factory=dict)
    # Which rooms are the network, and who may act where (derived, one of each per bot).
    network: Network = field(init=False)
    authority: Authority = field(init=False)
    # Seals what would expose people if the disk were seized (core/sealed.py).
    sealer: Sealer = field(init=False)
    # Members whose identity changed, held for sensitive plugins until they confirm.
    holds: IdentityHolds = field(init=False)
    # The zone each member's times are read and shown in (sealed at rest).
    zones: MemberZones = field(init=False)
    _command_words: tuple[tuple[str, ...], frozenset[str]] = field(
        init=False, default=((), frozenset()))

    def __post_init__(self) -> None:
        passphrase = self.config.storage.store_passphrase.resolve() or DEMO_PASSPHRASE
        self.sealer = Sealer(passphrase, self.bot_user_id)
        self.holds = IdentityHolds(self.db)
        self.zones = MemberZones(self.db, self.sealer, self.config.bot.default_timezone)
        self.network = Network(self.config, self.db)
        self.authority = Authority(self.config, self.rooms, self.network)
        self.settings.watch(self._settings_changed)
        from core.dms import DirectMessages

        if isinstance(self.dms, DirectMessages):
            network = self.network
            self.dms.group_rooms = lambda room_id: (
                network.contains(room_id) or network.is_role_room(room_id))

    async def _settings_changed(self, room_id: str, plugin: type[Plugin], key: str) -> None:
        instance = self.plugins.get(plugin.name)
        if instance is not None:
            await instance.settings_changed(room_id, key)

    def command_words(self) -> frozenset[str]:
        """Every word that invokes a command of the loaded plugins (asked for each reply).

        Computed again only when the set of plugins changes (start, a plugin left out).
        """
        loaded = tuple(self.plugins)
        if self._command_words[0] != loaded:
            words = frozenset(
                word for plugin in self.plugins.values() for spec in plugin.commands()
                for word in ((spec.group.name, *spec.group.aliases) if spec.group
                             else (spec.name, *spec.aliases)))
            self._command_words = (loaded, words)
        return self._command_words[1]

    def plugin_class(self, name: str) -> type[Plugin] | None:
        plugin = self.plugins.get(name)
        return type(plugin) if plugin else None
