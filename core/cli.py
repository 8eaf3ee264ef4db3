"""`solidarity run | check-config | demo`: the operator's entry points."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import logging
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from core.clock import Clock
from core.config import (
    ConfigError,
    load_config,
    missing_secrets,
    read_yaml,
    validate_config_data,
)
from core.discovery import discover_plugins, plugins_for, validate_plugin_blocks

# Libraries whose DEBUG output holds what members wrote: nio logs event contents, aiosqlite
# logs every SQL statement with its parameters (search words, notes, settings).
NOISY_LOGGERS = ("nio", "aiohttp", "peewee", "aiosqlite")


def setup_logging(level: str) -> None:
    # Only ids and counts are ever logged by the framework; the libraries above stay at ERROR.
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.ERROR)


def check_config(path: Path) -> int:
    """Print every problem of a config file with its path; non-zero if any."""
    try:
        data = read_yaml(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        print(f"{path}: {exc.strerror}", file=sys.stderr)
        return 2
    except UnicodeDecodeError:
        print(f"{path}: not UTF-8 text", file=sys.stderr)
        return 2
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 2
    problems: list[str] = []
    try:
        config = validate_config_data(data)
    except ConfigError as error:
        problems = error.problems
        config = None
    try:
        plugins = plugins_for(config) if config is not None else discover_plugins()
    except ConfigError as error:
        problems += error.problems
    else:
        problems += validate_plugin_blocks(data.get("plugins") or {}, plugins)
    if config is not None:
        problems += missing_secrets(config)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 2
    print(f"{path}: OK")
    return 0


def read_recovery_key(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError([f"--recovery-key-file {path}: {exc.strerror}"]) from None


async def run_bot(path: Path, recovery_key_file: Path | None) -> int:
    from core.bot import Bot
    from core.crypto import IdentityError
    from core.matrix import ConnectionError_

    try:
        config = load_config(path)
        setup_logging(config.logging.level)
        bot = Bot(config, recovery_key=read_recovery_key(recovery_key_file))
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 2
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, bot.stop)
    try:
        await bot.start()
        await bot.run()
    except ConnectionError_ as error:
        print(f"cannot connect: {error}", file=sys.stderr)
        return 3
    except IdentityError as error:
        print(f"cross-signing identity: {error}", file=sys.stderr)
        return 4
    finally:
        await bot.close()
    return 0


def confirm_reset() -> bool:
    print(
        "Resetting the bot's identity makes every member's client warn that the bot's\n"
        "identity changed, and members who verified the bot must verify it again.\n"
        "Only do this if the recovery key is lost.",
    )
    return input("Type RESET to continue: ").strip() == "RESET"


async def reset_identity_command(path: Path) -> int:
    """Replace the bot's cross-signing identity after the operator confirms."""
    from core.bot import Bot
    from core.crypto import IdentityError, reset_identity

    try:
        config = load_config(path)
        setup_logging(config.logging.level)
        bot = Bot(config)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 2
    try:
        await bot.db.open()
        await bot.connection.connect()
        outcome = await reset_identity(
            bot.connection.cross_signing_session(),
            local_store=bot.identity_path,
            passphrase=bot._passphrase,
        )
    except IdentityError as error:
        print(f"reset refused: {error}", file=sys.stderr)
        return 4
    finally:
        await bot.connection.close()
        await bot.db.close()
    print("New identity published. Recovery key (shown once, store it safely):")
    print(outcome.recovery_key)
    return 0


async def verify_command(path: Path, action: str, number: int | None) -> int:
    """List verifications waiting for the operator, or confirm / reject one."""
    from core.crypto.verification import MIGRATIONS, decide, waiting
    from core.storage import Database

    try:
        config = load_config(path)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 2
    db = Database(config.storage.database)
    await db.open()
    try:
        await db.migrate("crypto", MIGRATIONS)
        if action == "list":
            rows = await waiting(db)
            if not rows:
                print("no verification waits for you")
            for row in rows:
                print(f"{row['id']}: {row['user_id']} (device {row['device_id']})\n"
                      f"   emoji:   {row['emoji']}\n   numbers: {row['decimals']}")
            return 0
        assert number is not None
        if not await decide(db, number, action == "confirm"):
            print(f"verification {number} is not waiting for a decision "
                  "(see `solidarity verify list`)", file=sys.stderr)
            return 1
        print(f"verification {number}: {action}ed; the running bot acts on it within a second")
        return 0
    finally:
        await db.close()


