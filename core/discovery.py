"""Find plugins: the built-in ones in `bots/`, installed ones, and those config names.

A plugin is any Plugin subclass with a `name`, from three places:

* every module or package of `bots/` (the plugins shipped with the bot);
* the `solidarity.plugins` entry-point group of installed packages
  (`[project.entry-points."solidarity.plugins"] events = "solidarity_events:EventsPlugin"`);
* `bot.plugins` in config: `module:Class`, or a module whose Plugin classes all count.

Two plugins with one name are refused with both origins named, and a plugin
that fails to import is reported by name: `check-config` lists both, and the
bot does not start with a plugin set other than the one configured.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from core.config import Config, ConfigError, describe_validation_error
from core.plugin import Plugin, plugin_problems
from core.room_settings import RESERVED_KEYS, plugin_defaults

ENTRY_POINT_GROUP = "solidarity.plugins"


@dataclass(frozen=True)
class Found:
    plugin: type[Plugin]
    origin: str  # where it came from, for messages: "bots.alerts", "entry point events", ...


def discover_plugins(package: str = "bots", *, extra: Iterable[str] = ()) -> list[type[Plugin]]:
    """Every plugin, sorted by name; ConfigError names each clash and import failure."""
    found: dict[str, Found] = {}
    problems: list[str] = []

    def add(plugin: type[Plugin], origin: str) -> None:
        other = found.get(plugin.name)
        if other is not None and other.plugin is not plugin:
            problems.append(f"plugin {plugin.name!r}: defined by both {other.origin} and {origin}")
            return
        found[plugin.name] = Found(plugin, origin)

    module = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(module.__path__), key=lambda i: i.name):
        name = f"{package}.{info.name}"
        try:
            child = importlib.import_module(name)
        except Exception as exc:  # one broken plugin is named, never a traceback for all
            problems.append(f"plugin module {name}: cannot be imported ({type(exc).__name__}: {exc})")
            continue
        for plugin in _plugins_in(vars(child).values()):
            add(plugin, name)
    for entry in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP),
                        key=lambda e: e.name):
        origin = f"entry point {entry.name} ({entry.value})"
        try:
            loaded = entry.load()
        except Exception as exc:
            problems.append(f"plugin {origin}: cannot be imported ({type(exc).__name__}: {exc})")
            continue
        plugins = _plugins_in(vars(loaded).values()) if _is_module(loaded) else _plugins_in([loaded])
        if not plugins:
            problems.append(f"plugin {origin}: is not a Plugin subclass with a name")
        for plugin in plugins:
            add(plugin, origin)
    for spec in extra:
        origin = f"bot.plugins entry {spec!r}"
        try:
            plugins = _load_spec(spec)
        except Exception as exc:
            problems.append(f"{origin}: cannot be imported ({type(exc).__name__}: {exc})")
            continue
        if not plugins:
            problems.append(f"{origin}: names no Plugin subclass with a name")
        for plugin in plugins:
            add(plugin, origin)
    for each in found.values():
        problems += plugin_problems(each.plugin)
    if problems:
        raise ConfigError(problems)
    return [found[name].plugin for name in sorted(found)]


def plugins_for(config: Config) -> list[type[Plugin]]:
    """The plugins a configuration runs: built-in, installed, and its `bot.plugins`."""
    return discover_plugins(extra=config.bot.plugins)


def _load_spec(spec: str) -> list[type[Plugin]]:
    module_name, _, attribute = spec.partition(":")
    module = importlib.import_module(module_name)
    if attribute:
        return _plugins_in([getattr(module, attribute)])
    return _plugins_in(vars(module).values())


def _is_module(value: object) -> bool:
    return type(value).__name__ == "module"


def _plugins_in(values: Iterable[object]) -> list[type[Plugin]]:
    return [
        value for value in values
        if isinstance(value, type) and issubclass(value, Plugin) and value is not Plugin
        and "name" in vars(value)
    ]


def validate_plugin_blocks(
    config: Config | dict[str, Any], plugins: list[type[Plugin]]
) -> list[str]:
    """Check each `plugins.<name>` block against that plugin's Settings model."""
    known = {plugin.name: plugin for plugin in plugins}
    blocks = config.plugins if isinstance(config, Config) else config
    if not isinstance(blocks, dict):
        return ["plugins: must be a mapping of plugin names to settings"]
    problems = []
    for name, block in blocks.items():
        plugin = known.get(name)
        if plugin is None:
            problems.append(
                f"plugins.{name}: unknown plugin (available: {', '.join(sorted(known))})"
            )
            continue
        if not isinstance(block, dict):
            problems.append(f"plugins.{name}: must be a mapping of settings")
            continue
        reserved: dict[str, Any] = {k: v for k, v in block.items() if k in RESERVED_KEYS}
        if "enabled_by_default" in reserved and not isinstance(reserved["enabled_by_default"], bool):
            problems.append(f"plugins.{name}.enabled_by_default: must be true or false")
        try:
            plugin.Settings.model_validate(plugin_defaults(block))
        except ValidationError as exc:
            problems.extend(describe_validation_error(exc, prefix=f"plugins.{name}"))
    return problems
