"""Which plugins are enabled in a room, and each plugin's per-room setting overrides."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import yaml
from pydantic import ValidationError

from core.logsafe import log_exception, new_error_id
from core.network import NetworkRole
from core.plugin import Plugin, PluginSettings
from core.storage import Database

log = logging.getLogger(__name__)

# Told (room id or NETWORK, plugin, key) after a stored setting changed.
SettingsWatcher = Callable[[str, type[Plugin], str], Awaitable[None]]

RESERVED_KEYS = frozenset({"enabled_by_default"})

# A settings field marked network-scoped (`Field(..., json_schema_extra=network_scope())`)
# names private rooms or changes the network's behaviour: only `!config --network`
# (organizers) sets it, a room's override never applies, and its value is shown only to
# holders of the field's network role (organizers hold every role).
SCOPE = "scope"
NETWORK_SCOPE = "network"
ROLE = "role"


def network_scope(role: NetworkRole = NetworkRole.ORGANIZER) -> dict[str, Any]:
    """The `json_schema_extra` marking a field network-scoped; `role` may see its value."""
    return {SCOPE: NETWORK_SCOPE, ROLE: role.value}


def _extra(plugin: type[Plugin], key: str) -> dict[str, Any]:
    field = plugin.Settings.model_fields.get(key)
    extra = field.json_schema_extra if field is not None else None
    return extra if isinstance(extra, dict) else {}


def is_network_scoped(plugin: type[Plugin], key: str) -> bool:
    """True for a setting only the network sets (never a room override)."""
    return _extra(plugin, key).get(SCOPE) == NETWORK_SCOPE


def network_keys(plugin: type[Plugin]) -> frozenset[str]:
    return frozenset(key for key in plugin.Settings.model_fields if is_network_scoped(plugin, key))


def viewer_role(plugin: type[Plugin], key: str) -> NetworkRole | None:
    """The network role that may see a network-scoped setting's value (None: anyone)."""
    if not is_network_scoped(plugin, key):
        return None
    try:
        return NetworkRole(str(_extra(plugin, key).get(ROLE, NetworkRole.ORGANIZER.value)))
    except ValueError:
        return NetworkRole.ORGANIZER


