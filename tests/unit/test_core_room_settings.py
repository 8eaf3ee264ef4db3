"""Per-room plugin switches and validated setting overrides (core/room_settings.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import Field

from core.i18n import Catalog
from core.network import NetworkRole
from core.plugin import Plugin, PluginSettings
from core.room_settings import (
    NETWORK,
    RoomSettings,
    SettingError,
    is_network_scoped,
    network_keys,
    network_scope,
    plugin_defaults,
    viewer_role,
)
from core.storage import CORE_MIGRATIONS, Database

ROOM = "!room:example.org"
OTHER = "!other:example.org"


class Demo(Plugin):
    name = "demo"
    catalog = Catalog("demo", {})

    class Settings(PluginSettings):
        limit: int = Field(5, ge=1, le=100)
        tags: list[str] = Field(default_factory=list)
        mode: Literal["fast", "slow"] = "fast"
        code: str = "000"
        ratio: float = 0.5
        loud: bool = False


class Builtin(Plugin):
    name = "builtin"
    catalog = Catalog("builtin", {})
    always_enabled = True


class OptIn(Plugin):
    name = "optin"
    catalog = Catalog("optin", {})
    enabled_by_default = False


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "settings.db")
    await database.open()
    await database.migrate("core", CORE_MIGRATIONS)
    yield database
    await database.close()


async def stored(db: Database) -> dict[tuple[str, str, str], Any]:
    rows = await db.fetchall("SELECT room_id, plugin, key, value FROM core_room_settings")
    return {(r["room_id"], r["plugin"], r["key"]): json.loads(r["value"]) for r in rows}


async def fresh(db: Database, blocks: dict[str, dict[str, Any]] | None = None) -> RoomSettings:
    room_settings = RoomSettings(db, blocks or {})
    await room_settings.load()
    return room_settings


async def test_set_value_validates_and_stores(db: Database) -> None:
    rs = await fresh(db)
    assert await rs.set_value(ROOM, Demo, "limit", "42") == 42
    assert await rs.set_value(ROOM, Demo, "mode", "slow") == "slow"
    assert await rs.set_value(ROOM, Demo, "loud", "on") is True
    assert await rs.set_value(ROOM, Demo, "ratio", "0.25") == 0.25
    effective = rs.effective(ROOM, Demo)
    assert (effective.limit, effective.mode, effective.loud, effective.ratio) == (  # type: ignore[attr-defined]
        42, "slow", True, 0.25
    )
    assert await stored(db) == {
        (ROOM, "demo", "limit"): 42,
        (ROOM, "demo", "mode"): "slow",
        (ROOM, "demo", "loud"): True,
        (ROOM, "demo", "ratio"): 0.25,
    }
    assert rs.overridden(ROOM, Demo) == {"limit", "mode", "loud", "ratio"}
    # Other rooms keep the defaults.
    assert rs.effective(OTHER, Demo) == Demo.Settings()
    # A fresh load sees the same.
    assert (await fresh(db)).effective(ROOM, Demo) == effective


@pytest.mark.parametrize(
    ("key", "raw", "message"),
    [
        ("limit", "500", "limit: Input should be less than or equal to 100"),
        ("limit", "0", "limit: Input should be greater than or equal to 1"),
        ("limit", "many", "limit: Input should be a valid integer"),
        ("limit", "[1, 2]", "limit: Input should be a valid integer"),
        ("limit", "[" * 3000, "limit: Input should be a valid integer"),
        ("mode", "medium", "mode: Input should be 'fast' or 'slow'"),
        ("tags", "a", "tags: Input should be a valid list"),
        ("tags", "[a, [b]]", "tags"),
        ("loud", "perhaps", "loud: Input should be a valid boolean"),
        ("ratio", "2024-13-45", "ratio: Input should be a valid number"),
    ],
)
async def test_invalid_value_is_refused_and_nothing_is_stored(
    db: Database, key: str, raw: str, message: str
) -> None:
    rs = await fresh(db)
    await rs.set_value(ROOM, Demo, "code", "keep me")
    before = await stored(db)
    with pytest.raises(SettingError) as caught:
        await rs.set_value(ROOM, Demo, key, raw)
    assert any(p.startswith(message) for p in caught.value.problems), caught.value.problems
    assert str(caught.value) == "; ".join(caught.value.problems)
    assert await stored(db) == before
    assert rs.overridden(ROOM, Demo) == {"code"}
    assert rs.effective(ROOM, Demo) == Demo.Settings(code="keep me")


async def test_refusal_keeps_an_earlier_override(db: Database) -> None:
    rs = await fresh(db)
    await rs.set_value(ROOM, Demo, "limit", "10")
    with pytest.raises(SettingError):
        await rs.set_value(ROOM, Demo, "limit", "1000")
    assert await stored(db) == {(ROOM, "demo", "limit"): 10}
    assert rs.effective(ROOM, Demo).limit == 10  # type: ignore[attr-defined]


async def test_unknown_setting_is_refused(db: Database) -> None:
    rs = await fresh(db)
    with pytest.raises(SettingError) as caught:
        await rs.set_value(ROOM, Demo, "limt", "5")
    assert caught.value.problems == ["limt: unknown setting"]
    with pytest.raises(SettingError):
        await rs.reset_value(ROOM, Demo, "limt")
    assert await stored(db) == {}


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("007", "007"),
        ("1e3", "1e3"),
        ("true", "true"),
        ("null", "null"),
        ("[a, b]", "[a, b]"),
        ("2024-13-45", "2024-13-45"),
        ("  spaced  ", "  spaced  "),
        ("نص عربي", "نص عربي"),
    ],
)
async def test_text_stays_as_typed_for_str_fields(db: Database, raw: str, value: str) -> None:
    rs = await fresh(db)
    assert await rs.set_value(ROOM, Demo, "code", raw) == value
    assert await stored(db) == {(ROOM, "demo", "code"): value}
    assert (await fresh(db)).effective(ROOM, Demo).code == value  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("[a, b]", ["a", "b"]),
        ("[]", []),
        ('["x y", "007"]', ["x y", "007"]),
        ("- one\n- two", ["one", "two"]),
        ("[عربي, latin]", ["عربي", "latin"]),
    ],
)
async def test_lists_are_parsed_from_yaml(db: Database, raw: str, value: list[str]) -> None:
    rs = await fresh(db)
    assert await rs.set_value(ROOM, Demo, "tags", raw) == value
    assert await stored(db) == {(ROOM, "demo", "tags"): value}
    assert (await fresh(db)).effective(ROOM, Demo).tags == value  # type: ignore[attr-defined]


async def test_reset_value(db: Database) -> None:
    rs = await fresh(db, {"demo": {"limit": 7}})
    await rs.set_value(ROOM, Demo, "limit", "9")
    await rs.set_value(ROOM, Demo, "mode", "slow")
    await rs.reset_value(ROOM, Demo, "limit")
    assert rs.effective(ROOM, Demo).limit == 7  # the config default, not the model's  # type: ignore[attr-defined]
    assert await stored(db) == {(ROOM, "demo", "mode"): "slow"}
    await rs.reset_value(ROOM, Demo, "limit")  # resetting twice is harmless
    reloaded = await fresh(db, {"demo": {"limit": 7}})
    assert reloaded.effective(ROOM, Demo) == Demo.Settings(limit=7, mode="slow")


async def test_config_defaults_apply_and_reserved_keys_are_dropped(db: Database) -> None:
    blocks = {"demo": {"limit": 20, "tags": ["x"], "enabled_by_default": False}}
    assert plugin_defaults(blocks["demo"]) == {"limit": 20, "tags": ["x"]}
    rs = await fresh(db, blocks)
    assert rs.effective(ROOM, Demo) == Demo.Settings(limit=20, tags=["x"])
    # A new value is validated together with the defaults.
    assert await rs.set_value(ROOM, Demo, "mode", "slow") == "slow"
    assert rs.effective(ROOM, Demo) == Demo.Settings(limit=20, tags=["x"], mode="slow")


async def test_enable_disable_persist_across_a_fresh_load(db: Database) -> None:
    rs = await fresh(db)
    assert rs.is_enabled(ROOM, Demo) is True
    assert rs.is_enabled(ROOM, OptIn) is False
    await rs.set_enabled(ROOM, Demo, False)
    await rs.set_enabled(ROOM, OptIn, True)
    assert rs.is_enabled(ROOM, Demo) is False
    assert rs.is_enabled(OTHER, Demo) is True

    reloaded = await fresh(db)
    assert reloaded.is_enabled(ROOM, Demo) is False
    assert reloaded.is_enabled(ROOM, OptIn) is True
    assert reloaded.is_enabled(OTHER, Demo) is True
    assert reloaded.is_enabled(OTHER, OptIn) is False

    await reloaded.set_enabled(ROOM, Demo, True)
    assert (await fresh(db)).is_enabled(ROOM, Demo) is True
    rows = await db.fetchall("SELECT room_id, plugin, enabled FROM core_room_plugins")
    assert sorted(tuple(r) for r in rows) == [(ROOM, "demo", 1), (ROOM, "optin", 1)]


async def test_enabled_by_default_from_config(db: Database) -> None:
    rs = await fresh(db, {"demo": {"enabled_by_default": False}, "optin": {"enabled_by_default": True}})
    assert rs.is_enabled(ROOM, Demo) is False
    assert rs.is_enabled(ROOM, OptIn) is True
    await rs.set_enabled(ROOM, Demo, True)  # a room's choice wins over the config
    assert (await fresh(db, {"demo": {"enabled_by_default": False}})).is_enabled(ROOM, Demo)


async def test_always_enabled_plugins_cannot_be_switched_off(db: Database) -> None:
    rs = await fresh(db)
    await rs.set_enabled(ROOM, Builtin, False)
    assert rs.is_enabled(ROOM, Builtin) is True
    assert (await fresh(db)).is_enabled(ROOM, Builtin) is True


@settings(
    max_examples=150, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    key=st.sampled_from(["limit", "tags", "mode", "code", "ratio", "loud", "unknown"]),
    raw=st.one_of(
        st.text(),
        st.sampled_from(["[", "]", "{", "}", "- ", ": ", "!!int ", "&a *a", "2024-13-45",
                         "1" * 5000, "~", ".nan", ".inf", "[[[[1]]]]", "? [a]\n: b"]),
    ),
)
async def test_any_value_is_stored_validly_or_refused_with_nothing_stored(
    db: Database, key: str, raw: str
) -> None:
    rs = await fresh(db)
    before = await stored(db)
    try:
        value = await rs.set_value(ROOM, Demo, key, raw)
    except SettingError as error:
        assert error.problems
        assert await stored(db) == before
        return
    after = await stored(db)
    assert after[(ROOM, "demo", key)] == value or value != value  # NaN is not equal to itself
    # What was stored always loads back into a valid model.
    reloaded = await fresh(db)
    assert isinstance(reloaded.effective(ROOM, Demo), Demo.Settings)


async def test_network_values_apply_where_a_room_has_none_of_its_own(db: Database) -> None:
    settings = RoomSettings(db, {"demo": {"limit": 7}})
    await settings.set_value(ROOM, Demo, "mode", "slow")
    assert settings.effective(OTHER, Demo).limit == 7  # cached before the network changes
    await settings.set_value(NETWORK, Demo, "limit", "20")
    await settings.set_value(NETWORK, Demo, "mode", "fast")
    assert settings.effective(OTHER, Demo).limit == 20
    assert settings.effective(ROOM, Demo).mode == "slow"  # the room's own value wins
    assert settings.effective(NETWORK, Demo).limit == 20
    assert settings.overridden(OTHER, Demo) == set()
    again = RoomSettings(db, {"demo": {"limit": 7}})
    await again.load()
    assert again.effective(OTHER, Demo).limit == 20
    await again.reset_value(NETWORK, Demo, "limit")
    assert again.effective(OTHER, Demo).limit == 7


class Scoped(Plugin):
    name = "scoped"
    catalog = Catalog("scoped", {})

    class Settings(PluginSettings):
        team_room: str = Field("", json_schema_extra=network_scope())
        management_room: str = Field("", json_schema_extra=network_scope(NetworkRole.MODERATOR))
        limit: int = 5


def test_network_scope_marker_is_read_from_the_field() -> None:
    assert network_keys(Scoped) == {"team_room", "management_room"}
    assert is_network_scoped(Scoped, "team_room") and not is_network_scoped(Scoped, "limit")
    assert not is_network_scoped(Scoped, "no_such_key")
    assert viewer_role(Scoped, "team_room") is NetworkRole.ORGANIZER
    assert viewer_role(Scoped, "management_room") is NetworkRole.MODERATOR
    assert viewer_role(Scoped, "limit") is None
    assert network_keys(Demo) == frozenset()


async def test_a_room_cannot_set_a_network_scoped_setting(db: Database) -> None:
    settings = await fresh(db, {"scoped": {"team_room": "!team:x"}})
    with pytest.raises(SettingError, match="network setting"):
        await settings.set_value(ROOM, Scoped, "team_room", "!mine:x")
    assert await stored(db) == {}
    assert await settings.set_value(ROOM, Scoped, "limit", "9") == 9  # room-scoped: fine
    assert await settings.set_value(NETWORK, Scoped, "team_room", "!net:x") == "!net:x"
    assert settings.effective(ROOM, Scoped).team_room == "!net:x"  # type: ignore[attr-defined]


async def test_a_stored_room_override_of_a_network_setting_never_applies(db: Database) -> None:
    """Stored before the field was marked (or written around set_value): ignored."""
    await db.execute(
        "INSERT INTO core_room_settings (room_id, plugin, key, value) VALUES (?, ?, ?, ?)",
        (ROOM, "scoped", "team_room", json.dumps("!mine:x")))
    settings = await fresh(db, {"scoped": {"team_room": "!team:x"}})
    assert settings.effective(ROOM, Scoped).team_room == "!team:x"  # type: ignore[attr-defined]
    assert settings.overridden(ROOM, Scoped) == set()


async def test_stored_overrides_of_removed_settings_are_ignored(db: Database) -> None:
    """An upgrade removed a setting: its rows must not break the plugin's settings."""
    for room in (ROOM, NETWORK):
        await db.execute(
            "INSERT INTO core_room_settings (room_id, plugin, key, value) VALUES (?, ?, ?, ?)",
            (room, "demo", "gone", json.dumps(1)))
    settings = await fresh(db)
    assert settings.effective(ROOM, Demo).limit == 5  # type: ignore[attr-defined]
    assert settings.effective(NETWORK, Demo).limit == 5  # type: ignore[attr-defined]


async def test_a_stored_value_a_new_version_refuses_does_not_break_the_room(
    tmp_path: Path,
) -> None:
    from pydantic import Field

    from core.i18n import Catalog
    from core.plugin import Plugin, PluginSettings
    from core.room_settings import RoomSettings
    from core.storage import CORE_MIGRATIONS, Database

    class Strict(Plugin):
        name = "strict"
        catalog = Catalog("strict", {})

        class Settings(PluginSettings):
            limit: int = Field(5, le=10)
            label: str = "x"

    db = Database(tmp_path / "settings.db")
    await db.open()
    await db.migrate("core", CORE_MIGRATIONS)
    # Written by an older version that allowed 50.
    for key, value in (("limit", "50"), ("label", '"kept"')):
        await db.execute("INSERT INTO core_room_settings (room_id, plugin, key, value) "
                         "VALUES ('!r:x', 'strict', ?, ?)", (key, value))
    settings = RoomSettings(db, {})
    await settings.load()
    effective = settings.effective("!r:x", Strict)
    assert effective.model_dump() == {"limit": 5, "label": "kept"}
    await db.close()
