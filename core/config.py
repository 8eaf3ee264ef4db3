"""Configuration: pydantic models, the YAML loader and secrets from env or files."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class Strict(BaseModel):
    """Base for config models: unknown keys are refused, so a typo is never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Secret(Strict):
    """Where a secret comes from. Never the value itself in YAML."""

    env: str | None = None
    file: Path | None = None

    def resolve(self) -> str | None:
        """The secret's value, or None when neither source gives one."""
        if self.env:
            value = os.environ.get(self.env)
            if value:
                return value
        if self.file:
            try:
                return self.file.read_text(encoding="utf-8").strip() or None
            except OSError as exc:
                raise ConfigError([f"secret file {self.file}: {exc.strerror}"]) from exc
        return None


class MatrixConfig(Strict):
    homeserver: str = Field(description="Base URL of the homeserver, e.g. https://matrix.example.org")
    user_id: str
    device_name: str = "Solidarity bot"
    password: Secret = Secret(env="SOLIDARITY_PASSWORD")
    access_token: Secret = Secret(env="SOLIDARITY_ACCESS_TOKEN")

    @field_validator("user_id")
    @classmethod
    def _matrix_user(cls, value: str) -> str:
        if not re.fullmatch(r"@[^:\s]+:\S+", value):
            raise ValueError("must look like @name:server")
        return value

    @field_validator("homeserver")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class StorageConfig(Strict):
    data_dir: Path = Path("./data")
    store_passphrase: Secret = Secret(env="SOLIDARITY_STORE_PASSPHRASE")
    handled_event_retention_days: int = Field(14, ge=1)

    @property
    def database(self) -> Path:
        """The bot's one SQLite file (the crypto store lives beside it, in crypto/)."""
        return self.data_dir / "solidarity.db"


class InviteConfig(Strict):
    allowed_users: list[str] = []
    allowed_servers: list[str] = []


class RolesConfig(Strict):
    moderator_level: int = 50
    admin_level: int = 100
    organizers: list[str] = []


class NetworkConfig(Strict):
    """The network: its rooms and who acts on it (see core/network.py)."""

    space: str | None = Field(
        None, description="a Matrix space; its child rooms are the network's rooms")
    rooms: list[str] = Field(
        default_factory=list, description="rooms of the network besides the space's children")
    organizers_room: str | None = Field(
        None, description="members of this room at role_level or more are organizers")
    moderators_room: str | None = Field(
        None, description="members of this room at role_level or more are network moderators")
    curators_room: str | None = Field(
        None, description="members of this room at role_level or more are directory curators")
    moderators: list[str] = Field(default_factory=list, description="network moderators by id")
    curators: list[str] = Field(default_factory=list, description="directory curators by id")
    role_level: int = Field(50, description="power level in a role's room that grants the role")


class RateLimitConfig(Strict):
    commands: int = Field(10, ge=1, description="commands a member may send per window")
    window_seconds: float = Field(10.0, gt=0)


class SyncConfig(Strict):
    timeout_ms: int = Field(30_000, ge=0)
    backoff_initial_seconds: float = Field(1.0, gt=0)
    backoff_max_seconds: float = Field(60.0, gt=0)
    timeline_limit: int = Field(100, ge=1, le=1000)
    first_sync_window_seconds: float = Field(
        300, ge=0, le=86400, description="on a first start (or a restore), commands newer "
        "than this are answered; older history is not replayed")


class OutboxConfig(Strict):
    concurrency: int = Field(16, ge=1, le=64, description="messages in flight at once")
    per_second: float = Field(10.0, gt=0, description="sends per second at most, all rooms together")
    max_attempts: int = Field(8, ge=1, description="tries before a message is reported failed")
    backoff_initial_seconds: float = Field(2.0, gt=0)
    backoff_max_seconds: float = Field(300.0, gt=0)
    retention_days: int = Field(7, ge=1, description="days delivered/failed items are kept")


class SchedulerConfig(Strict):
    max_attempts: int = Field(8, ge=1, description="tries before a failing job is dead-lettered")
    backoff_initial_seconds: float = Field(5.0, gt=0)
    backoff_max_seconds: float = Field(900.0, gt=0)


