"""Plugins from outside the repository: entry points, `bot.plugins`, clashes, broken imports."""

from __future__ import annotations

import sys
import types

import pytest

from core.config import ConfigError
from core.discovery import discover_plugins, validate_plugin_blocks
from core.i18n import Catalog
from core.plugin import Plugin


def test_an_installed_package_is_found_through_its_entry_point() -> None:
    # examples/greeter, installed by .ci/test with pip like any third-party plugin.
    plugins = {plugin.name: plugin for plugin in discover_plugins()}
    greeter = plugins["greeter"]
    assert greeter.__module__.split(".")[0] == "solidarity_greeter"
    assert [spec.name for spec in greeter.commands()] == ["greet"]
    # Its config block is checked like a built-in plugin's.
    assert validate_plugin_blocks({"greeter": {"greeting": "Salaam"}}, list(plugins.values())) == []
    assert validate_plugin_blocks({"greeter": {"greeting": ""}}, list(plugins.values()))


def _module(name: str, plugin_name: str) -> types.ModuleType:
    module = types.ModuleType(name)

    class Extra(Plugin):
        catalog = Catalog(plugin_name, {})

    Extra.name = plugin_name
    Extra.__module__ = name
    module.Extra = Extra  # type: ignore[attr-defined]
    return module


def test_config_names_more_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "community_events", _module("community_events", "gatherings"))
    names = [plugin.name for plugin in discover_plugins(extra=["community_events:Extra"])]
    assert "gatherings" in names and "admin" in names


def test_two_plugins_with_one_name_are_refused_naming_both(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "impostor", _module("impostor", "admin"))
    with pytest.raises(ConfigError) as error:
        discover_plugins(extra=["impostor"])
    [problem] = error.value.problems
    assert "'admin'" in problem and "bots.admin" in problem and "impostor" in problem


def test_a_plugin_that_cannot_be_imported_is_named() -> None:
    with pytest.raises(ConfigError) as error:
        discover_plugins(extra=["no_such_plugin_module:Thing"])
    assert "no_such_plugin_module" in error.value.problems[0]
