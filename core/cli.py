"""`solidarity run | check-config | demo`: the operator's entry points."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from core.config import ConfigError, load_config, missing_secrets
from core.discovery import discover_plugins, validate_plugin_blocks


def setup_logging(level: str) -> None:
    # Only ids and counts are ever logged by the framework; nio's own DEBUG
    # output can include event contents, so it stays at WARNING.
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("nio", "aiohttp", "peewee"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def check_config(path: Path) -> int:
    try:
        config = load_config(path)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 2
    problems = validate_plugin_blocks(config, discover_plugins()) + missing_secrets(config)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 2
    print(f"{path}: OK")
    return 0


async def run_bot(path: Path) -> int:
    from core.bot import Bot
    from core.matrix import ConnectionError_

    try:
        config = load_config(path)
        setup_logging(config.logging.level)
        bot = Bot(config)
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
    finally:
        await bot.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="solidarity", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the bot")
    run.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
    check = commands.add_parser("check-config", help="validate a config file")
    check.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
    demo = commands.add_parser("demo", help="a throwaway local homeserver with the bot")
    demo.add_argument("--script", action="store_true",
                      help="drive a scripted member, print the transcript and exit")
    demo.add_argument("--data-dir", type=Path, default=None,
                      help="where the demo keeps its homeserver and bot (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.command == "check-config":
        return check_config(args.config)
    if args.command == "run":
        return asyncio.run(run_bot(args.config))
    from core.demo import run_demo

    setup_logging("WARNING")
    return asyncio.run(run_demo(script=args.script, data_dir=args.data_dir))


if __name__ == "__main__":
    sys.exit(main())
