"""The config loader (core/config.py): validation with paths, secrets, bad input."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from core.config import (
    Config,
    ConfigError,
    Secret,
    load_config,
    missing_secrets,
    parse_config,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config.example.yaml"
SECRET_VARIABLES = ("SOLIDARITY_PASSWORD", "SOLIDARITY_ACCESS_TOKEN", "SOLIDARITY_STORE_PASSPHRASE")

MINIMAL = """
matrix:
  homeserver: https://matrix.example.org/
  user_id: "@bot:example.org"
"""


@pytest.fixture(autouse=True)
def no_secrets_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRET_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert caught.value.problems, "a ConfigError must say what is wrong"
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def test_minimal_config_gets_defaults() -> None:
    config = parse_config(MINIMAL)
    assert config.matrix.homeserver == "https://matrix.example.org"  # trailing / dropped
    assert config.matrix.user_id == "@bot:example.org"
    assert config.bot.command_prefix == "!"
    assert config.bot.require_encryption is True
    assert config.bot.default_language == "en"
    assert config.matrix.password == Secret(env="SOLIDARITY_PASSWORD")
    assert config.storage.store_passphrase == Secret(env="SOLIDARITY_STORE_PASSPHRASE")
    assert config.plugins == {}


def test_full_config_is_read() -> None:
    config = parse_config(MINIMAL + """
bot:
  command_prefix: "sol"
  default_language: ar
  invites: {allowed_servers: [example.org]}
  roles: {moderator_level: 10, organizers: ["@org:example.org"]}
  rate_limit: {commands: 3, window_seconds: 2.5}
storage:
  store_passphrase: {file: /run/secrets/pass}
plugins:
  admin: {min_role: moderator}
""")
    assert config.bot.command_prefix == "sol"
    assert config.bot.default_language == "ar"
    assert config.bot.invites.allowed_servers == ["example.org"]
    assert config.bot.roles.moderator_level == 10
    assert config.bot.rate_limit.window_seconds == 2.5
    assert config.storage.store_passphrase == Secret(file=Path("/run/secrets/pass"))
    assert config.plugins == {"admin": {"min_role": "moderator"}}


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ("bot:\n  comand_prefix: '?'\n", "bot.comand_prefix"),
        ("bot:\n  rate_limit:\n    comands: 5\n", "bot.rate_limit.comands"),
        ("storage:\n  passphrase: x\n", "storage.passphrase"),
        ("matrix_typo: 1\n", "matrix_typo"),
        ("logging:\n  levle: INFO\n", "logging.levle"),
    ],
)
def test_unknown_keys_are_refused_with_their_path(extra: str, path: str) -> None:
    problems = problems_of(MINIMAL + extra)
    assert problems == [f"{path}: unknown option (check the spelling against config.example.yaml)"]


def test_unknown_key_inside_matrix_block() -> None:
    problems = problems_of(MINIMAL.replace("user_id:", "usr_id:"))
    assert "matrix.user_id: Field required" in problems
    assert any(p.startswith("matrix.usr_id: unknown option") for p in problems)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("bot:\n  rate_limit:\n    commands: many\n", "bot.rate_limit.commands: "),
        ("bot:\n  rate_limit:\n    commands: 0\n", "bot.rate_limit.commands: "),
        ("bot:\n  require_encryption: perhaps\n", "bot.require_encryption: "),
        ("bot:\n  default_language: fr\n", "bot.default_language: "),
        ("bot:\n  command_prefix: ''\n", "bot.command_prefix: "),
        ("bot:\n  invites:\n    allowed_users: '@a:b'\n", "bot.invites.allowed_users: "),
        ("bot:\n  invites:\n    allowed_users: [[x]]\n", "bot.invites.allowed_users.0: "),
        ("bot: 5\n", "bot: "),
        ("plugins:\n  admin: yes\n", "plugins.admin: "),
        ("storage:\n  handled_event_retention_days: 0\n", "storage.handled_event_retention_days: "),
        ("logging:\n  level: LOUD\n", "logging.level: "),
    ],
)
def test_wrong_types_are_reported_with_their_path(extra: str, expected: str) -> None:
    problems = problems_of(MINIMAL + extra)
    assert len(problems) == 1
    assert problems[0].startswith(expected)


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of("""
matrix:
  homeserver: ftp://example.org
  user_id: bot
bot:
  comand_prefix: "?"
  rate_limit: {commands: -1}