class SettingError(Exception):
    """A setting value was refused; `problems` are the model's messages."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def plugin_defaults(block: dict[str, Any]) -> dict[str, Any]:
    """The config block of a plugin without the keys the framework reserves."""
    return {key: value for key, value in block.items() if key not in RESERVED_KEYS}


# The pseudo-room holding network-wide overrides (`!config --network`, organizers only):
# they apply in every room that does not override the same key itself.
NETWORK = ""


class RoomSettings:
    """Per-room plugin state over the core tables; every value passes the plugin's model.

    A setting's value in a room is, first found: the room's override, the
    network-wide override, the config.yaml block, the plugin's default; for a
    network-scoped setting (`network_scope()`) a room's override never counts.
    """

    def __init__(self, db: Database, config_blocks: dict[str, dict[str, Any]]) -> None:
        self.db = db
        self.config_blocks = config_blocks
        self._enabled: dict[tuple[str, str], bool] = {}
        self._overrides: dict[tuple[str, str], dict[str, Any]] = {}
        # Validated settings per (room, plugin): every event asks for them,
        # and validating a model with long lists costs ~0.1 ms each time.
        self._effective: dict[tuple[str, str], PluginSettings] = {}
        self._watchers: list[SettingsWatcher] = []

    def watch(self, watcher: SettingsWatcher) -> None:
        """Call `watcher(room_id, plugin, key)` after a stored value changed (NETWORK: all rooms)."""
        self._watchers.append(watcher)

    async def _changed(self, room_id: str, plugin: type[Plugin], key: str) -> None:
        for watcher in self._watchers:
            try:
                await watcher(room_id, plugin, key)
            except Exception as exc:  # the value is stored; one plugin's failure stops no other
                log_exception(log, f"{plugin.name} settings watcher", exc, new_error_id())

    async def load(self) -> None:
        for row in await self.db.fetchall("SELECT room_id, plugin, enabled FROM core_room_plugins"):
            self._enabled[(row["room_id"], row["plugin"])] = bool(row["enabled"])
        for row in await self.db.fetchall(
            "SELECT room_id, plugin, key, value FROM core_room_settings"
        ):
            bucket = self._overrides.setdefault((row["room_id"], row["plugin"]), {})
            bucket[row["key"]] = json.loads(row["value"])

    def is_enabled(self, room_id: str, plugin: type[Plugin]) -> bool:
        if plugin.always_enabled:
            return True
        stored = self._enabled.get((room_id, plugin.name))
        if stored is not None:
            return stored
        block = self.config_blocks.get(plugin.name, {})
        return bool(block.get("enabled_by_default", plugin.enabled_by_default))

    async def set_enabled(self, room_id: str, plugin: type[Plugin], enabled: bool) -> None:
        await self.db.execute(
            "INSERT INTO core_room_plugins (room_id, plugin, enabled) VALUES (?, ?, ?) "
            "ON CONFLICT(room_id, plugin) DO UPDATE SET enabled = excluded.enabled",
            (room_id, plugin.name, int(enabled)),
        )
        self._enabled[(room_id, plugin.name)] = enabled

    def effective(self, room_id: str, plugin: type[Plugin]) -> PluginSettings:
        """Config defaults with the network's, then this room's overrides applied (a copy)."""
        cached = self._effective.get((room_id, plugin.name))
        if cached is None:
            # Stored overrides of a setting the plugin no longer has are ignored (an
            # upgrade removed it); a room's override of a network-scoped setting too
            # (stored before the field was marked, or written around set_value).
            fields = plugin.Settings.model_fields
            network_only = network_keys(plugin) if room_id != NETWORK else frozenset()
            network = self._overrides.get((NETWORK, plugin.name), {})
            own = self._overrides.get((room_id, plugin.name), {})
            merged = {
                **plugin_defaults(self.config_blocks.get(plugin.name, {})),
                **{key: value for key, value in network.items() if key in fields},
                **{key: value for key, value in own.items()
                   if key in fields and key not in network_only},
            }
            cached = self._effective[(room_id, plugin.name)] = self._validate_stored(
                plugin, room_id, merged, {**network, **own})
        return cached.model_copy()

    def _validate_stored(self, plugin: type[Plugin], room_id: str, merged: dict[str, Any],
                         stored: dict[str, Any]) -> PluginSettings:
        """Validate, leaving out stored values that no longer pass (a stricter new version).

        A value that validated when it was set may not after an upgrade; one
        such value must not break every event of the room, so it falls back to
        the config's (logged by key, never by value).
        """
        try:
            return plugin.Settings.model_validate(merged)
        except ValidationError as error:
            bad = {str(item["loc"][0]) for item in error.errors() if item["loc"]}
            dropped = sorted(bad & set(stored))
            if not dropped:
                raise
            log.warning("%s settings of %s: stored %s no longer valid, using the default",
                        plugin.name, room_id or "config", ", ".join(dropped))
            defaults = plugin_defaults(self.config_blocks.get(plugin.name, {}))
            for key in dropped:
                merged.pop(key, None)
                if key in defaults:
                    merged[key] = defaults[key]
            return plugin.Settings.model_validate(merged)

    def overridden(self, room_id: str, plugin: type[Plugin]) -> set[str]:
        own = set(self._overrides.get((room_id, plugin.name), {}))
        return own if room_id == NETWORK else own - network_keys(plugin)

    async def set_value(self, room_id: str, plugin: type[Plugin], key: str, raw: str) -> Any:
        """Validate and store one override; nothing is stored when it is refused."""
        fields = plugin.Settings.model_fields
        if key not in fields:
            raise SettingError([f"{key}: unknown setting"])
        if room_id != NETWORK and is_network_scoped(plugin, key):
            raise SettingError([f"{key}: a network setting, set only for the whole network"])
        current = self.effective(room_id, plugin).model_dump(mode="json")
        value = self._validated(plugin, current, key, raw)
        await self.db.execute(
            "INSERT INTO core_room_settings (room_id, plugin, key, value) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(room_id, plugin, key) DO UPDATE SET value = excluded.value",
            (room_id, plugin.name, key, json.dumps(value)),
        )
        self._overrides.setdefault((room_id, plugin.name), {})[key] = value
        self._forget_effective(room_id, plugin)
        await self._changed(room_id, plugin, key)
        return value

    async def reset_value(self, room_id: str, plugin: type[Plugin], key: str) -> None:
        if key not in plugin.Settings.model_fields:
            raise SettingError([f"{key}: unknown setting"])
        await self.db.execute(
            "DELETE FROM core_room_settings WHERE room_id = ? AND plugin = ? AND key = ?",
            (room_id, plugin.name, key),
        )
        self._overrides.get((room_id, plugin.name), {}).pop(key, None)
        self._forget_effective(room_id, plugin)
        await self._changed(room_id, plugin, key)

    def _forget_effective(self, room_id: str, plugin: type[Plugin]) -> None:
        if room_id == NETWORK:  # every room inherits the network's values
            for cached in [k for k in self._effective if k[1] == plugin.name]:
                del self._effective[cached]
        else:
            self._effective.pop((room_id, plugin.name), None)

    @staticmethod
    def _validated(
        plugin: type[Plugin], current: dict[str, Any], key: str, raw: str
    ) -> Any:
        # Text is tried as typed first (so "007" stays a string for str
        # fields); structured values (lists, numbers) are then tried as YAML.
        candidates: list[Any] = [raw]
        try:
            parsed = yaml.safe_load(raw)
        except Exception:  # not only YAMLError: `2024-13-45` raises ValueError, `[[[...` RecursionError
            parsed = raw
        if parsed != raw:
            candidates.append(parsed)
        errors: list[ValidationError] = []
        for candidate in candidates:
            try:
                model = plugin.Settings.model_validate({**current, key: candidate})
            except ValidationError as exc:
                errors.append(exc)
                continue
            return model.model_dump(mode="json")[key]
        # A value typed as a list or mapping was meant as one: its own error
        # says more than "not a valid list" for the raw text.
        shown = errors[-1] if isinstance(parsed, list | dict) else errors[0]
        raise SettingError(
            [f"{'.'.join(str(p) for p in e['loc']) or key}: {e['msg']}" for e in shown.errors()]
        )
