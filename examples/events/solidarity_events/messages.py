"""What the events plugin says, in English and Arabic (gender-neutral: no reader is assumed a man)."""

from __future__ import annotations

from core.i18n import Catalog

CATALOG = Catalog("events", {
    "help_event": {
        "en": "Events of this room: announce one, list them, cancel one",
        "ar": "فعاليات هذه الغرفة: الإعلان عن فعالية وعرضها وإلغاؤها",
    },
    "help_event_add": {
        "en": "Announce an event, e.g. tomorrow 18:00 Picnic, or in 2 hours Call; "
              "members react ✅ to come",
        "ar": "للإعلان عن فعالية، مثل: غداً 18:00 نزهة، أو: بعد ساعتين اجتماع؛ وللمشاركة يكفي "
              "وضع ✅ على الإعلان",
    },
    "help_event_list": {
        "en": "The upcoming events of this room and how many are coming",
        "ar": "الفعاليات القادمة في هذه الغرفة وعدد الحضور",
    },
    "help_event_cancel": {
        "en": "Cancel an event by its number (whoever announced it, or a room moderator)",
        "ar": "إلغاء فعالية برقمها (لمن أعلن عنها أو لفريق إشراف الغرفة)",
    },
    "announce": {
        "en": "📅 Event #{number}: {title}\nWhen: {when}\nTo come, react with ✅ to this message "
              "(remove it if plans change). Those coming get a reminder by direct message "
              "{lead} before.",
        "ar": "📅 الفعالية رقم {number}: {title}\nالموعد: {when}\nللمشاركة يكفي وضع ✅ على هذه "
              "الرسالة (وإزالتها عند تغيّر الخطط). ومن يشارك تصله رسالة تذكير خاصة قبل الموعد "
              "بـ{lead}.",
    },
    "announce_no_reminder": {
        "en": "📅 Event #{number}: {title}\nWhen: {when}\nTo come, react with ✅ to this message "
              "(remove it if plans change).",
        "ar": "📅 الفعالية رقم {number}: {title}\nالموعد: {when}\nللمشاركة يكفي وضع ✅ على هذه "
              "الرسالة (وإزالتها عند تغيّر الخطط).",
    },
    "list_header": {
        "en": "Upcoming events here:",
        "ar": "الفعاليات القادمة هنا:",
    },
    "list_line": {
        "en": "#{number} · {when} · {title} · coming: {coming}",
        "ar": "رقم {number} · {when} · {title} · الحضور: {coming}",
    },
    "list_empty": {
        "en": "No upcoming events here. To announce one: {usage}",
        "ar": "لا فعاليات قادمة هنا. للإعلان عن فعالية: {usage}",
    },
    "no_such_event": {
        "en": "There is no upcoming event #{number} in this room ({usage} lists them).",
        "ar": "لا توجد فعالية قادمة برقم {number} في هذه الغرفة (لعرضها: {usage}).",
    },
    "cancel_not_allowed": {
        "en": "Only whoever announced event #{number}, or a room moderator, may cancel it.",
        "ar": "إلغاء الفعالية رقم {number} لمن أعلن عنها أو لفريق إشراف الغرفة فقط.",
    },
    "cancelled": {
        "en": "❌ Event #{number} ({title}, {when}) is cancelled.",
        "ar": "❌ أُلغيت الفعالية رقم {number} ({title}، {when}).",
    },
    "cancelled_dm": {
        "en": "❌ Cancelled: {title} ({when}) in {room}, which you had said you would come to.",
        "ar": "❌ أُلغيت الفعالية {title} ({when}) في {room}، وكانت مشاركتك فيها مسجّلة.",
    },
    "reminder": {
        "en": "⏰ Reminder: {title} in {room} starts in {left} ({when}).",
        "ar": "⏰ تذكير: تبدأ الفعالية {title} في {room} بعد {left} ({when}).",
    },
    "title_too_long": {
        "en": "That title is too long: at most {limit} characters, please.",
        "ar": "العنوان طويل جداً: يُرجى ألّا يتجاوز {limit} حرف.",
    },
    "too_far": {
        "en": "That is more than a year away: please give a nearer time.",
        "ar": "هذا الموعد بعد أكثر من سنة: يُرجى اختيار موعد أقرب.",
    },
    "too_many": {
        "en": "This room already has {limit} upcoming events, the most it may have: "
              "please cancel one first.",
        "ar": "بلغت الفعاليات القادمة في هذه الغرفة الحد الأقصى ({limit}). يُرجى إلغاء إحداها أولاً.",
    },
})
