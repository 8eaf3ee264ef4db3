"""The full Solidarity bot (admin plugin + the integration tests' echo plugin) in its own process.

Run by bench/roundtrip.py:

    python bench/solidarity_echo.py --homeserver URL --user-id @u:localhost --dir DIR

DIR holds the files ``password`` and ``passphrase``; the bot's data goes to
DIR/data. Config as in tests/integration/conftest.py, with a per-user rate limit
out of reach and logging at the config's default level (as `solidarity run`
would set it up). Then speaks the line protocol of bench/_control.py.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import _control

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.integration.plugins

from bots.admin import AdminPlugin  # noqa: E402
from core.bot import Bot  # noqa: E402
from core.cli import setup_logging  # noqa: E402
from core.config import Config  # noqa: E402
from tests.integration.plugins import EchoPlugin  # noqa: E402


async def main(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    _control.serve(loop, stop)

    directory = Path(args.dir)
    config = Config.model_validate({
        "matrix": {"homeserver": args.homeserver, "user_id": args.user_id,
                   "password": {"file": str(directory / "password")}},
        "storage": {"data_dir": str(directory / "data"),
                    "store_passphrase": {"file": str(directory / "passphrase")}},
        "bot": {"invites": {"allowed_servers": ["localhost"]},
                "rate_limit": {"commands": 100_000, "window_seconds": 1}},
        # The bench members are plain nio clients without cross-signing.
        "crypto": {"trust": "all"},
        **({"logging": {"level": args.log_level}} if args.log_level else {}),
    })
    setup_logging(config.logging.level)
    bot = Bot(config, plugins=[AdminPlugin, EchoPlugin])
    run: asyncio.Task[None] | None = None
    try:
        await bot.start()
        run = asyncio.create_task(bot.run())
        synced = asyncio.create_task(bot.connection.synced.wait())
        await asyncio.wait({run, synced}, return_when=asyncio.FIRST_COMPLETED)
        synced.cancel()
        if run.done():
            run.result()
            return 1
        _control.say("ready")
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({run, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        return 1 if run.done() else 0
    finally:
        bot.stop()
        if run is not None:
            await asyncio.gather(run, return_exceptions=True)
        await bot.close()


if __name__ == "__main__":
    _control.die_with_parent()
    _control.take_stdout()
    _control.count_requests()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homeserver", required=True)
    parser.add_argument("--user-id", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--log-level", default=None,
                        help="override the config's logging level (default: the config default)")
    sys.exit(asyncio.run(main(parser.parse_args())))