""")
    assert len(problems) == 4
    assert "matrix.homeserver: must start with http:// or https://" in problems
    assert any(p.startswith("matrix.user_id: ") for p in problems)
    assert any(p.startswith("bot.comand_prefix: unknown option") for p in problems)
    assert any(p.startswith("bot.rate_limit.commands: Input should be greater") for p in problems)


def test_a_secret_written_in_yaml_is_refused_without_echoing_it() -> None:
    problems = problems_of(MINIMAL.replace(
        "matrix:\n", "matrix:\n  password: hunter2-very-secret\n"
    ) + "storage:\n  store_passphrase: {env: X, value: another-secret}\n")
    text = "\n".join(problems)
    assert "matrix.password:" in text
    assert "storage.store_passphrase.value: unknown option" in text
    assert "hunter2" not in text
    assert "another-secret" not in text


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("matrix:\n  homeserver: [unclosed\n  user_id: x\n", None),
        ("matrix:\n  homeserver: a\n user_id: b\n", 3),
        ("matrix:\n\thomeserver: a\n", 2),
        ("bot:\n  command_prefix: \"!\n", None),
        ("a: b\na: {\n", None),
        ("key: value\n- item\n", 2),
    ],
)
def test_malformed_yaml_names_the_line(text: str, line: int | None) -> None:
    problems = problems_of(text)
    assert len(problems) == 1
    assert problems[0].startswith("config: ")
    assert " at line " in problems[0]
    if line is not None:
        assert f" at line {line}," in problems[0]


def test_source_name_appears_in_yaml_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("a: [", source="/etc/solidarity.yaml")
    assert caught.value.problems[0].startswith("/etc/solidarity.yaml: ")


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string", "42", "[matrix]", "!!binary aGk="])
def test_top_level_must_be_a_mapping(text: str) -> None:
    assert problems_of(text) == ["config: the top level must be a mapping of options"]


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n", "~"])
def test_empty_file_asks_for_the_matrix_block(text: str) -> None:
    assert problems_of(text) == ["matrix: Field required"]


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "1" * 5000,  # int() digit limit
        "when: 2024-13-45",  # impossible timestamp
        "n: !!int twelve",
        "!!int ",
        "n: !!float ''",
        "[" * 5000,  # deeper than the recursion limit
        "a: " + "{b: " * 3000,
        "- " * 3000 + "x",
        "a: !!python/object:os.system ls",
        "\x00",
        "a: *undefined",
        "? [a]\n: b",
    ],
)
def test_hostile_yaml_gives_a_config_error(text: str) -> None:
    problems = problems_of(text)
    assert len(problems) == 1
    assert problems[0].startswith("config: ")


def test_secret_resolves_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SECRET", "from-env")
    assert Secret(env="MY_SECRET").resolve() == "from-env"
    assert Secret(env="UNSET_SECRET_VARIABLE_FOR_TEST").resolve() is None
    assert Secret().resolve() is None


def test_secret_resolves_from_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret"
    path.write_text("  from-file\n", encoding="utf-8")
    assert Secret(file=path).resolve() == "from-file"
    # An empty variable falls through to the file; a set one wins.
    monkeypatch.setenv("MY_SECRET", "")
    assert Secret(env="MY_SECRET", file=path).resolve() == "from-file"
    monkeypatch.setenv("MY_SECRET", "from-env")
    assert Secret(env="MY_SECRET", file=path).resolve() == "from-env"
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    assert Secret(file=empty).resolve() is None


def test_unreadable_secret_file_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError) as caught:
        Secret(file=missing).resolve()
    assert caught.value.problems == [f"secret file {missing}: No such file or directory"]


def test_missing_secrets_are_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse_config(MINIMAL)
    problems = missing_secrets(config)
    assert len(problems) == 2
    assert problems[0].startswith("matrix.password: no password or access token")
    assert "SOLIDARITY_PASSWORD" in problems[0]
    assert problems[1].startswith("storage.store_passphrase: ")
    assert "SOLIDARITY_STORE_PASSPHRASE" in problems[1]
    # The demo runs without a store passphrase, never without a login.
    assert missing_secrets(config, demo=True) == problems[:1]

    monkeypatch.setenv("SOLIDARITY_ACCESS_TOKEN", "syt_token")
    assert missing_secrets(config) == problems[1:]
    monkeypatch.setenv("SOLIDARITY_STORE_PASSPHRASE", "correct horse")
    assert missing_secrets(config) == []
    monkeypatch.delenv("SOLIDARITY_ACCESS_TOKEN")
    monkeypatch.setenv("SOLIDARITY_PASSWORD", "pw")
    assert missing_secrets(config) == []


def test_missing_secrets_names_the_configured_variables(tmp_path: Path) -> None:
    config = parse_config(MINIMAL + """
  password: {env: BOT_PW}
