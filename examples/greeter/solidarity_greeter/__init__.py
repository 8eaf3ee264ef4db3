"""An installable Solidarity plugin: `!greet [name]` answers in the reader's language.

The layout every plugin follows: `plugin.py` (the Plugin class and its
commands), `settings.py` (its Settings model), `messages.py` (its catalog),
and `store.py` when it keeps data (this one keeps none).
"""

from solidarity_greeter.plugin import GreeterPlugin

__all__ = ["GreeterPlugin"]
