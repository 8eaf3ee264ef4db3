"""The check-ins plugin's messages, English and Arabic side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.i18n import Catalog, Trusted

if TYPE_CHECKING:
    from core.runtime import Runtime


def shown(runtime: Runtime, *words: str) -> Trusted:
    """A command as a message shows it to type, with this bot's prefix: `!contacts accept @sam:x`.

    The prefix is the operator's choice (`bot.command_prefix`), so a text never writes `!`
    itself; bot-made, so the catalog does not isolate it as user text.
    """
    return Trusted(runtime.config.bot.command_prefix + " ".join(words))


CATALOG = Catalog(
    "checkins",
    {
        # -- help -----------------------------------------------------------
        "help_checkin": {
            "en": "Start a safety check-in (private chat only): a duration or a time, then "
                  "a note if you want: `checkin 2 hours meeting at the bakery`, `checkin 2h`, "
                  "`checkin half an hour`, `checkin 6pm`, `checkin 18:30`, "
                  "`checkin tomorrow 9:00`; `checkin status` shows it.",
            "ar": "لبدء تسجيل سلامة (في المحادثة الخاصة فقط): مدة أو وقت، ثم ملاحظة عند "
                  "الحاجة: `checkin ساعتين اجتماع في المخبز`، `checkin 2h`، "
                  "`checkin نصف ساعة`، `checkin الساعة 6 مساءً`، `checkin 18:30`، "
                  "`checkin غداً 9:00`؛ ويعرضه `checkin status`.",
        },
        "help_checkin_start": {
            "en": "Start one: a duration or a time, then a note if you want.",
            "ar": "لبدء تسجيل: مدة أو وقت، ثم ملاحظة عند الحاجة.",
        },
        "help_checkin_status": {"en": "Your running check-in: its deadline and who is alerted.",
                                "ar": "تسجيلك الجاري: موعده ومن سيُنبَّه."},
        "help_safe": {"en": "Confirm you are safe (add your PIN if you set one).",
                      "ar": "تأكيد أنك بأمان (مع رمزك السري إن كان معيّناً)."},
        "help_extend": {
            "en": "Push your check-in's deadline back, e.g. `extend 30m`, `extend an hour` "
                  "(add your PIN after it if you set one).",
            "ar": "لتأجيل موعد التسجيل، مثلاً `extend 30m` أو `extend ساعة` (ويُضاف الرمز "
                  "السري بعدها إن كان معيّناً).",
        },
        "help_cancel": {"en": "Stop your running check-in without alerting anyone.",
                        "ar": "إيقاف تسجيلك الجاري دون تنبيه أحد."},
        "help_timezone": {
            "en": "Show or set your timezone by city or zone name, e.g. `timezone Beirut`, "
                  "`timezone New York`, `timezone Europe/Berlin`.",
            "ar": "لعرض المنطقة الزمنية أو تعيينها باسم المدينة أو المنطقة، مثلاً "
                  "`timezone بيروت` أو `timezone Beirut` أو `timezone Europe/Berlin`.",
        },
        "help_contacts": {
            "en": "Your trusted contacts: `contacts`, `contacts add @name:server`, "
                  "`contacts remove @name:server`.",
            "ar": "جهات اتصالك الموثوقة: `contacts`، `contacts add @name:server`، "
                  "`contacts remove @name:server`.",
        },
        "help_contacts_list": {
            "en": "Show your trusted contacts and whether each accepted.",
            "ar": "عرض جهات اتصالك الموثوقة وحالة كل طلب.",
        },
        "help_contacts_add": {
            "en": "Ask someone to be your trusted contact: they are alerted only once they "
                  "accept.",
            "ar": "إرسال طلب إلى حساب ليصبح جهة اتصال موثوقة؛ لا تصل التنبيهات إلا بعد قبول "
                  "الطلب.",
        },
        "help_contacts_remove": {
            "en": "Remove someone from your trusted contacts.",
            "ar": "إزالة حساب من جهات اتصالك الموثوقة.",
        },
        "help_contacts_accept": {
            "en": "Accept a request to be someone's trusted contact.",
            "ar": "قبول طلب الانضمام إلى جهات الاتصال الموثوقة لحساب آخر.",
        },
        "help_contacts_decline": {
            "en": "Decline a request; no more come from them until you allow them.",
            "ar": "رفض طلب، ولا تصل طلبات أخرى من الحساب نفسه حتى السماح بها.",
        },
        "help_contacts_allow": {
            "en": "Let someone whose request you declined ask again.",
            "ar": "السماح من جديد بطلبات حساب سبق رفض طلبه.",
        },
        "help_group_usage": {
            "en": "How to use these commands.",
            "ar": "طريقة استخدام هذه الأوامر.",
        },
        "help_duress": {
            "en": "A duress PIN, for when someone forces you to close a check-in: "
                  "`duress set <pin>` (set your own PIN first with `safepin set <pin>`). "
                  "Typed instead of your PIN with `safe`, `extend` or `cancel`, it works "
                  "exactly like your PIN, every answer looks the same, and your trusted "
                  "contacts and the safety team get an urgent alert at once. Your message "
                  "with the PIN is deleted. `duress clear <pin>` removes it.",
            "ar": "رمز الإكراه لحالات الإجبار على إغلاق التسجيل: `duress set <pin>` "
                  "(يلزم تعيين رمزك السري أولاً بالأمر `safepin set <pin>`). "
                  "عند كتابته بدلاً من الرمز السري مع `safe` أو `extend` أو `cancel` يعمل "
                  "تماماً مثل الرمز السري وتبدو كل الردود كما هي، وتصل فوراً رسالة تنبيه "
                  "عاجلة إلى جهات الاتصال الموثوقة وفريق السلامة. تُحذف الرسالة التي فيها "
                  "الرمز. لإزالته: `duress clear <pin>`.",
        },
        "help_safepin": {
            "en": "Require a PIN with `safe`, `extend` and `cancel`: `safepin set <pin>` "
                  "(or `safepin clear <pin>`, which also removes a duress PIN).",
            "ar": "طلب رمز سري مع `safe` و`extend` و`cancel`: `safepin set <pin>` "
                  "(أو `safepin clear <pin>`، وهو يزيل رمز الإكراه أيضاً).",
        },
        "help_safepin_set": {
            "en": "Set the PIN that `safe`, `extend` and `cancel` will ask for.",
            "ar": "تعيين الرمز السري الذي تطلبه الأوامر `safe` و`extend` و`cancel`.",
        },
        "help_safepin_clear": {
            "en": "Stop asking for a PIN (type the PIN after it); this removes a duress PIN too.",
            "ar": "إلغاء طلب الرمز السري (مع كتابة الرمز بعده)، ويُزال رمز الإكراه معه.",
        },
        "help_duress_set": {
            "en": "Set a duress PIN: typed instead of your PIN, everything looks the same and "
                  "your trusted contacts and the safety team get an urgent alert at once.",
            "ar": "تعيين رمز الإكراه: عند كتابته بدلاً من رمزك السري يبدو كل شيء كما هو، وتصل فوراً "
                  "رسالة تنبيه عاجلة إلى جهات الاتصال الموثوقة وفريق السلامة.",
        },
        "help_duress_clear": {
            "en": "Remove the duress PIN (type it after the command).",
            "ar": "إزالة رمز الإكراه (مع كتابته بعد الأمر).",
        },
        "help_onit": {"en": "Tell the others you are taking care of a safety alert: `onit`, "
                            "`onit <id>` when several are open, or reply to the alert.",
                      "ar": "إعلام البقية بمتابعتك لتنبيه سلامة: `onit`، أو `onit <id>` "
                            "عند وجود أكثر من تنبيه، أو الرد على التنبيه."},
        "help_rollcall": {
            "en": "Organizers: start a roll call here, e.g. `rollcall 30m [note]`, "
                  "`rollcall half an hour [note]`.",
            "ar": "لفريق التنظيم: بدء تفقّد الحضور هنا، مثلاً `rollcall 30m [ملاحظة]` أو `rollcall نصف ساعة "
                  "[ملاحظة]`.",
        },
        "help_here": {"en": "Answer the roll call running in this room.",
                      "ar": "الرد على تفقّد الحضور الجاري في هذه الغرفة."},
        # -- where check-ins live ---------------------------------------------
        "dm_only": {
            "en": "For your safety, check-ins only work in a private encrypted chat with me. "
                  "I have sent you one: please write there. If your message held private "
                  "details, consider deleting it here.",
            "ar": "حفاظاً على سلامتك، لا يعمل تسجيل السلامة إلا في محادثة خاصة مشفّرة معي. فتحتُ لك واحدة: "
                  "يُرجى الكتابة هناك. وإن كانت رسالتك تحوي تفاصيل خاصة فالأفضل حذفها من هنا.",
        },
        "dm_hello": {
            "en": "This is our private chat for safety check-ins. Send `!help` to see the commands.",
            "ar": "هذه محادثتنا الخاصة لتسجيلات السلامة. لعرض الأوامر: `!help`",
        },
        # -- times --------------------------------------------------------------
        # Refusals always show the forms that are read (core/timeparse.py).
        "bad_when": {
            "en": "I couldn't find a duration or a time at the start of {value}. Start with "
                  "one of these, then your note if you want one:\n"
                  "• a duration: 2h, 90m, 1h30, 2 hours, 90 minutes, an hour, half an hour\n"
                  "• a time of day: 18:30, 6pm, 6:30 pm, tomorrow 9:00, tonight 23:00\n"
                  "For example: {example} 2 hours meeting at the bakery",
            "ar": "لم أجد مدة أو وقتاً في بداية {value}. يُكتب أولاً أحد هذه الأشكال، ثم "
                  "ملاحظة عند الحاجة:\n"
                  "• مدة: ساعة، ساعتين، 3 ساعات، نصف ساعة، 30 دقيقة، 2h، 1h30\n"
                  "• وقت من اليوم: 18:30، الساعة 6 مساءً، 6pm، غداً 9:00، الليلة 23:00\n"
                  "مثلاً: {example} ساعتين اجتماع في المخبز",
        },
        "bad_duration": {
            "en": "I couldn't read {value} as a duration. Durations look like: 2h, 30m, "
                  "1h30, 2 hours, 90 minutes, an hour, half an hour, an hour and a half. "
                  "For example: {example} 30m",
            "ar": "لم أتمكّن من قراءة {value} كمدة. أشكال المدة: ساعة، ساعتين، 3 ساعات، "
                  "نصف ساعة، ساعة ونصف، 30 دقيقة، 2h، 30m، 1h30. مثلاً: {example} نصف ساعة",
        },
        "bad_time": {
            "en": "I couldn't read {value} as a time of day: hours go from 0 to 23 and "
                  "minutes from 00 to 59, and am/pm go with hours 1 to 12. Times look like: "
                  "18:30, 6pm, 6:30 pm, tomorrow 9:00, tonight 23:00; or give a duration: "
                  "2 hours, 90m. For example: {example} 18:30",
            "ar": "لم أتمكّن من قراءة {value} كوقت من اليوم: الساعات من 0 إلى 23 والدقائق "
                  "من 00 إلى 59، وصباحاً/مساءً مع الساعات من 1 إلى 12. أشكال الوقت: 18:30، "
                  "الساعة 6 مساءً، 6pm، غداً 9:00، الليلة 23:00؛ أو مدة: ساعتين، 90 دقيقة. "
                  "مثلاً: {example} 18:30",
        },
        "ambiguous_hour": {
            "en": "Is {value} in the morning or the evening? Add am or pm (6pm, 6:30 am) or "
                  "write it on the 24-hour clock (18:00). For example: {example} 6pm",
            "ar": "هل {value} صباحاً أم مساءً؟ يُضاف صباحاً أو مساءً (الساعة 6 مساءً) أو يُكتب "
                  "الوقت بنظام 24 ساعة (18:00). مثلاً: {example} الساعة 6 مساءً",
        },
        "time_passed": {
            "en": "{value} has already passed today. Give a later time or a day: "
                  "{example} tomorrow 9:00, or a duration: {example} 2 hours.",
            "ar": "مضى وقت {value} اليوم. يمكن إعطاء وقت لاحق أو يوم: {example} غداً 9:00، "
                  "أو مدة: {example} ساعتين.",
        },
        "deadline_too_soon": {
            "en": "That deadline is too close. Give at least {min} from now.",
            "ar": "هذا الموعد قريب جداً. يلزم موعد بعد {min} على الأقل من الآن.",
        },
        "deadline_too_far": {
            "en": "That deadline is too far away. The longest check-in is {max}; "
                  "you can extend it later.",
            "ar": "هذا الموعد بعيد جداً. أطول تسجيل هو {max}، ويمكنك تمديده لاحقاً.",
        },
        # -- check-ins -----------------------------------------------------------
        "already_running": {
            "en": "You already have a check-in running. Use {extend} to change its deadline, "
                  "{cancel} to stop it, or {safe} when you are safe.",
            "ar": "لديك تسجيل جارٍ بالفعل. لتغيير موعده: {extend}، ولإيقافه: {cancel}، وللتأكيد أنك بأمان: "
                  "{safe}.",
        },
        "checkin_set": {
            "en": "Check-in set. I expect to hear from you by {deadline} (in {left}). "
                  "Send {safe} when you are safe.",
            "ar": "تم التسجيل. أنتظر رسالة منك قبل {deadline} (خلال {left}). للتأكيد أنك بأمان: {safe}",
        },
        "will_alert_contacts": {
            "en": "If you don't, I will alert your trusted contacts ({count}).",
            "ar": "إن لم تصلني، سأنبّه جهات اتصالك الموثوقة ({count}).",
        },
        "will_alert_team": {
            "en": "If you don't, I will alert the network's safety team.",
            "ar": "إن لم تصلني، سأنبّه فريق السلامة في الشبكة.",
        },
        "will_alert_nobody": {
            "en": "Warning: you have no accepted trusted contact and there is no safety team, "
                  "so nobody could be alerted. Add someone with {contacts} add @name:server.",
            "ar": "تنبيه: ليست لديك جهة اتصال موثوقة قبلت الطلب ولا يوجد فريق سلامة، فلن يُنبَّه أحد. "
                  "لإضافة شخص: {contacts} add @name:server",
        },
        "no_checkin": {"en": "You have no check-in running.", "ar": "ليس لديك تسجيل جارٍ."},
        "status_active": {
            "en": "Your check-in runs until {deadline} ({left} left).",
            "ar": "تسجيلك جارٍ حتى {deadline} (متبقٍّ {left}).",
        },
        "status_escalated": {
            "en": "Your deadline ({deadline}) has passed and the people you chose were alerted.",
            "ar": "انقضى موعدك ({deadline}) وتم تنبيه الأشخاص الذين اخترتهم.",
        },
        "status_note": {"en": "Note: {note}", "ar": "ملاحظة: {note}"},
        "held_without_pin": {
            "en": "Your account's security identity changed, and without a safe PIN I can't "
                  "tell it is you, so {command} is on hold. Please ask the bot's operator to "
                  "confirm it with you.",
            "ar": "تغيّرت هوية الأمان لحسابك، ومن دون رقم سري للأمان لا أستطيع التأكّد من أنّ الحساب لك، "
                  "لذا الأمر {command} معلّق. يُرجى التواصل مع الجهة المشغّلة للبوت لتأكيد ذلك معك.",
        },
        "help_confirm": {
            "en": "After your account's identity changed: !confirm <safe PIN> says it is you.",
            "ar": "بعد تغيّر هوية حسابك: ‎!confirm <الرقم السري للأمان>‎ يؤكّد أنّ الحساب لك.",
        },
        "confirmed": {
            "en": "Thank you, confirmed. Check-ins, contacts and PIN commands work again.",
            "ar": "شكراً، تمّ التأكيد. تعمل تسجيلات الوصول وجهات الاتصال وأوامر الأرقام السرية من جديد.",
        },
        "nothing_to_confirm": {
            "en": "Nothing to confirm: everything already works for your account.",
            "ar": "لا شيء يحتاج إلى تأكيد: كل شيء يعمل لحسابك.",
        },
        "wrong_pin": {
            "en": "That isn't right. Nothing was changed. Try {safe} again with your PIN.",
            "ar": "هذا غير صحيح. لم يتغيّر شيء. يمكن المحاولة مجدداً: {safe} مع رمزك السري.",
        },
        "pin_needed": {
            "en": "You set a PIN: send {safe} followed by your PIN. Nothing was changed.",
            "ar": "لديك رمز سري: يلزم إرسال {safe} متبوعاً به. لم يتغيّر شيء.",
        },
        "safe_ok": {
            "en": "Glad you're safe. Your check-in is closed.",
            "ar": "يسعدني أنك بأمان. تم إغلاق تسجيلك.",
        },
        "safe_after_alert": {
            "en": "Glad you're safe. I have told everyone who was alerted.",
            "ar": "يسعدني أنك بأمان. أبلغت كل من تم تنبيهه.",
        },
        "extend_after_alert": {
            "en": "Your deadline has passed and the people you chose were alerted. "
                  "Send {safe} so they know you are safe.",
            "ar": "انقضى موعدك وتم تنبيه الأشخاص الذين اخترتهم. يُرجى إرسال {safe} ليعرفوا أنك بأمان.",
        },
        "extended": {
            "en": "Extended. New deadline: {deadline} (in {left}).",
            "ar": "تم التمديد. الموعد الجديد: {deadline} (خلال {left}).",
        },
        "cancel_after_alert": {
            "en": "The people you chose were already alerted. Send {safe} so they know you are safe.",
            "ar": "تم تنبيه الأشخاص الذين اخترتهم بالفعل. يُرجى إرسال {safe} ليعرفوا أنك بأمان.",
        },
        "cancelled": {"en": "Check-in cancelled. Nobody was alerted.",
                      "ar": "أُلغي التسجيل. لم يُنبَّه أحد."},
        "reminder": {
            "en": "Reminder: your check-in ends at {deadline} (in {left}). Send {safe} when you "
                  "are safe, or {extend} 30m for more time.",
            "ar": "تذكير: ينتهي تسجيلك عند {deadline} (خلال {left}). للتأكيد أنك بأمان: {safe}، ولمزيد من "
                  "الوقت: {extend} 30m",
        },
        # -- timezone ---------------------------------------------------------------
        "timezone_is": {
            "en": "Your timezone is {zone}. Change it with your city, e.g. {example} Beirut.",
            "ar": "منطقتك الزمنية هي {zone}. لتغييرها باسم المدينة مثلاً: {example} بيروت.",
        },
        "timezone_not_set": {
            "en": "You have not set a timezone; times are shown in {zone}. Set yours with "
                  "your city, e.g. {example} Beirut.",
            "ar": "لم تُعيَّن منطقتك الزمنية بعد؛ تظهر الأوقات بتوقيت {zone}. لتعيينها "
                  "باسم المدينة مثلاً: {example} بيروت.",
        },
        "timezone_first": {
            "en": "To read a time of day I need your timezone first: send your city, e.g. "
                  "{timezone} Beirut, then your check-in again. Or give a "
                  "duration instead: {checkin} 2 hours. Nothing was set.",
            "ar": "لقراءة وقت من اليوم يلزمني معرفة منطقتك الزمنية أولاً: يُرجى إرسال اسم "
                  "المدينة، مثلاً {timezone} بيروت، ثم إعادة إرسال التسجيل. أو يمكن إعطاء مدة "
                  "بدلاً من ذلك: {checkin} ساعتين. لم يُسجَّل شيء.",
        },
        "timezone_unknown": {
            "en": "I don't know the timezone or city {zone}. Send the name of your city or "
                  "of a zone, e.g. {example} Beirut, {example} New York or "
                  "{example} Europe/Berlin.",
            "ar": "لا أعرف المنطقة الزمنية أو المدينة {zone}. يمكن إرسال اسم المدينة أو "
                  "المنطقة، مثلاً {example} بيروت أو {example} Beirut أو "
                  "{example} Europe/Berlin.",
        },
        "timezone_suggest": {
            "en": "I don't know the timezone or city {zone}. The closest I know: "
                  "{suggestions}. For example: {example} {first}",
            "ar": "لا أعرف المنطقة الزمنية أو المدينة {zone}. الأقرب مما أعرف: "
                  "{suggestions}. مثلاً: {example} {first}",
        },
        "timezone_set": {
            "en": "Timezone set to {zone}. It is now {time}.",
            "ar": "تم تعيين المنطقة الزمنية إلى {zone}. الوقت الآن {time}.",
        },
        # -- contacts ---------------------------------------------------------------
        "contacts_usage": {
            "en": "Use {contacts}, {contacts} add @name:server or {contacts} remove @name:server "
                  "(and accept, decline or allow @name:server for requests to you).",
            "ar": "يمكن استخدام {contacts} أو {contacts} add @name:server أو {contacts} remove "
                  "@name:server (وaccept أو decline أو allow @name:server للطلبات الواردة).",
        },
        "not_a_user": {
            "en": "{user} is not a Matrix user id. It looks like @name:server.",
            "ar": "{user} ليس معرّف مستخدم في ماتريكس. شكله هكذا: @name:server.",
        },
        "contact_is_you": {"en": "You can't be your own trusted contact.",
                           "ar": "لا يمكن أن يكون حسابك جهة اتصالك الموثوقة."},
        "contact_is_bot": {"en": "I can't be your trusted contact; choose a person.",
                           "ar": "لا يمكنني أن أكون جهة اتصالك الموثوقة؛ يلزم اختيار شخص."},
        "contact_exists": {"en": "{user} is already on your list.",
                           "ar": "{user} في قائمتك بالفعل."},
        "too_many_contacts": {"en": "You can have at most {max} trusted contacts.",
                              "ar": "الحد الأقصى لجهات الاتصال الموثوقة: {max}."},
        "contact_requested": {"en": "Request sent to {user}.", "ar": "أُرسل الطلب إلى {user}."},
        "contact_asked_recently": {
            "en": "{user} was asked recently, so no new request was sent; the earlier one "
                  "still works. {user} is back on your list until they answer.",
            "ar": "أُرسل طلب إلى {user} مؤخراً، فلم يُرسَل طلب جديد؛ وما زال الطلب السابق "
                  "صالحاً. أُعيدت إضافة {user} إلى قائمتك بانتظار الرد.",
        },
        "contact_cannot_ask": {"en": "I can't send {user} a request.",
                               "ar": "لا يمكنني إرسال طلب إلى {user}."},
        "too_many_requests": {
            "en": "You have sent {max} requests today. Try again tomorrow.",
            "ar": "أُرسل {max} طلباً اليوم. يمكن المحاولة مجدداً غداً.",
        },
        "contact_request": {
            "en": "{user} asks you to be one of their trusted contacts for safety check-ins. "
                  "If they miss a check-in, I will alert you here. "
                  "To accept, react ✅ to this message, reply yes to it, or send {accept}; "
                  "to decline, send {decline}.",
            "ar": "طلب من {user}: الانضمام إلى جهات الاتصال الموثوقة لتسجيلات السلامة. إن فات {user} موعد "
                  "تسجيل فسيصلك تنبيه هنا. للقبول: التفاعل مع هذه الرسالة بـ ✅، أو الرد عليها "
                  "بـ «نعم»، أو {accept}؛ وللرفض: {decline}.",
        },
        "accepted": {"en": "Thank you. You will be alerted if {user} misses a check-in.",
                     "ar": "شكراً لك. سيصلك تنبيه إن فات {user} موعد تسجيل."},
        "contact_accepted_you": {"en": "{user} accepted to be your trusted contact.",
                                 "ar": "قُبل الطلب: {user} الآن من جهات اتصالك الموثوقة."},
        "declined": {
            "en": "Declined. {user} can't alert you or send you requests. To allow requests "
                  "again: {allow}",
            "ar": "تم الرفض. لن تصل تنبيهات ولا طلبات من {user}. للسماح بالطلبات مجدداً: "
                  "{allow}",
        },
        "allowed_again": {"en": "{user} can send you a request again.",
                          "ar": "يمكن لـ {user} إرسال طلب إليك مجدداً."},
        "not_blocked": {"en": "Requests from {user} are not blocked.",
                        "ar": "الطلبات من {user} غير محظورة."},
        "contact_already_accepted": {"en": "You are already a trusted contact of {user}.",
                                     "ar": "أنت من جهات الاتصال الموثوقة لدى {user} بالفعل."},
        "contact_reply_unclear": {
            "en": "I didn't take that as a yes, so nothing changed. To accept {user}'s request, "
                  "react ✅ to it or send {accept}; to decline, send {decline}.",
            "ar": "لم أفهم هذا الرد على أنه موافقة، فلم يتغيّر شيء. لقبول طلب {user}: التفاعل "
                  "معه بـ ✅ أو إرسال {accept}؛ ولرفضه: إرسال {decline}.",
        },
        "contact_no_such_user": {
            "en": "I can't find an account {user}, so no request was sent. Check how it is "
                  "spelled: a Matrix id looks like @name:server.",
            "ar": "لم أجد حساباً باسم {user}، فلم يُرسَل أي طلب. يُرجى التحقق من كتابته: "
                  "معرّف ماتريكس يكون بصيغة @name:server.",
        },
        "no_request": {"en": "There is no request from {user}.",
                       "ar": "لا يوجد طلب من {user}."},
        "contact_removed": {"en": "{user} is no longer your trusted contact.",
                            "ar": "أُزيل {user} من جهات اتصالك الموثوقة."},
        "contact_unknown": {"en": "{user} is not on your list.", "ar": "{user} ليس في قائمتك."},
        "no_contacts": {
            "en": "You have no trusted contacts yet. Add one with {contacts} add @name:server.",
            "ar": "ليست لديك جهات اتصال موثوقة بعد. للإضافة: {contacts} add @name:server",
        },
        "contacts_header": {"en": "Your trusted contacts:", "ar": "جهات اتصالك الموثوقة:"},
        "contact_line_accepted": {"en": "• {user}: accepted", "ar": "• {user}: تمّ القبول"},
        "contact_line_pending": {"en": "• {user}: has not accepted yet (not alerted)",
                                 "ar": "• {user}: بانتظار القبول (لا تنبيهات قبل ذلك)"},
        # -- PINs ---------------------------------------------------------------------
        # Answers to `!duress` and `!safepin` are the same for both: the DM history
        # must not tell whoever holds the phone that a duress PIN exists.
        "pin_usage": {
            "en": "Add set <pin> or clear <pin>. A PIN is {min} to {max} characters "
                  "without spaces.",
            "ar": "يُضاف set <pin> أو clear <pin>. يتكوّن الرمز من {min} إلى {max} "
                  "محرفاً بلا مسافات.",
        },
        "pin_invalid": {"en": "A PIN must be {min} to {max} characters without spaces.",
                        "ar": "يجب أن يكون الرمز من {min} إلى {max} محرفاً بلا مسافات."},
        "pin_unusable": {"en": "That PIN can't be used. Nothing was changed; choose another.",
                         "ar": "لا يمكن استخدام هذا الرمز. لم يتغيّر شيء؛ يُرجى اختيار رمز آخر."},
        "pin_first": {
            "en": "First set your own PIN with {safepin} set <pin>. Nothing was changed.",
            "ar": "يلزم أولاً تعيين رمزك السري بالأمر {safepin} set <pin>. لم يتغيّر شيء.",
        },
        "safepin_exists": {
            "en": "You already have a PIN. Clear it first with {command} clear <pin>.",
            "ar": "لديك رمز سري بالفعل. يمكن مسحه أولاً بالأمر {command} clear <pin>.",
        },
        "pin_saved": {"en": "PIN saved.", "ar": "حُفظ الرمز."},
        "pin_removed": {"en": "PIN removed.", "ar": "أُزيل الرمز."},
        "pin_wrong_plain": {"en": "That isn't right. Nothing was changed.",
                            "ar": "هذا غير صحيح. لم يتغيّر شيء."},
        # -- alerts ---------------------------------------------------------------------
        "alert": {
            "en": "⚠️ Safety alert: {member} has not checked in.\nCheck-in set at {set_at}, "
                  "expected safe by {deadline}. Last seen active: {last_seen}. (Alert {id})",
            "ar": "⚠️ تنبيه سلامة: لم يصل تأكيد السلامة من {member}.\n"
                  "بدأ التسجيل عند {set_at}، وكان التأكيد متوقعاً قبل {deadline}. آخر نشاط: {last_seen}. "
                  "(تنبيه {id})",
        },
        "alert_urgent": {
            "en": "🚨 URGENT safety alert: {member} signalled that they are in danger and may "
                  "be under pressure. Do not contact them in a way that could expose them; "
                  "check on them in person if you can.\nCheck-in set at {set_at}, deadline "
                  "{deadline}. Last seen active: {last_seen}. (Alert {id})",
            "ar": "🚨 تنبيه سلامة عاجل: وصلت إشارة خطر من {member}، وقد يكون هذا الشخص تحت الضغط. يُرجى "
                  "تجنّب أي تواصل قد يكشف الأمر، والاطمئنان وجهاً لوجه إن أمكن.\n"
                  "بدأ التسجيل عند {set_at}، والموعد {deadline}. آخر نشاط: {last_seen}. (تنبيه {id})",
        },
        "alert_note": {"en": "Their note: {note}", "ar": "الملاحظة المرفقة: {note}"},
        "alert_no_note": {"en": "They left no note.", "ar": "لا توجد ملاحظة مرفقة."},
        "alert_late": {
            "en": "I was offline at the deadline: this alert is {late} late.",
            "ar": "كان البوت متوقفاً عند الموعد: وصل هذا التنبيه متأخراً {late}.",
        },
        "alert_how_to_ack": {
            "en": "Reply to this message, react ✅ or send !onit {id} so the others know "
                  "someone is on it.",
            "ar": "ليعرف البقية أن هناك من يتابع: الرد على هذه الرسالة، أو التفاعل بـ ✅ معها، "
                  "أو ‎!onit {id}‎.",
        },
        "member_escalated": {
            "en": "You did not check in, so I alerted {count} of the people you chose. "
                  "Send !safe as soon as you can.",
            "ar": "انقضى موعد التسجيل دون تأكيد منك، فنبّهت {count} من الأشخاص الذين اخترتهم. يُرجى إرسال "
                  "!safe في أقرب وقت.",
        },
        "nobody_alerted": {
            "en": "You did not check in, but I had nobody to alert: you have no accepted "
                  "trusted contact and there is no safety team.",
            "ar": "انقضى موعد التسجيل دون تأكيد منك، لكن لم يكن لدي أحد أنبّهه: ليست لديك جهة اتصال موثوقة "
                  "قبلت الطلب ولا يوجد فريق سلامة.",
        },
        "acked": {
            "en": "{acker} is on it: they are taking care of the alert about {member} ({id}).",
            "ar": "متابعة التنبيه الخاص بـ {member} ({id}) جارية الآن من قِبل {acker}.",
        },
        "all_clear": {
            "en": "✅ All clear: {member} checked in safe at {time}. (Alert {id})",
            "ar": "✅ زال الخطر: وصل تأكيد السلامة من {member} عند {time}. (تنبيه {id})",
        },
        "ack_unknown": {"en": "There is no alert {id} for you.", "ar": "لا يوجد تنبيه {id} يخصّك."},
        "ack_none": {"en": "There is no open safety alert for you here.",
                     "ar": "لا يوجد هنا تنبيه سلامة مفتوح يخصّك."},
        "ack_which": {"en": "Several safety alerts are open for you. Which one are you taking "
                            "care of? Send {onit} with its id:",
                      "ar": "هناك أكثر من تنبيه سلامة مفتوح يخصّك. لتحديد التنبيه الذي تجري "
                            "متابعته: {onit} مع معرّفه:"},
        "ack_which_line": {"en": "• {id}: about {member}", "ar": "• {id}: بخصوص {member}"},
        "ack_resolved": {"en": "That alert is already over: they checked in safe.",
                         "ar": "انتهى هذا التنبيه بالفعل: وصل تأكيد السلامة."},
        "ack_already": {"en": "{user} is already on it.", "ar": "الأمر قيد المتابعة من {user} بالفعل."},
        "ack_thanks": {"en": "Thank you. The others know you are taking care of {member}.",
                       "ar": "شكراً لك. صار البقية يعرفون بمتابعتك لأمر {member}."},
        # -- roll calls ----------------------------------------------------------------
        "rollcall_not_allowed": {
            "en": "Only organizers and moderators can start a roll call with {command}.",
            "ar": "بدء تفقّد الحضور بالأمر {command} لفريقَي التنظيم والإشراف فقط.",
        },
        "rollcall_room_only": {
            "en": "Roll calls run in encrypted group rooms, not here.",
            "ar": "يجري تفقّد الحضور في الغرف الجماعية المشفّرة، لا هنا.",
        },
        "rollcall_bad_length": {
            "en": "A roll call lasts between {min} and {max}.",
            "ar": "يستمر تفقّد الحضور بين {min} و{max}.",
        },
        "rollcall_started": {
            "en": "📋 Roll call from {organizer}: please answer {here} or react ✅ to this "
                  "message within {left}.",
            "ar": "📋 تفقّد حضور من {organizer}: أجيبوا بالأمر {here} أو تفاعلوا بـ ✅ مع هذه الرسالة خلال "
                  "{left}.",
        },
        "rollcall_note": {"en": "Note: {note}", "ar": "ملاحظة: {note}"},
        "rollcall_none": {"en": "There is no roll call running here.",
                          "ar": "لا يوجد تفقّد حضور جارٍ هنا."},
        "rollcall_thanks": {"en": "Thanks, you are marked present.", "ar": "شكراً، سُجّل حضورك."},
        "rollcall_nudge": {
            "en": "Roll call in {room}: please answer {here} there within {left}.",
            "ar": "تفقّد حضور في {room}: يُرجى الرد هناك بالأمر {here} خلال {left}.",
        },
        "rollcall_report_missing": {
            "en": "Roll call in {room} is over: {answered} of {total} answered. No answer from:\n"
                  "{missing}",
            "ar": "انتهى تفقّد الحضور في {room}: الإجابات {answered} من {total}. لم تصل إجابة من:\n{missing}",
        },
        "rollcall_report_all": {
            "en": "Roll call in {room} is over: all {total} answered.",
            "ar": "انتهى تفقّد الحضور في {room}: وصلت إجابات الجميع ({total}).",
        },
        "rollcall_closed": {
            "en": "Roll call closed: {answered} of {total} answered.",
            "ar": "أُغلق تفقّد الحضور: الإجابات {answered} من {total}.",
        },
        # -- dead letters (to the safety-team room; never who or what) ------
        "dead_letter_escalate": {
            "en": "A check-in escalation could not be delivered after {tries} tries: its "
                  "alerts may not have gone out. Please check {jobs} on the bot's server.",
            "ar": "تعذّر تنفيذ تصعيد أحد تسجيلات السلامة بعد {tries} محاولات، وقد لا تكون "
                  "تنبيهاته قد أُرسلت. يُرجى التحقق عبر {jobs} على خادم البوت.",
        },
        "dead_letter_team": {
            "en": "A safety-team alert step could not be delivered after {tries} tries. "
                  "Please check {jobs} on the bot's server.",
            "ar": "تعذّر تنفيذ خطوة تنبيه فريق السلامة بعد {tries} محاولات. "
                  "يُرجى التحقق عبر {jobs} على خادم البوت.",
        },
        "dead_letter_remind": {
            "en": "A check-in reminder could not be delivered after {tries} tries. "
                  "Please check {jobs} on the bot's server.",
            "ar": "تعذّر إرسال تذكير بأحد تسجيلات السلامة بعد {tries} محاولات. "
                  "يُرجى التحقق عبر {jobs} على خادم البوت.",
        },
    },
)