async def holds_command(path: Path, action: str, user_id: str | None) -> int:
    """Members held after an identity change: list them, or release one the operator vouches for."""
    from core.identity_holds import IdentityHolds
    from core.storage import CORE_MIGRATIONS, Database

    try:
        config = load_config(path)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 2
    db = Database(config.storage.database)
    await db.open()
    try:
        await db.migrate("core", CORE_MIGRATIONS)
        holds = IdentityHolds(db)
        if action == "list":
            held = await holds.held()
            if not held:
                print("nobody is held")
            for member, since in held:
                print(f"{member} (since {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(since))})")
            return 0
        assert user_id is not None
        if not await holds.release(user_id):
            print(f"{user_id} is not held (see `solidarity holds list`)", file=sys.stderr)
            return 1
        print(f"{user_id}: released; sensitive plugins act for them again")
        return 0
    finally:
        await db.close()


async def status_command(path: Path) -> int:
    """The bot's health for its operator, from its database: no message contents, no ids."""
    from core.scheduler import Scheduler
    from core.storage import CORE_MIGRATIONS, Database

    try:
        config = load_config(path)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 2
    db = Database(config.storage.database)
    await db.open()
    try:
        # Tried with a real write, as the bot does: it holds its work meanwhile.
        if db.writable:
            print("database: writable")
        else:
            print(f"database: CANNOT BE WRITTEN ({db.unwritable_reason}): the bot holds "
                  f"commands, timers and sends; make {config.storage.database}, its -wal/-shm "
                  "and its folder writable by the bot's user (or free disk space)")
        await db.migrate("core", CORE_MIGRATIONS)
        now = time.time()
        row = await db.fetchone("SELECT value FROM core_state WHERE key = 'last_sync_at'")
        if row is None:
            print("sync: never (the bot has not run with this data folder)")
        else:
            age = now - float(row["value"])
            state = "connected" if age < config.bot.sync.timeout_ms / 1000 + 90 else "NOT SYNCING"
            print(f"sync: last handled {age:.0f} s ago ({state})")
        for item in await db.fetchall(
                "SELECT state, priority, COUNT(*) AS n FROM core_outbox "
                "GROUP BY state, priority ORDER BY state, priority DESC"):
            kind = "safety" if item["priority"] else "bulk"
            print(f"outbox: {item['n']} {item['state']} ({kind})")
        for count in await Scheduler(db, Clock()).counts():
            print(f"jobs: {count.owner}/{count.kind}: {count.count} {count.state}")
        unread = await db.fetchone("SELECT COUNT(*) AS n FROM core_undecrypted")
        print(f"undecryptable events waiting for keys: {unread['n'] if unread else 0}")
        held = await db.fetchone("SELECT COUNT(*) AS n FROM core_identity_holds")
        print(f"members held after an identity change: {held['n'] if held else 0}")
        return 0
    finally:
        await db.close()


async def jobs_command(path: Path) -> int:
    """Timers by owner, kind and state, and the dead letters (ids only, no payloads)."""
    from core.scheduler import Scheduler
    from core.storage import CORE_MIGRATIONS, Database

    try:
        config = load_config(path)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 2
    db = Database(config.storage.database)
    await db.open()
    try:
        await db.migrate("core", CORE_MIGRATIONS)
        scheduler = Scheduler(db, Clock())
        counts = await scheduler.counts()
        if not counts:
            print("no jobs")
        for count in counts:
            print(f"{count.owner}/{count.kind}: {count.count} {count.state}")
        for letter in await scheduler.dead_letters():
            print(f"dead letter {letter.id}: {letter.owner}/{letter.kind} after "
                  f"{letter.attempts} attempts")
        return 0
    finally:
        await db.close()


PluginCommand = Callable[[argparse.Namespace], int]


