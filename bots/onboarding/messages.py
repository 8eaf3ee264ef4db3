"""The onboarding plugin's messages, English and Arabic side by side."""

from core.i18n import Catalog

CATALOG = Catalog(
    "onboarding",
    {
        # -- help ------------------------------------------------------------
        "help_agree": {
            "en": "Accept the rules of the rooms you joined, so you can write there.",
            "ar": "قبول قواعد الغرف التي انضممت إليها، للتمكّن من الكتابة فيها.",
        },
        "help_rules": {
            "en": "Show this room's rules.",
            "ar": "عرض قواعد هذه الغرفة.",
        },
        "help_rooms": {
            "en": "List the rooms of the network you can join.",
            "ar": "عرض غرف الشبكة التي يمكنك الانضمام إليها.",
        },
        "help_pronouns": {
            "en": "Set your pronouns (`pronouns they/them`), show them, or remove them "
                  "(`pronouns clear`).",
            "ar": "تحديد ضمائرك (`pronouns هي`)، أو عرضها، أو حذفها (`pronouns clear`).",
        },
        "help_intro": {
            "en": "Introduce yourself in the introductions room (in our private chat; "
                  "`intro post` or `intro cancel` at the end).",
            "ar": "التعريف بنفسك في غرفة التعارف (في محادثتنا الخاصة؛ `intro post` أو `intro cancel` في "
                  "النهاية).",
        },
        "help_onboarding": {
            "en": "For room admins: `onboarding preview [en|ar]` shows what a newcomer sees; "
                  "`onboarding status` shows the gate and the people waiting.",
            "ar": "لإدارة الغرفة: `onboarding preview [en|ar]` يعرض ما يراه من ينضمّ حديثاً؛ `onboarding "
                  "status` يعرض حالة البوابة ومن ينتظر.",
        },
        # Subcommands (`!help intro post`); the group's own help above lists them all.
        "help_intro_start": {"en": "Start answering the introduction questions.",
                             "ar": "بدء الإجابة عن أسئلة التعارف."},
        "help_intro_post": {"en": "Post your finished introduction.",
                            "ar": "نشر التعريف بعد اكتماله."},
        "help_intro_cancel": {"en": "Drop your introduction; nothing is kept.",
                              "ar": "التراجع عن التعريف؛ ولا يُحفظ منه شيء."},
        "help_onboarding_preview": {"en": "What a newcomer sees here, in English or Arabic.",
                                    "ar": "ما يراه من ينضمّ حديثاً هنا، بالعربية أو بالإنجليزية."},
        "help_onboarding_status": {"en": "Whether the gate is on and who is waiting.",
                                   "ar": "هل البوابة مفعّلة ومن ينتظر."},
        # -- welcome in the room -----------------------------------------------
        "room_welcome": {
            "en": "Welcome {names}! I've sent you a private message with this room's rules.",
            "ar": "أهلاً وسهلاً {names}! قواعد هذه الغرفة في رسالة خاصة مني.",
        },
        "list_separator": {"en": ", ", "ar": "، "},
        "names_last": {"en": "{names} and {last}", "ar": "{names} و{last}"},
        "names_others": {
            "en": "{names} and {count} others",
            "ar": "{names}، إضافةً إلى {count}",
        },
        # -- the private welcome -----------------------------------------------
        "dm_choose_language": {
            "en": "Choose your language: {choices}",
            "ar": "اختيار اللغة: {choices}",
        },
        "dm_welcome": {
            "en": "Welcome to {room}! I'm the bot of this network. Here is what to know.",
            "ar": "أهلاً بك في {room}! أنا بوت هذه الشبكة. إليك ما يفيد معرفته.",
        },
        "dm_rules_header": {
            "en": "The rules of {room}:",
            "ar": "قواعد {room}:",
        },
        "rules_not_translated": {
            "en": "The rules of {room} are not written in {language} yet; here they are in "
                  "{shown}:",
            "ar": "لم تُكتب قواعد {room} باللغة {language} بعد، وهذه هي باللغة {shown}:",
        },
        "language_en": {"en": "English", "ar": "الإنجليزية"},
        "language_ar": {"en": "Arabic", "ar": "العربية"},
        "rules_default": {
            "en": "1. Be kind. Everyone here is welcome, whoever they are and wherever they come "
                  "from.\n2. No harassment, hate or outing: never share someone's name, photo, "
                  "place or story without their consent.\n3. Keep what is said here private.\n"
                  "4. If something is wrong, tell the room's moderators.",
            "ar": "١. تعامل لطيف مع الجميع: هنا ترحيب بكل الهويات ومن كل مكان.\n"
                  "٢. لا تحرّش ولا كراهية ولا كشف لهوية أحد: لا مشاركة لاسم أو صورة أو مكان أو قصة تخصّ أي "
                  "شخص دون موافقة صريحة.\n"
                  "٣. ما يُقال هنا يبقى هنا.\n"
                  "٤. إن حدث ما يقلق، يُرجى إبلاغ فريق إشراف الغرفة.",
        },
        "dm_gate": {
            "en": "To write in {room}, accept these rules: reply {agree} here, or react with ✅ "
                  "to this message.",
            "ar": "للكتابة في {room} يلزم قبول هذه القواعد: {agree} هنا، أو التفاعل مع هذه الرسالة بـ ✅.",
        },
        "dm_no_gate": {
            "en": "Taking part in {room} means following these rules. Reply {agree} or react "
                  "with ✅ to say you have read them.",
            "ar": "المشاركة في {room} تعني الالتزام بهذه القواعد. للإشارة إلى قراءتها: {agree} أو التفاعل "
                  "بـ ✅.",
        },
        "dm_intro": {
            "en": "Would you like to introduce yourself in {room}? Send {intro}. Nothing is "
                  "posted or kept without your OK.",
            "ar": "للتعريف بنفسك في {room} (اختياري): {intro}. لا يُنشر شيء ولا يُحفظ دون موافقتك.",
        },
        "dm_more": {
            "en": "Other rooms of the network: {rooms}. Your pronouns, if you want to share "
                  "them: {pronouns}.",
            "ar": "غرف الشبكة الأخرى: {rooms}. ضمائرك، إن أردت مشاركتها: {pronouns}.",
        },
        # -- agreeing ------------------------------------------------------------
        "agreed_gate": {
            "en": "Thank you! You can now write in {rooms}.",
            "ar": "شكراً لك! يمكنك الآن الكتابة في {rooms}.",
        },
        "agreed": {
            "en": "Thank you for accepting the rules of {rooms}.",
            "ar": "شكراً لقبولك قواعد {rooms}.",
        },
        "agree_nothing": {
            "en": "There are no rules waiting for your agreement.",
            "ar": "لا توجد قواعد بانتظار موافقتك.",
        },
        "agree_power_failed": {
            "en": "Thank you. I could not lift the limit in {rooms}: I'm no longer allowed to "
                  "change power levels there. I've told the room admins.",
            "ar": "شكراً لك. لم أستطع رفع القيد في {rooms}: لم يعد مسموحاً لي بتغيير مستويات الصلاحيات "
                  "هناك. أبلغت إدارة الغرفة.",
        },
        "reminder": {
            "en": "A reminder: to write in {room}, accept its rules: reply {agree} here or react "
                  "with ✅ to the rules message above.",
            "ar": "تذكير: للكتابة في {room} يلزم قبول قواعدها: {agree} هنا أو التفاعل بـ ✅ مع رسالة القواعد "
                  "أعلاه.",
        },
        "removed_dm": {
            "en": "You were removed from {room} because its rules were not accepted within "
                  "{days} days. You are welcome to join again and accept them.",
            "ar": "أُخرجت من {room} لأن قواعدها لم تُقبل خلال {days} أيام. مرحّب بك إن "
                  "انضممت مجدداً وقبلتها.",
        },
        "removed_reason": {
            "en": "rules not accepted within {days} days",
            "ar": "لم تُقبل القواعد خلال {days} أيام",
        },
        # -- faults told to the right person -------------------------------------
        "no_power_gate": {
            "en": "{admins} I can't hold newcomers back until they accept the rules: I'm not "
                  "allowed to change power levels in this room. Give me power level {level} in "
                  "Room settings → Roles & Permissions, or turn the gate off with {command}. "
                  "Until then I welcome newcomers without holding them back.",
            "ar": "{admins} لا أستطيع تقييد من ينضمّ حديثاً إلى حين قبول القواعد: غير مسموح لي بتغيير "
                  "مستويات الصلاحيات في هذه الغرفة. المطلوب منحي مستوى الصلاحية {level} من إعدادات الغرفة ← "
                  "الأدوار والصلاحيات، أو إيقاف البوابة بالأمر {command}. حتى ذلك الحين أرحّب بكل من ينضمّ "
                  "دون تقييد.",
        },
        "no_power_kick": {
            "en": "{admins} I could not remove {user}, who has not accepted the rules within "
                  "{days} days: I'm not allowed to remove members here. Give me that power, or "
                  "turn removal off with {command}.",
            "ar": "{admins} لم أستطع إخراج {user}، فالقواعد لم تُقبل خلال {days} أيام: غير مسموح لي بإخراج "
                  "أحد هنا. المطلوب منحي هذه الصلاحية أو إيقاف الإخراج بالأمر {command}.",
        },
        "dm_failed_room": {
            "en": "{user} I couldn't open a private chat with you, so you are not held back. "
                  "Read this room's rules with {rules}.",
            "ar": "{user} لم أستطع فتح محادثة خاصة معك، لذلك لا قيود على كتابتك. قواعد هذه الغرفة: {rules}",
        },
        # -- directory -------------------------------------------------------------
        "rooms_header": {
            "en": "Rooms of the network you can join:",
            "ar": "غرف الشبكة التي يمكنك الانضمام إليها:",
        },
        "rooms_none": {
            "en": "No other rooms are listed yet.",
            "ar": "لا توجد غرف أخرى مدرجة بعد.",
        },
        # Shown to those who may `!config` the room only, never to newcomers.
        "rooms_none_hint": {
            "en": "To list rooms here, use {command}.",
            "ar": "يمكن إدراج الغرف هنا بالأمر {command}.",
        },
        # -- pronouns --------------------------------------------------------------
        "pronouns_set": {
            "en": "Saved: your pronouns are {pronouns}. Remove them any time with {clear}.",
            "ar": "حُفظ: ضمائرك هي {pronouns}. يمكنك حذفها متى شئت بالأمر {clear}.",
        },
        "pronouns_cleared": {
            "en": "Your pronouns are removed; I keep nothing about them.",
            "ar": "حُذفت ضمائرك، ولا أحتفظ بشيء عنها.",
        },
        "pronouns_none": {
            "en": "You have not set pronouns. If you want to, send for example {example}.",
            "ar": "لا ضمائر محفوظة لك. لإضافتها، مثلاً: {example}",
        },
        "pronouns_current": {
            "en": "Your pronouns: {pronouns}. Remove them with {clear}.",
            "ar": "ضمائرك: {pronouns}. للحذف: {clear}",
        },
        "pronouns_too_long": {
            "en": "Pronouns can be at most {limit} characters, for example {example}.",
            "ar": "يمكن أن تكون الضمائر {limit} حرفاً على الأكثر، مثلاً {example}.",
        },
        # -- introductions ----------------------------------------------------------
        "intro_unavailable": {
            "en": "None of your rooms has an introductions room yet.",
            "ar": "لا توجد غرفة تعارف في أيٍّ من غرفك بعد.",
        },
        "intro_only_dm": {
            "en": "Please send {intro} in our private chat, so your answers stay private until "
                  "you choose to post them.",
            "ar": "يُرجى إرسال {intro} في محادثتنا الخاصة، لتبقى إجاباتك خاصة إلى حين قرار نشرها.",
        },
        "intro_start": {
            "en": "Let's write your introduction for {room}. Answer each question with a "
                  "message, or send - to skip it. I keep nothing unless you post it.",
            "ar": "لنكتب تعريفك في {room}. الإجابة عن كل سؤال برسالة، أو - للتخطّي. لا أحتفظ بشيء ما لم "
                  "يُنشر.",
        },
        "intro_q_pronouns": {
            "en": "What are your pronouns?",
            "ar": "ما هي ضمائرك؟",
        },
        "intro_q_languages": {
            "en": "Which languages do you speak?",
            "ar": "ما لغاتك؟",
        },
        "intro_q_reason": {
            "en": "What brings you here?",
            "ar": "ما الذي أتى بك إلى هنا؟",
        },
        "intro_answer_too_long": {
            "en": "That answer is too long ({length} characters, at most {limit}). Please "
                  "shorten it.",
            "ar": "هذه الإجابة طويلة جداً ({length} حرفاً، والحد {limit}). يُرجى اختصارها.",
        },
        "intro_preview": {
            "en": "This is what I would post in {room}:\n\n{text}\n\nSend {post} to post it, "
                  "or {cancel} to drop it.",
            "ar": "هذا ما سأنشره في {room}:\n\n{text}\n\nللنشر: {post}، وللإلغاء: {cancel}",
        },
        "intro_nothing": {
            "en": "You skipped every question, so there is nothing to post. Nothing was kept.",
            "ar": "تخطّيت كل الأسئلة، فلا يوجد ما يُنشر. لم يُحفظ شيء.",
        },
        "intro_posted": {
            "en": "Posted in {room}. I keep none of your answers.",
            "ar": "نُشر في {room}. لا أحتفظ بأيٍّ من إجاباتك.",
        },
        "intro_cancelled": {
            "en": "Dropped. Nothing was posted or kept.",
            "ar": "أُلغي. لم يُنشر شيء ولم يُحفظ.",
        },
        "intro_room_changed": {
            "en": "The introductions room has changed since you started, so nothing was posted "
                  "and your draft is dropped. Start again with {intro} to see where it would go.",
            "ar": "تغيّرت غرفة التعارف منذ البدء، فلم يُنشر شيء وحُذفت المسودة. يمكن البدء من "
                  "جديد بالأمر {intro} لمعرفة مكان النشر.",
        },
        "intro_no_draft": {
            "en": "You have no introduction ready to post. Start one with {intro}.",
            "ar": "ليس لديك تعريف جاهز للنشر. للبدء: {intro}",
        },
        "intro_post_failed": {
            "en": "I couldn't post in {room}: I'm not in it or may not write there. Please tell "
                  "its admins. Your draft stays until you send {cancel} or {post} again.",
            "ar": "لم أستطع النشر في {room}: لستُ فيها أو غير مسموح لي بالكتابة هناك. يُرجى إبلاغ إدارتها. "
                  "تبقى مسودتك إلى حين إرسال {cancel} أو {post} مجدداً.",
        },
        "intro_post_header": {
            "en": "Please welcome {user}!",
            "ar": "رحّبوا بـ{user}!",
        },
        "intro_line_pronouns": {"en": "Pronouns: {value}", "ar": "الضمائر: {value}"},
        "intro_line_languages": {"en": "Languages: {value}", "ar": "اللغات: {value}"},
        "intro_line_reason": {"en": "What brings them here: {value}", "ar": "سبب الانضمام: {value}"},
        # -- admin preview and status ---------------------------------------------
        "preview_room": {
            "en": "In the room ({language}), newcomers see:",
            "ar": "في الغرفة ({language})، يرى من ينضمّ حديثاً:",
        },
        "preview_room_off": {
            "en": "In the room: no welcome (welcome_in_room is off).",
            "ar": "في الغرفة: لا ترحيب (welcome_in_room متوقف).",
        },
        "preview_dm": {
            "en": "Privately ({language}), they receive:",
            "ar": "وفي رسالة خاصة ({language})، يصل:",
        },
        "preview_default_rules": {
            "en": "Note: no rules are set here for {language}, so newcomers get the default "
                  "text. Set yours with {command} (several lines are fine).",
            "ar": "ملاحظة: لم تُحدَّد قواعد هنا بلغة {language}، لذا يصل النص الافتراضي إلى من ينضمّ. "
                  "لتحديد قواعدك: {command} (يمكن أن تمتدّ على عدة أسطر).",
        },
        "preview_missing_rules": {
            "en": "Note: the rules here are not written in {language}, so messages in "
                  "{language} show them in another language. Add them with {command}.",
            "ar": "ملاحظة: قواعد هذه الغرفة غير مكتوبة باللغة {language}، فتظهر بلغة أخرى في "
                  "الرسائل باللغة {language}. يمكن إضافتها بالأمر {command}.",
        },
        "preview_missing_dm_welcome": {
            "en": "Note: the private welcome is not written in {language}, so messages in "
                  "{language} show the built-in one instead. Add it with {command}.",
            "ar": "ملاحظة: رسالة الترحيب الخاصة غير مكتوبة باللغة {language}، فيظهر الترحيب "
                  "المدمج بدلاً منها في الرسائل باللغة {language}. يمكن إضافتها بالأمر {command}.",
        },
        "preview_missing_room_welcome": {
            "en": "Note: the room welcome is not written in {language}, so the built-in one is "
                  "used in {language}. Add it with {command}.",
            "ar": "ملاحظة: رسالة الترحيب في الغرفة غير مكتوبة باللغة {language}، فيُستخدم الترحيب "
                  "المدمج باللغة {language}. يمكن إضافتها بالأمر {command}.",
        },
        "preview_no_directory": {
            "en": "Note: {rooms} lists no other rooms here yet.",
            "ar": "ملاحظة: لا يعرض {rooms} أي غرف أخرى هنا بعد.",
        },
        "status": {
            "en": "Onboarding here: gate {gate}; {waiting} people have not accepted the rules "
                  "yet; {done} have.",
            "ar": "الترحيب هنا: البوابة {gate}؛ بانتظار قبول القواعد: {waiting}؛ وتمّ القبول: {done}.",
        },
        "status_on": {"en": "on", "ar": "مفعّلة"},
        "status_off": {"en": "off", "ar": "متوقفة"},
        "status_no_power": {
            "en": "Warning: I can't change power levels here, so the gate cannot work. Give me "
                  "power level {level} in Room settings → Roles & Permissions.",
            "ar": "تنبيه: لا أستطيع تغيير مستويات الصلاحيات هنا، فلا تعمل البوابة. المطلوب منحي مستوى "
                  "الصلاحية {level} من إعدادات الغرفة ← الأدوار والصلاحيات.",
        },
        "onboarding_usage": {
            "en": "Use {preview} or {status}.",
            "ar": "الصيغة: {preview} أو {status}.",
        },
    },
)
