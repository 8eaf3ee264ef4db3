"""Everything the greeter says, in English and Arabic (core.i18n checks both at load)."""

from __future__ import annotations

from core.i18n import Catalog

CATALOG = Catalog("greeter", {
    "help_greet": {"en": "Say hello: !greet [name]",
                   "ar": "للتحية: ‎!greet [name]‎"},
    "hello": {"en": "{greeting}, {name}!", "ar": "{greeting}، {name}!"},
})
