"""Core's user-facing messages in every supported language."""

from core.i18n import Catalog

CATALOG = Catalog(
    "core",
    {
        "unknown_command": {
            "en": "I don't know the command {command}. Did you mean {suggestion}? "
                  "Send {help} for the list.",
            "ar": "لا أعرف الأمر {command}. هل المقصود {suggestion}؟ لعرض القائمة: {help}",
        },
        "command_plugin_off": {
            "en": "{command} belongs to the {plugin} plugin, which is off in this room. "
                  "A room {role} can turn it on with {enable}.",
            "ar": "يتبع {command} إضافة {plugin}، وهي غير مفعّلة في هذه الغرفة. "
                  "يمكن لـ{role} الغرفة تفعيلها بالأمر {enable}.",
        },
        # Argument names in usage lines (core.plugin.argument_name); plugins may add their own.
        "arg_action": {"en": "action", "ar": "إجراء"},
        "arg_alert_id": {"en": "alert", "ar": "التنبيه"},
        "arg_checkin_id": {"en": "check-in", "ar": "التسجيل"},
        "arg_command_name": {"en": "command", "ar": "الأمر"},
        "arg_duration": {"en": "duration", "ar": "المدة"},
        "arg_first": {"en": "language", "ar": "اللغة"},
        "arg_second": {"en": "language", "ar": "اللغة"},
        "arg_key": {"en": "setting", "ar": "الإعداد"},
        "arg_kind": {"en": "kind", "ar": "النوع"},
        "arg_language": {"en": "language", "ar": "اللغة"},
        "arg_name": {"en": "name", "ar": "الاسم"},
        "arg_note": {"en": "note", "ar": "ملاحظة"},
        "arg_number": {"en": "number", "ar": "الرقم"},
        "arg_pin": {"en": "PIN", "ar": "الرقم السري"},
        "arg_plugin": {"en": "plugin", "ar": "الإضافة"},
        "arg_query": {"en": "search", "ar": "البحث"},
        "arg_reason": {"en": "reason", "ar": "السبب"},
        "arg_rest": {"en": "details", "ar": "التفاصيل"},
        "arg_room": {"en": "room", "ar": "الغرفة"},
        "arg_subcommand": {"en": "part", "ar": "الجزء"},
        "arg_tag": {"en": "tag", "ar": "الوسم"},
        "arg_text": {"en": "text", "ar": "النص"},
        "arg_title": {"en": "title", "ar": "العنوان"},
        "arg_url": {"en": "link", "ar": "الرابط"},
        "arg_user": {"en": "user", "ar": "المستخدم"},
        "arg_value": {"en": "value", "ar": "القيمة"},
        "arg_what": {"en": "what", "ar": "ماذا"},
        "arg_when": {"en": "when", "ar": "متى"},
        "arg_which": {"en": "which", "ar": "أيّ"},
        "arg_zone": {"en": "time zone", "ar": "المنطقة الزمنية"},
        "unknown_subcommand": {
            "en": "{command} has no part called {word}.",
            "ar": "لا يوجد في {command} جزء باسم {word}.",
        },
        "help_subcommand_word": {"en": "part", "ar": "جزء"},
        "command_dm_only": {
            "en": "{command} works only in our direct chat: send it to me there.",
            "ar": "يعمل {command} في المحادثة المباشرة معي فقط: يُرجى إرساله هناك.",
        },
        "unknown_command_plain": {
            "en": "I don't know the command {command}. Send {help} for the list.",
            "ar": "لا أعرف الأمر {command}. لعرض قائمة الأوامر: {help}",
        },
        "usage": {
            "en": "Usage: {usage}",
            "ar": "الاستخدام: {usage}",
        },
        "unclosed_quote": {
            "en": "A quote ({quote}) is opened but never closed. Close it, or leave it out.",
            "ar": "هناك علامة اقتباس ({quote}) مفتوحة لم تُغلق. يُرجى إغلاقها أو حذفها.",
        },
        "missing_argument": {
            "en": "Missing {name}.",
            "ar": "ينقص {name}.",
        },
        "too_many_arguments": {
            "en": "Too many words: {extra}",
            "ar": "كلمات زائدة: {extra}",
        },
        "bad_argument": {
            "en": "{name} must be {expected}.",
            "ar": "يجب أن تكون قيمة {name} {expected}.",
        },
        "expected_int": {"en": "a whole number", "ar": "عدداً صحيحاً"},
        "expected_float": {"en": "a number", "ar": "رقماً"},
        "expected_bool": {"en": "on or off", "ar": "on أو off"},
        "expected_user": {
            "en": "a Matrix user id such as @name:server",
            "ar": "معرّف مستخدم في ماتريكس مثل ‎@name:server",
        },
        "expected_choice": {"en": "one of {choices}", "ar": "واحداً من {choices}"},
        "expected_duration": {
            "en": "a duration such as 30m, 2h, 1h30, 2 hours or half an hour",
            "ar": "مدة مثل 30m أو 2h أو ساعتين أو نصف ساعة",
        },
        "expected_moment": {
            "en": "a time such as 18:30, 6pm, tomorrow 9:00 or in 2 hours",
            "ar": "وقتاً مثل 18:30 أو 6pm أو غداً 9:00 أو بعد ساعتين",
        },
        "expected_room": {
            "en": "a room id or address such as #help:server",
            "ar": "معرّف غرفة أو عنوانها مثل ‎#help:server",
        },
        "expected_emoji": {"en": "one emoji such as ✅", "ar": "رمزاً تعبيرياً واحداً مثل ✅"},
        "not_allowed_role": {
            "en": "Sorry, {command} is for room {role}s only.",
            "ar": "عذراً، الأمر {command} مخصّص لـ{role} الغرفة فقط.",
        },
        "role_moderator": {"en": "moderator", "ar": "فريق إشراف"},
        "role_admin": {"en": "admin", "ar": "إدارة"},
        "not_allowed_organizer": {
            "en": "Sorry, {command} is for organizers only.",
            "ar": "عذراً، الأمر {command} مخصّص لفريق التنظيم فقط.",
        },
        "identity_held": {
            "en": "Your account's security identity changed (a new login, or keys reset), so "
                  "{command} and your other safety commands are on hold until you confirm it is "
                  "you: send !confirm <your safe PIN> in our direct chat. (Without a safe PIN, "
                  "ask the bot's operator.)",
            "ar": "تغيّرت هوية الأمان لحسابك (تسجيل دخول جديد أو إعادة ضبط المفاتيح)، لذا الأمر {command} "
                  "وأوامر السلامة الأخرى معلّقة إلى حين تأكيد أنّ الحساب لك: يكفي إرسال ‎!confirm <رقمك "
                  "السري للأمان>‎ في محادثتنا المباشرة. (من دون رقم سري للأمان: يُرجى التواصل مع الجهة "
                  "المشغّلة للبوت.)",
        },
        "identity_held_dm": {
            "en": "Your account's security identity just changed (a new login, or keys reset). "
                  "If that was you, confirm it: send !confirm <your safe PIN> here (without a safe "
                  "PIN, ask the bot's operator). Until then your check-ins keep running, "
                  "but I won't take check-in, contact or PIN commands from this account.",
            "ar": "تغيّرت هوية الأمان لحسابك للتو (تسجيل دخول جديد أو إعادة ضبط المفاتيح). إن كان ذلك منك "
                  "فيكفي التأكيد بإرسال ‎!confirm <رقمك السري للأمان>‎ هنا (من دون رقم سري للأمان: يُرجى "
                  "التواصل مع الجهة المشغّلة للبوت). حتى ذلك الحين تستمر تسجيلات الوصول، لكنني لن أقبل من "
                  "هذا الحساب أوامر تسجيل الوصول أو جهات الاتصال أو الأرقام السرية.",
        },
        "private_command_moved": {
            "en": "You wrote a private command in {room}. I removed it there and answer you "
                  "here, where only you can read it.",
            "ar": "وصلني منك أمر خاص في {room}. حذفتُه من هناك، وأجيب هنا حيث لا يقرأ الرد أحد غيرك.",
        },
        "private_command_remove_it": {
            "en": "You wrote a private command in {room}, where others can read it, and I "
                  "cannot remove it there. Please delete it yourself (in Element: hover or "
                  "long-press the message, then Remove). I answer you here.",
            "ar": "وصلني منك أمر خاص في {room} حيث يمكن للآخرين قراءته، ولا أستطيع حذفه هناك. يُرجى حذفه "
                  "بنفسك (في Element: تمرير المؤشر فوق الرسالة أو الضغط عليها مطوّلاً، ثم «إزالة»). سأجيب "
                  "هنا.",
        },
        "not_allowed_network_moderator": {
            "en": "Sorry, {command} is for the network's moderators only.",
            "ar": "عذراً، الأمر {command} مخصّص لفريق الإشراف على الشبكة فقط.",
        },
        "not_allowed_network_curator": {
            "en": "Sorry, {command} is for the network's directory curators only.",
            "ar": "عذراً، الأمر {command} مخصّص لفريق تنسيق الدليل في الشبكة فقط.",
        },
        "encrypted_only": {
            "en": "For your safety, {command} only works in encrypted rooms.",
            "ar": "حفاظاً على سلامتك، يعمل الأمر {command} في الغرف المشفّرة فقط.",
        },
        "rate_limited": {
            "en": "You're sending commands faster than I can answer. I'll answer the "
                  "rest in order, starting in about {seconds} seconds; no need to send them "
                  "again. Safety commands such as !safe always go through at once.",
            "ar": "تصلني الأوامر أسرع مما أستطيع الرد. سأجيب عن البقية بالترتيب بعد نحو "
                  "{seconds} ثانية، فلا داعي لإعادة إرسالها. أوامر السلامة مثل ‎!safe‎ تمرّ فوراً دائماً.",
        },
        "plugin_error": {
            "en": "Sorry, something went wrong on my side. "
                  "If it keeps happening, give this code to the bot's operator: {error_id}",
            "ar": "عذراً، حدث خطأ من جهتي. إن تكرّر ذلك، يُرجى إعطاء هذا الرمز لـالجهة المشغّلة للبوت: "
                  "{error_id}",
        },
        "unencrypted_room": {
            "en": "This room is not end-to-end encrypted, so I won't work here: "
                  "what people send me could be read on the server. "
                  "A room admin can turn on encryption in the room settings "
                  "(Security & Privacy); I'll start answering then.",
            "ar": "هذه الغرفة غير مشفّرة من طرف إلى طرف، لذلك لن أعمل هنا: فما يُرسل إليّ قد يُقرأ على "
                  "الخادم. يمكن لإدارة الغرفة تفعيل التشفير من إعدادات الغرفة (الأمان والخصوصية)، وعندها "
                  "سأبدأ بالرد.",
        },
        "undecryptable_withheld": {
            "en": "{user}: I couldn't read your last message. Your app did not share its key "
                  "with this bot's device ({code}), usually because it only trusts verified "
                  "devices. Verify the bot (its device is cross-signed), or ask your app to "
                  "trust it, then send the message again.",
            "ar": "{user}: لم أستطع قراءة رسالتك الأخيرة. لم يشارك تطبيقك مفتاحها مع جهاز هذا البوت "
                  "({code})، وغالباً لأنه لا يثق إلا بالأجهزة الموثّقة. الحل: توثيق البوت (جهازه موقّع "
                  "تبادلياً) أو السماح لتطبيقك بالثقة به، ثم إعادة إرسال الرسالة.",
        },
        "undecryptable_missing": {
            "en": "{user}: I couldn't read your last message: its encryption key never reached "
                  "me. Please send it again. If this keeps happening, tell the bot's operator.",
            "ar": "{user}: لم أستطع قراءة رسالتك الأخيرة لأن مفتاح تشفيرها لم يصلني. يُرجى إعادة إرسالها، "
                  "وإن تكرّر ذلك فيُرجى إبلاغ الجهة المشغّلة للبوت.",
        },
        "verification_sas_auto": {
            "en": "{user}: verifying me. Your app should show these emoji: {emoji} "
                  "(or the numbers {numbers}). I have confirmed on my side; if your app shows "
                  "the same, confirm there. If not, cancel: someone may be in between.",
            "ar": "{user}: جارٍ التحقق مني. يجب أن يعرض تطبيقك هذه الرموز: {emoji} (أو الأرقام {numbers}). "
                  "أكّدتُ من جهتي؛ إن عرض تطبيقك الرموز نفسها فيكفي التأكيد هناك، وإلا فيجب إلغاء التحقق: "
                  "قد يكون هناك من يعترض الاتصال.",
        },
        "verification_sas_operator": {
            "en": "{user}: verifying me. Your app should show these emoji: {emoji} "
                  "(or the numbers {numbers}). Confirm in your app if they match; the bot's "
                  "operator confirms on my side (verification {number}).",
            "ar": "{user}: جارٍ التحقق مني. يجب أن يعرض تطبيقك هذه الرموز: {emoji} (أو الأرقام {numbers}). "
                  "عند التطابق يكون التأكيد في تطبيقك؛ وتؤكّد الجهة المشغّلة للبوت من جهتي (التحقق رقم "
                  "{number}).",
        },
        "verification_done": {
            "en": "{user}: verification done. Your app now shows this bot as verified.",
            "ar": "{user}: اكتمل التحقق. يعرض تطبيقك الآن هذا البوت كجهة موثّقة.",
        },
        "verification_cancelled": {
            "en": "{user}: the verification stopped ({code}: {reason}). Start it again from "
                  "your app when you are ready.",
            "ar": "{user}: توقّف التحقق ({code}: {reason}). يمكن بدؤه من جديد من تطبيقك في أي وقت.",
        },
        "untrusted_device_cross_signed": {
            "en": "I can't run {command} for you from this session: it is not verified by "
                  "your own account (cross-signed), so I can't be sure it is really you. "
                  "Verify this session from another of your sessions (in Element: Settings, "
                  "Sessions), then try again.",
            "ar": "لا أستطيع تنفيذ {command} لك من هذه الجلسة: لم يوثّقها حسابك (توقيع متبادل)، فلا أستطيع "
                  "التأكد من أنها لك. يُرجى توثيق هذه الجلسة من جلسة أخرى لك (في Element: الإعدادات، "
                  "الجلسات) ثم المحاولة من جديد.",
        },
        "untrusted_device_verified": {
            "en": "I can't run {command} for you yet: this bot only acts for members who "
                  "verified it, from sessions verified by their own account. Verify the bot "
                  "(in Element: open its profile, Verify) and verify this session, then try "
                  "again.",
            "ar": "لا أستطيع تنفيذ {command} لك بعد: لا يعمل هذا البوت إلا لحسابات وثّقته، ومن جلسات وثّقها "
                  "الحساب نفسه. يُرجى توثيق البوت (في Element: ملفه الشخصي ثم «تحقّق») وتوثيق هذه الجلسة، "
                  "ثم المحاولة من جديد.",
        },
        "identity_changed": {
            "en": "{admins}: the encryption identity of {user} changed. That happens when "
                  "they reset their keys (new login without recovery), but it can also mean "
                  "someone else controls the account. Check with them in person before "
                  "trusting sensitive messages from them.",
            "ar": "{admins}: تغيّرت هوية التشفير الخاصة بـ {user}. يحدث هذا عند إعادة تعيين المفاتيح (تسجيل "
                  "دخول جديد دون استرداد)، وقد يعني أيضاً أن شخصاً آخر يتحكم بالحساب. يُرجى التحقق وجهاً "
                  "لوجه قبل الثقة بأي رسالة حساسة من هذا الحساب.",
        },
        "help_header": {
            "en": "Commands you can use here:",
            "ar": "الأوامر التي يمكنك استخدامها هنا:",
        },
        "help_footer": {
            "en": "Send {help_command} for details on one command.",
            "ar": "لتفاصيل أمر واحد: {help_command}",
        },
        "help_group_safety": {
            "en": "Staying safe (check-ins, PINs, contacts):",
            "ar": "السلامة (تسجيل الوصول، الأرقام السرية، جهات الاتصال):",
        },
        "help_group_directory": {
            "en": "Finding help:",
            "ar": "العثور على المساعدة:",
        },
        "help_group_room": {
            "en": "This room:",
            "ar": "هذه الغرفة:",
        },
        "help_group_room_dm": {
            "en": "Your rooms:",
            "ar": "الغرف:",
        },
        "help_group_moderation": {
            "en": "Moderating (room settings, members):",
            "ar": "الإشراف (إعدادات الغرفة، العضوية):",
        },
        "help_group_organizing": {
            "en": "Organizing (alerts, roll calls, the network):",
            "ar": "التنظيم (التنبيهات، نداءات الحضور، الشبكة):",
        },
        "help_group_other": {
            "en": "Other commands:",
            "ar": "أوامر أخرى:",
        },
        "help_group_basics": {
            "en": "This bot:",
            "ar": "البوت:",
        },
        "help_private": {
            "en": "Privately (answered in our DM, not here): {commands}",
            "ar": "بشكل خاص (الرد في محادثتنا المباشرة لا هنا): {commands}",
        },
        "help_list_separator": {"en": ", ", "ar": "، "},
        "help_command": {
            "en": "{usage}\n{text}",
            "ar": "{usage}\n{text}",
        },
        "help_role_note": {
            "en": "(for room {role}s)",
            "ar": "(لـ{role} الغرفة)",
        },
        "help_help": {
            "en": "List the commands, or explain one.",
            "ar": "عرض الأوامر أو شرح أحدها.",
        },
        "help_language": {
            "en": "Choose the language I answer you in (en, ar); "
                  "admins: `room <code>` sets the room's default.",
            "ar": "اختيار لغة ردودي عليك (ar للعربية، en للإنجليزية)؛ ولإدارة الغرفة: `room <code>` يضبط "
                  "لغة الغرفة الافتراضية.",
        },
        "language_set": {
            "en": "I'll answer you in English from now on.",
            "ar": "سأرد عليك بالعربية من الآن فصاعداً.",
        },
        "language_room_set": {
            "en": "This room's default language is now English.",
            "ar": "أصبحت العربية اللغة الافتراضية لهذه الغرفة.",
        },
        "language_current": {
            "en": "I answer you in {language}. Available: {choices}. Example: {example}",
            "ar": "أرد عليك بـ{language}. المتاح: {choices}. مثال: {example}",
        },
        "language_unknown": {
            "en": "I don't speak {language} yet. Available: {choices}.",
            "ar": "لا أتحدث {language} بعد. المتاح: {choices}.",
        },
    },
)