storage:
  store_passphrase: {file: %s}
""" % (tmp_path / "absent"))
    problems = missing_secrets(config, demo=True)
    assert len(problems) == 1 and "BOT_PW" in problems[0]
    with pytest.raises(ConfigError, match="secret file"):
        missing_secrets(config)


def test_load_config(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert load_config(path).matrix.user_id == "@bot:example.org"

    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "missing.yaml")
    assert caught.value.problems == [f"{tmp_path / 'missing.yaml'}: No such file or directory"]

    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert caught.value.problems[0].startswith(f"{tmp_path}: ")

    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"matrix: \xff\xfe\n")
    with pytest.raises(ConfigError) as caught:
        load_config(binary)
    assert caught.value.problems == [f"{binary}: not UTF-8 text"]

    broken = tmp_path / "broken.yaml"
    broken.write_text("matrix:\n  homeserver: [\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(broken)
    assert caught.value.problems[0].startswith(f"{broken}: ")


# -- config.example.yaml ------------------------------------------------------


def example_text() -> str:
    if not EXAMPLE.exists():
        pytest.skip("config.example.yaml is not written yet (repository root)")
    return EXAMPLE.read_text(encoding="utf-8")


def test_example_config_is_valid() -> None:
    from core.discovery import discover_plugins, validate_plugin_blocks

    config = parse_config(example_text(), str(EXAMPLE))
    assert validate_plugin_blocks(config, discover_plugins()) == []


def _option_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    paths = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        paths.append(path)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and (
            annotation is not Secret
        ):
            paths.extend(_option_paths(annotation, path + "."))
    return paths


def test_example_config_documents_every_option() -> None:
    text = example_text()
    # An option may be documented commented out (`# file: ...`).
    missing = [
        path for path in _option_paths(Config)
        if not re.search(rf"^\s*(#\s*)?{re.escape(path.rsplit('.', 1)[-1])}:", text, re.MULTILINE)
    ]
    assert missing == []


# -- property tests: ConfigError or a Config, nothing else -------------------

OPTION_NAMES = sorted({p.rsplit(".", 1)[-1] for p in _option_paths(Config)} | {"env", "file"})
KEYS = st.one_of(st.sampled_from(OPTION_NAMES), st.text(max_size=12))
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30),
    st.sampled_from(["https://x.org", "@a:b", "en", "ar", "!", "INFO", "./data"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5)
    ),
    max_leaves=25,
)


def check(text: str) -> None:
    try:
        config = parse_config(text)
    except ConfigError as error:
        assert error.problems
        assert all(isinstance(p, str) and p for p in error.problems)
        return
    assert isinstance(config, Config)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_any_text_gives_a_config_or_a_config_error(text: str) -> None:
    check(text)


YAMLISH = st.lists(
    st.one_of(
        st.sampled_from([
            "matrix:", "bot:", "  ", "    ", "\n", "- ", ": ", "{", "}", "[", "]", ",", "&a ",
            "*a", "!!int ", "!!str ", "!!binary ", "!!timestamp ", "? ", "|", ">", "#", "'", '"',
            "homeserver: https://x.org", "user_id: '@a:b'", "2024-13-45", "1" * 4400, "<<: ",
            "~", ".nan", "0x", "---", "...", "%YAML 1.1", "\t",
        ]),
        st.text(max_size=5),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(YAMLISH)
def test_yaml_like_text_gives_a_config_or_a_config_error(text: str) -> None:
    check(text)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_random_mappings_give_a_config_or_a_config_error(data: dict[str, Any]) -> None:
    check(yaml.safe_dump(data, allow_unicode=True))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    section=st.sampled_from(["matrix", "storage", "bot", "logging", "plugins", "crypto"]),
    block=st.dictionaries(KEYS, VALUES, max_size=6),
)
def test_random_sections_of_a_valid_config(section: str, block: dict[str, Any]) -> None:
    data: dict[str, Any] = yaml.safe_load(MINIMAL)
    data.setdefault(section, {})
    if isinstance(data[section], dict):
        data[section] = {**data[section], **block}
    check(yaml.safe_dump(data, allow_unicode=True))

