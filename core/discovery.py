"""Find plugins: every Plugin subclass exported by a module or package in `bots/`."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from pydantic import ValidationError

from core.config import Config, describe_validation_error
from core.plugin import Plugin
from core.room_settings import RESERVED_KEYS, plugin_defaults


def discover_plugins(package: str = "bots") -> list[type[Plugin]]:
    module = importlib.import_module(package)
    found: dict[str, type[Plugin]] = {}
    for info in sorted(pkgutil.iter_modules(module.__path__), key=lambda i: i.name):
        child = importlib.import_module(f"{package}.{info.name}")
        for value in vars(child).values():
            if (
                isinstance(value, type)
                and issubclass(value, Plugin)
                and value is not Plugin
                and "name" in vars(value)
            ):
                found[value.name] = value
    return [found[name] for name in sorted(found)]


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