class BotConfig(Strict):
    # Plugins besides the built-in and installed ones: `module:Class` or a module.
    plugins: list[str] = Field(default_factory=list, description="more plugins to load")
    command_prefix: str = Field("!", min_length=1, max_length=3)
    default_language: Literal["en", "ar"] = "en"
    # Members' times are read in their own zone (`!timezone`); this one until they choose.
    default_timezone: str = "UTC"
    require_encryption: bool = True
    invites: InviteConfig = InviteConfig()
    roles: RolesConfig = RolesConfig()
    rate_limit: RateLimitConfig = RateLimitConfig()
    sync: SyncConfig = SyncConfig()
    outbox: OutboxConfig = OutboxConfig()
    scheduler: SchedulerConfig = SchedulerConfig()

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from core.timeparse import zone_named

        zone = zone_named(value)
        if zone is None:
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Europe/Berlin)")
        return zone.key


class CryptoConfig(Strict):
    cross_signing: bool = Field(
        True, description="publish a cross-signed identity so Element trusts the bot's device"
    )
    recovery_key: Secret = Secret(env="SOLIDARITY_RECOVERY_KEY")
    trust: Literal["cross_signed", "verified", "all"] = Field(
        "cross_signed",
        description="which members' devices get the bot's room keys and may use sensitive "
        "plugins: cross_signed (signed by their owner, owner trusted on first use), "
        "verified (owner verified by the bot too), all (development only)",
    )
    verification: Literal["auto", "operator", "off"] = Field(
        "auto",
        description="when a member verifies the bot (emoji): confirm automatically, wait for "
        "`solidarity verify confirm`, or refuse",
    )
    verification_timeout_seconds: float = Field(
        600, gt=0, description="cancel a verification that is silent this long (spec: 10 min)"
    )


class LoggingConfig(Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Config(Strict):
    matrix: MatrixConfig
    storage: StorageConfig = StorageConfig()
    bot: BotConfig = BotConfig()
    crypto: CryptoConfig = CryptoConfig()
    network: NetworkConfig = NetworkConfig()
    logging: LoggingConfig = LoggingConfig()
    # Each plugin's block is validated by that plugin's own Settings model
    # (see core.plugin.validate_plugin_blocks), so only the shape is checked here.
    plugins: dict[str, dict[str, Any]] = {}


class ConfigError(Exception):
    """Every problem found in a configuration, each with the path it concerns."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def describe_validation_error(error: ValidationError, prefix: str = "") -> list[str]:
    """Turn pydantic errors into `path.to.key: message` lines."""
    lines = []
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"])
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown option (check the spelling against config.example.yaml)"
        lines.append(f"{path or '(top level)'}: {message}")
    return lines


def parse_config(text: str, source: str = "config") -> Config:
    """Parse YAML text into a validated Config or raise ConfigError."""
    return validate_config_data(read_yaml(text, source))


def read_yaml(text: str, source: str = "config") -> dict[str, Any]:
    """The YAML document as a mapping, or ConfigError saying where it is malformed."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError([f"{source}: {problem}{where}"]) from None
    except RecursionError:
        raise ConfigError([f"{source}: nested too deeply"]) from None
    except Exception as exc:
        # PyYAML's constructors raise plain errors for scalars they cannot
        # convert (`2024-13-45`, `!!int ''`, a 5000-digit integer).
        raise ConfigError(
            [f"{source}: a value cannot be read ({exc}); quote it if it is text"]
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: the top level must be a mapping of options"])
    return data


def validate_config_data(data: dict[str, Any]) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def load_config(path: Path) -> Config:
    """Read and validate a config file; every problem is reported at once."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text"]) from None
    return parse_config(text, str(path))


def missing_secrets(config: Config, *, demo: bool = False) -> list[str]:
    """Secrets the bot cannot start without, as `path: how to fix` lines."""
    problems = []
    if config.matrix.password.resolve() is None and config.matrix.access_token.resolve() is None:
        problems.append(
            "matrix.password: no password or access token; set the environment variable "
            f"{config.matrix.password.env or 'named in matrix.password.env'} "
            "or point matrix.password.file at a file"
        )
    if not demo and config.storage.store_passphrase.resolve() is None:
        problems.append(
            "storage.store_passphrase: the crypto store needs a passphrase; set "
            f"{config.storage.store_passphrase.env or 'the variable named in store_passphrase.env'}"
            " or point storage.store_passphrase.file at a file"
        )
    return problems