def add_plugin_commands(commands: argparse._SubParsersAction) -> dict[str, PluginCommand]:  # type: ignore[type-arg]
    """Operator commands offered by plugins: `solidarity <plugin> ...`.

    A plugin package offers them with a `cli` module next to its plugin, holding
    `register(parser) -> handler`: it adds its arguments to `parser` and returns the function
    that runs the parsed command and returns the exit code. Core names no plugin.
    """
    handlers: dict[str, PluginCommand] = {}
    try:
        plugins = discover_plugins()
    except Exception as exc:  # a broken plugin must not take the core commands down with it
        print(f"plugin commands unavailable: {type(exc).__name__} while loading plugins",
              file=sys.stderr)
        return handlers
    for plugin in plugins:
        package = plugin.__module__.rsplit(".", 1)[0]
        if package == plugin.__module__ or importlib.util.find_spec(f"{package}.cli") is None:
            continue
        module = importlib.import_module(f"{package}.cli")
        register = getattr(module, "register", None)
        if register is None or plugin.name in commands.choices:
            continue
        parser = commands.add_parser(plugin.name, help=f"{plugin.name} plugin tools")
        handlers[plugin.name] = register(parser)
    return handlers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="solidarity", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the bot")
    run.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
    run.add_argument("--recovery-key-file", type=Path, default=None,
                     help="restore the bot's cross-signing identity on a new device")
    identity = commands.add_parser("identity", help="the bot's cross-signing identity")
    identity_actions = identity.add_subparsers(dest="action", required=True)
    reset = identity_actions.add_parser("reset", help="replace it (asks for confirmation)")
    reset.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
    reset.add_argument("--yes", action="store_true", help="do not ask (scripts only)")
    verify = commands.add_parser("verify", help="members' verifications waiting for you")
    verify_actions = verify.add_subparsers(dest="action", required=True)
    for name, text in (("list", "show them with their emoji"),
                       ("confirm", "the member sees the same emoji"),
                       ("reject", "the member sees other emoji")):
        verify_action = verify_actions.add_parser(name, help=text)
        verify_action.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
        if name != "list":
            verify_action.add_argument("number", type=int)
    status = commands.add_parser("status", help="the bot's health (no message contents)")
    status.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
    jobs = commands.add_parser("jobs", help="timers by owner, kind and state; dead letters")
    jobs.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
    holds = commands.add_parser(
        "holds", help="members held after their identity changed (check-ins wait for them)")
    holds_actions = holds.add_subparsers(dest="action", required=True)
    for name, text in (("list", "who is held, since when"),
                       ("release", "you have confirmed with the member that it is them")):
        holds_action = holds_actions.add_parser(name, help=text)
        holds_action.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
        if name == "release":
            holds_action.add_argument("user_id")
    check = commands.add_parser("check-config", help="validate a config file")
    check.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
    demo = commands.add_parser("demo", help="a throwaway local homeserver with the bot")
    demo.add_argument("--script", action="store_true",
                      help="drive a scripted member, print the transcript and exit")
    demo.add_argument("--data-dir", type=Path, default=None,
                      help="where the demo keeps its homeserver and bot (default: a temp dir)")
    plugin_commands = add_plugin_commands(commands)
    args = parser.parse_args(argv)
    if args.command in plugin_commands:
        return plugin_commands[args.command](args)
    if args.command == "check-config":
        return check_config(args.config)
    if args.command == "run":
        return asyncio.run(run_bot(args.config, args.recovery_key_file))
    if args.command == "identity":
        if not args.yes and not confirm_reset():
            print("Nothing changed.")
            return 1
        return asyncio.run(reset_identity_command(args.config))
    if args.command == "status":
        return asyncio.run(status_command(args.config))
    if args.command == "jobs":
        return asyncio.run(jobs_command(args.config))
    if args.command == "holds":
        return asyncio.run(holds_command(args.config, args.action, getattr(args, "user_id", None)))
    if args.command == "verify":
        return asyncio.run(verify_command(args.config, args.action, getattr(args, "number", None)))
    from core.demo import run_demo

    setup_logging("WARNING")
    return asyncio.run(run_demo(script=args.script, data_dir=args.data_dir))


if __name__ == "__main__":
    sys.exit(main())
