"""Logging that cannot leak what users wrote.

Exception messages often echo their input ("invalid literal for int(): 'my
secret'"), so errors are logged as the exception type and the code locations
of the traceback, never the message or local values.
"""

from __future__ import annotations

import logging
import secrets
import traceback


def new_error_id() -> str:
    return secrets.token_hex(4)


def log_exception(logger: logging.Logger, what: str, exc: BaseException, error_id: str) -> None:
    frames = "".join(traceback.format_tb(exc.__traceback__))
    logger.error("%s failed [error %s]: %s\n%s", what, error_id, type(exc).__name__, frames)
