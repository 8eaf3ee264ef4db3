"""The admin plugin's messages in every supported language."""

from core.i18n import Catalog

CATALOG = Catalog(
    "admin",
    {
        "help_plugins": {
            "en": "List the plugins and whether each is on in this room.",
            "ar": "عرض الإضافات وحالة كل منها في هذه الغرفة.",
        },
        "help_enable": {"en": "Turn a plugin on in this room.", "ar": "تفعيل إضافة في هذه الغرفة."},
        "help_disable": {"en": "Turn a plugin off in this room.", "ar": "إيقاف إضافة في هذه الغرفة."},
        "help_config": {
            "en": "Show a plugin's settings here, or change one: "
                  "`config <plugin> <key> <value>` (`default` restores the default). "
                  "Organizers: `config --network ...` for every room.",
            "ar": "عرض إعدادات إضافة هنا أو تغيير أحدها: `config <plugin> <key> <value>` (`default` يعيد "
                  "القيمة الافتراضية). لفريق التنظيم: `config --network ...` لكل الغرف.",
        },
        "network_organizers_only": {
            "en": "Only the network's organizers change settings for every room; a room's "
                  "admins do not. `config <plugin> <key> <value>` changes them for this room.",
            "ar": "تغيير إعدادات كل الغرف لفريق تنظيم الشبكة وحده، لا لإدارات الغرف. `config <plugin> <key> "
                  "<value>` يغيّرها لهذه الغرفة.",
        },
        "network_setting_only": {
            "en": "Not saved: {key} is a network setting (it names private rooms or changes "
                  "how the whole network works), so no room sets its own. The network's "
                  "organizers change it with {usage}.",
            "ar": "لم يُحفظ: {key} إعداد للشبكة (يسمّي غرفاً خاصة أو يغيّر عمل الشبكة كلها)، فلا تضبطه غرفة "
                  "لنفسها. يغيّره فريق تنظيم الشبكة بالأمر {usage}.",
        },
        "hidden_value": {"en": "(hidden)", "ar": "(مخفي)"},
        "hidden_note": {
            "en": "Hidden values are network settings: they are shown only to the network's "
                  "organizers (or the role they concern), in their role's room or a direct "
                  "message with the bot.",
            "ar": "القيم المخفية إعدادات للشبكة: لا تظهر إلا لفريق تنظيم الشبكة (أو لمن يحمل الدور المعني)، "
                  "في غرفة ذلك الدور أو في رسالة خاصة مع البوت.",
        },
        "network_usage": {
            "en": "Write `config --network <plugin>` to see a plugin's network-wide settings, or "
                  "`config --network <plugin> <key> <value>` to change one for every room.",
            "ar": "لعرض إعدادات إضافة على مستوى الشبكة: `config --network <plugin>`، ولتغيير أحدها لكل "
                  "الغرف: `config --network <plugin> <key> <value>`.",
        },
        "network_settings_header": {
            "en": "Network-wide settings of {name}, for every room that does not change them "
                  "itself ({marker} = changed for the network):",
            "ar": "إعدادات {name} على مستوى الشبكة، لكل غرفة لا تغيّرها بنفسها "
                  "({marker} = غُيّر للشبكة):",
        },
        "plugins_header": {"en": "Plugins in this room:", "ar": "الإضافات في هذه الغرفة:"},
        "plugin_on": {"en": "on", "ar": "مفعّلة"},
        "plugin_off": {"en": "off", "ar": "متوقفة"},
        "plugin_builtin": {"en": "always on", "ar": "مفعّلة دائماً"},
        "unknown_plugin": {
            "en": "There is no plugin called {name}. Plugins: {names}.",
            "ar": "لا توجد إضافة باسم {name}. الإضافات المتاحة: {names}.",
        },
        "cannot_disable": {
            "en": "{name} is built in and always on.",
            "ar": "الإضافة {name} مدمجة ومفعّلة دائماً.",
        },
        "enabled": {"en": "{name} is now on in this room.", "ar": "أصبحت {name} مفعّلة في هذه الغرفة."},
        "disabled": {"en": "{name} is now off in this room.", "ar": "أصبحت {name} متوقفة في هذه الغرفة."},
        "already_enabled": {"en": "{name} is already on here.", "ar": "الإضافة {name} مفعّلة هنا أصلاً."},
        "already_disabled": {"en": "{name} is already off here.", "ar": "الإضافة {name} متوقفة هنا أصلاً."},
        "settings_header": {
            "en": "Settings of {name} in this room ({marker} = changed here):",
            "ar": "إعدادات {name} في هذه الغرفة ({marker} = غُيّر هنا):",
        },
        "no_settings": {"en": "{name} has no settings.", "ar": "لا توجد إعدادات للإضافة {name}."},
        "setting_saved": {"en": "Saved: {key} = {value}", "ar": "حُفظ: {key} = {value}"},
        "setting_reset": {
            "en": "{key} is back to its default: {value}",
            "ar": "عاد {key} إلى قيمته الافتراضية: {value}",
        },
        "setting_refused": {
            "en": "Not saved. {problems}\nNothing was changed.",
            "ar": "لم يُحفظ. {problems}\nلم يتغيّر شيء.",
        },
        "unknown_setting": {
            "en": "{name} has no setting {key}. Settings: {keys}.",
            "ar": "لا يوجد إعداد {key} في {name}. الإعدادات: {keys}.",
        },
    },
)
