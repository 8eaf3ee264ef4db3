"""The alerts plugin's messages, English and Arabic side by side."""

from core.i18n import Catalog

CATALOG = Catalog(
    "alerts",
    {
        # -- help ---------------------------------------------------------------
        "help_alert": {
            "en": "Organizers: compose an alert for the network's rooms and preview it; "
                  "`alert` alone explains every option.",
            "ar": "لفريق التنظيم: كتابة تنبيه لغرف الشبكة ومعاينته؛ `alert` وحدها تشرح كل الخيارات.",
        },
        # One line each in `!help alert`, after the subcommand's usage.
        "help_alert_compose": {
            "en": "Write an alert and see its preview (what `alert <text>` does too); "
                  "nothing is sent yet.",
            "ar": "كتابة تنبيه ومعاينته (وهو ما يفعله `alert <text>` أيضاً)؛ لا يُرسل شيء بعد.",
        },
        "help_alert_at": {
            "en": "Write an alert to be sent later: `+30m`, `HH:MM` or `YYYY-MM-DD HH:MM`, "
                  "then its text.",
            "ar": "كتابة تنبيه يُرسل لاحقاً: `+30m` أو `HH:MM` أو `YYYY-MM-DD HH:MM`، ثم نصه.",
        },
        "help_alert_send": {
            "en": "Send (or schedule) the alert you previewed last.",
            "ar": "إرسال آخر تنبيه تمت معاينته (أو جدولته).",
        },
        "help_alert_discard": {
            "en": "Throw away the alert you previewed, without sending it.",
            "ar": "حذف التنبيه الذي تمت معاينته، دون إرساله.",
        },
        "help_alert_list": {
            "en": "The recent alerts with their ids and states.",
            "ar": "آخر التنبيهات مع معرّفاتها وحالاتها.",
        },
        "help_alert_log": {
            "en": "Who composed, sent, edited, retracted or cancelled which alert.",
            "ar": "سجل التدقيق: كتابة التنبيهات وإرسالها وتعديلها وسحبها وإلغاؤها، مع الحساب الذي "
                  "نفّذ كل إجراء.",
        },
        "help_alert_status": {
            "en": "Where an alert was delivered and who acknowledged it; without an id, "
                  "the latest alert.",
            "ar": "أين وصل التنبيه وعدد تأكيدات قراءته؛ وبدون معرّف: آخر تنبيه.",
        },
        "help_alert_edit": {
            "en": "Change a sent or scheduled alert's text everywhere it went.",
            "ar": "تعديل نص تنبيه مُرسَل أو مُجدول في كل مكان وصل إليه.",
        },
        "help_alert_retract": {
            "en": "Remove a sent alert from every room and direct message.",
            "ar": "سحب تنبيه مُرسَل من كل الغرف والرسائل الخاصة.",
        },
        "help_alert_cancel": {
            "en": "Cancel a scheduled alert before it goes out.",
            "ar": "إلغاء تنبيه مُجدول قبل إرساله.",
        },
        "help_ack": {
            "en": "Confirm you have read the latest alert here (or react ✅ to it).",
            "ar": "تأكيد قراءة آخر تنبيه هنا (أو التفاعل معه بـ ✅).",
        },
        "help_network": {
            "en": "`network tags` — this room's tags (country, topic), which let organizers send "
                  "alerts to some rooms only. Organizers: `network tag <tag>`, "
                  "`network untag <tag>`; room admins may remove their room's tags.",
            "ar": "`network tags` — وسوم هذه الغرفة (بلد، موضوع) التي تتيح لفريق التنظيم إرسال التنبيهات "
                  "إلى بعض الغرف فقط. لفريق التنظيم: `network tag <tag>` و`network untag <tag>`؛ ولإدارة "
                  "الغرفة إزالة وسومها.",
        },
        "help_subscribe": {
            "en": "`subscribe alerts [tag]`: get organizers' alerts by direct message too.",
            "ar": "`subscribe alerts [tag]`: استلام تنبيهات فريق التنظيم برسالة خاصة أيضاً.",
        },
        "help_unsubscribe": {
            "en": "`unsubscribe [alerts] [tag]`: stop alerts by direct message.",
            "ar": "`unsubscribe [alerts] [tag]`: إيقاف التنبيهات بالرسائل الخاصة.",
        },
        "alert_usage": {
            "en": "Write the alert after the command:\n"
                  "{prefix}alert [--urgent] [--rooms all|tag1,tag2|none] [--dm] [--staff] <text>\n"
                  "Per-language versions: start lines with [en] and [ar]; rooms get every "
                  "version, the room's language first; a direct message, its reader's.\n"
                  "Staff rooms (moderators, curators, the safety team) are left out unless "
                  "you add --staff.\n"
                  "Then {prefix}alert send (or {prefix}alert discard).\n"
                  "Later: {prefix}alert at <+30m|HH:MM|YYYY-MM-DD HH:MM> ..., "
                  "{prefix}alert status <id>, {prefix}alert edit <id> <text>, "
                  "{prefix}alert retract <id>, {prefix}alert cancel <id>, {prefix}alert list, "
                  "{prefix}alert log.",
            "ar": "يُكتب التنبيه بعد الأمر:\n"
                  "{prefix}alert [--urgent] [--rooms all|tag1,tag2|none] [--dm] [--staff] <text>\n"
                  "نُسخ بعدة لغات: تبدأ الأسطر بـ [en] و[ar]؛ تصل كل النسخ إلى الغرف، ولغة الغرفة أولاً؛ "
                  "وتصل الرسالة الخاصة بلغة من يقرؤها.\n"
                  "غرف فرق العمل (الإشراف، إدارة الدليل، فريق السلامة) مستثناة ما لم يُضَف --staff.\n"
                  "ثم {prefix}alert send (أو {prefix}alert discard).\n"
                  "لاحقاً: {prefix}alert at <+30m|HH:MM|YYYY-MM-DD HH:MM> ...، {prefix}alert status <id>، "
                  "{prefix}alert edit <id> <text>، {prefix}alert retract <id>، {prefix}alert cancel <id>، "
                  "{prefix}alert list، {prefix}alert log.",
        },
        # -- who may ---------------------------------------------------------------
        "not_organizer": {
            "en": "Sorry, only the network's organizers can send alerts.",
            "ar": "عذراً، إرسال التنبيهات متاح لفريق تنظيم الشبكة فقط.",
        },
        "no_organizers_room": {
            "en": "No organizers room is configured, so alerts cannot be composed yet. "
                  "Ask the bot's operator to set network.organizers_room.",
            "ar": "لم تُحدَّد غرفة فريق التنظيم بعد، لذا لا يمكن كتابة التنبيهات. يُرجى أن تضبط الجهة "
                  "المشغّلة للبوت الإعداد network.organizers_room.",
        },
        "only_in_organizers_room": {
            "en": "Alerts are composed in the organizers room only. Please write it there.",
            "ar": "تُكتب التنبيهات في غرفة فريق التنظيم فقط. يُرجى كتابته هناك.",
        },
        # -- composing ------------------------------------------------------------
        "bad_tag": {
            "en": "{tag} is not a usable tag: use up to 32 letters, digits, - or _.",
            "ar": "{tag} ليس وسماً صالحاً: المسموح حتى 32 حرفاً أو رقماً أو - أو _.",
        },
        "bad_rooms": {
            "en": "--rooms needs all, none or tags separated by commas (e.g. --rooms syria,legal); "
                  "got {value}.",
            "ar": "يحتاج --rooms إلى all أو none أو وسوم تفصلها فواصل (مثل --rooms syria,legal)؛ "
                  "وصلني {value}.",
        },
        "unknown_flag": {
            "en": "Unknown option {flag}. Options: --urgent, --rooms, --dm, --staff.",
            "ar": "خيار غير معروف {flag}. الخيارات: --urgent و--rooms و--dm و--staff.",
        },
        "no_targets": {
            "en": "--rooms none without --dm would reach nobody. Add --dm or choose rooms.",
            "ar": "‏--rooms none بدون --dm لن يصل إلى أحد. يلزم إضافة --dm أو اختيار غرف.",
        },
        "unknown_language": {
            "en": "{marker} is not a language the bot speaks. Use one of: {languages}.",
            "ar": "{marker} ليست لغة يتحدثها البوت. اللغات المتاحة: {languages}.",
        },
        "empty_version": {
            "en": "The [{language}] version is empty. Write its text after the marker, or remove it.",
            "ar": "النسخة [{language}] فارغة. يُكتب نصها بعد العلامة، أو تُحذف العلامة.",
        },
        "duplicate_version": {
            "en": "There are two [{language}] versions. Keep one.",
            "ar": "هناك نسختان [{language}]. تكفي نسخة واحدة.",
        },
        "empty_alert": {
            "en": "The alert is empty. Write its text after the command, e.g. "
                  "!alert Meeting point moved to the library.",
            "ar": "التنبيه فارغ. يُكتب نصه بعد الأمر، مثلاً: !alert انتقل مكان اللقاء إلى المكتبة.",
        },
        "too_long": {
            "en": "The alert is too long: keep each version under {limit} characters.",
            "ar": "التنبيه طويل جداً: يجب ألا تتجاوز كل نسخة {limit} حرفاً.",
        },
        "bad_time": {
            "en": "{value} is not a time I understand. Use +30m, +2h, +1d, HH:MM or "
                  "YYYY-MM-DD HH:MM.",
            "ar": "{value} ليس وقتاً أفهمه. الأشكال المقبولة: +30m أو +2h أو +1d أو HH:MM أو YYYY-MM-DD "
                  "HH:MM.",
        },
        "time_past": {
            "en": "That time has already passed. Choose a time in the future.",
            "ar": "هذا الوقت قد مضى. يلزم وقت في المستقبل.",
        },
        "time_far": {
            "en": "Alerts can be scheduled at most {days} days ahead.",
            "ar": "يمكن جدولة التنبيهات قبل {days} يوماً كحد أقصى.",
        },
        "unknown_tags": {
            "en": "No room carries the tag {tags}. Tags in use: {known}. Nothing was saved.",
            "ar": "لا توجد غرفة تحمل الوسم {tags}. الوسوم المستخدمة: {known}. لم يُحفظ شيء.",
        },
        "no_tags_yet": {
            "en": "no room is tagged yet (room admins use !network tag <tag>)",
            "ar": "لا توجد غرفة موسومة بعد (الوسم بالأمر ‎!network tag <tag>‎)",
        },
        "no_recipients": {
            "en": "This alert would reach no room and no member: the bot is in no matching "
                  "encrypted room and nobody subscribed. Nothing will be sent.",
            "ar": "لن يصل هذا التنبيه إلى أي غرفة أو شخص: البوت ليس في أي غرفة مشفّرة مطابقة ولم يشترك أحد. "
                  "لن يُرسل شيء.",
        },
        "preview_header": {
            "en": "Preview of alert {alert_id} (nothing sent yet):",
            "ar": "معاينة التنبيه {alert_id} (لم يُرسل شيء بعد):",
        },
        "preview_header_urgent": {
            "en": "Preview of URGENT alert {alert_id} (nothing sent yet; it will notify everyone):",
            "ar": "معاينة التنبيه العاجل {alert_id} (لم يُرسل شيء بعد؛ سيُنبّه الجميع):",
        },
        "preview_fallback": {
            "en": "Everyone else reads",
            "ar": "يقرأ الباقون",
        },
        "preview_targets": {
            "en": "Goes to {rooms} rooms and {users} members by direct message.",
            "ar": "عدد الغرف: {rooms}، وعدد الرسائل الخاصة: {users}.",
        },
        "preview_rooms": {
            "en": "Rooms: {rooms}",
            "ar": "الغرف: {rooms}",
        },
        "preview_left_out": {
            "en": "Staff rooms left out (add {staff} to include them): {rooms}",
            "ar": "غرف فرق العمل المستثناة (يمكن إدراجها بإضافة {staff}): {rooms}",
        },
        "preview_tags": {
            "en": "Rooms tagged: {tags}",
            "ar": "الغرف الموسومة بـ: {tags}",
        },
        "skip_not_network": {
            "en": "Skipped {room}: it is not one of the network's rooms.",
            "ar": "تُخطّيت {room}: ليست من غرف الشبكة.",
        },
        "skip_not_joined": {
            "en": "Skipped {room}: the bot is no longer in it.",
            "ar": "تُخطّيت {room}: البوت لم يعد فيها.",
        },
        "skip_unencrypted": {
            "en": "Skipped {room}: it is not encrypted.",
            "ar": "تُخطّيت {room}: ليست مشفّرة.",
        },
        "skip_disabled": {
            "en": "Skipped {room}: its admins turned alerts off there.",
            "ar": "تُخطّيت {room}: أوقفت إدارتها التنبيهات فيها.",
        },
        "preview_scheduled": {
            "en": "It will be sent at {when}.",
            "ar": "سيُرسل في {when}.",
        },
        "preview_confirm": {
            "en": "Send it with {send}, or throw it away with {discard}.",
            "ar": "للإرسال: {send}، وللحذف: {discard}.",
        },
        "no_draft": {
            "en": "You have no alert waiting. Write one first: {prefix}alert <text>",
            "ar": "لا يوجد لديك تنبيه بانتظار الإرسال. يُكتب التنبيه أولاً: {prefix}alert <text>",
        },
        "discarded": {
            "en": "Discarded. Nothing was sent.",
            "ar": "حُذف. لم يُرسل شيء.",
        },
        "sending": {
            "en": "Alert {alert_id} is on its way to {rooms} rooms and {users} members. "
                  "The status message above follows its delivery.",
            "ar": "التنبيه {alert_id} في طريقه إلى الغرف ({rooms}) والرسائل الخاصة ({users}). رسالة الحالة "
                  "أعلاه تتابع وصوله.",
        },
        "scheduled": {
            "en": "Alert {alert_id} will be sent at {when}.",
            "ar": "سيُرسل التنبيه {alert_id} في {when}.",
        },
        # -- the alert itself -----------------------------------------------------
        "alert_header": {
            "en": "📣 Alert from the organizers",
            "ar": "📣 تنبيه من فريق التنظيم",
        },
        "alert_header_urgent": {
            "en": "🚨 URGENT alert from the organizers",
            "ar": "🚨 تنبيه عاجل من فريق التنظيم",
        },
        "alert_footer": {
            "en": "React ✅ or send {ack} to confirm you have read it. (alert {alert_id})",
            "ar": "لتأكيد القراءة: التفاعل بـ ✅ أو إرسال {ack}. (التنبيه {alert_id})",
        },
        "reminder": {
            "en": "Reminder: nobody here has confirmed this alert yet. React ✅ or send {ack}. "
                  "(alert {alert_id})",
            "ar": "تذكير: لم يؤكّد أحد هنا قراءة هذا التنبيه بعد. للتأكيد: التفاعل بـ ✅ أو إرسال {ack}. "
                  "(التنبيه {alert_id})",
        },
        # -- delivery status ------------------------------------------------------
        "status_progress": {
            "en": "Alert {alert_id}: {sent} of {total} delivered, {failed} failed, "
                  "{pending} on the way.",
            "ar": "التنبيه {alert_id}: وصل {sent} من {total}، فشل {failed}، "
                  "و{pending} في الطريق.",
        },
        "status_done": {
            "en": "Delivery finished.",
            "ar": "انتهى الإرسال.",
        },
        "status_edited": {
            "en": "Edited (version {version}).",
            "ar": "عُدّل (النسخة {version}).",
        },
        "status_retracted": {
            "en": "Retracted: removed from every room it reached.",
            "ar": "سُحب: حُذف من كل غرفة وصل إليها.",
        },
        "status_withdrawn": {
            "en": "{count} not sent: stopped by the retraction before they went out.",
            "ar": "لم يُرسَل {count}: أوقفها السحب قبل خروجها.",
        },
        "withdrawn_line": {
            "en": "– {where}: stopped before it was sent",
            "ar": "– {where}: أُوقف قبل إرساله",
        },
        "status_room_sent": {
            "en": "✓ {room}",
            "ar": "✓ {room}",
        },
        "status_dms": {
            "en": "Direct messages: {sent} of {total} delivered, {failed} failed.",
            "ar": "الرسائل الخاصة: وصلت {sent} من {total}، وفشلت {failed}.",
        },
        "status_failures": {
            "en": "Not delivered:",
            "ar": "لم يصل:",
        },
        "failure_line": {
            "en": "✗ {where}: {reason}",
            "ar": "✗ {where}: {reason}",
        },
        "and_more": {
            "en": "… and {count} more.",
            "ar": "… و{count} غيرها.",
        },
        "unknown_alert": {
            "en": "There is no alert {alert_id}. {list} shows the recent ones.",
            "ar": "لا يوجد تنبيه {alert_id}. يعرض {list} آخر التنبيهات.",
        },
        "alert_needs_id": {
            "en": "Which alert? Write its id: {usage} ({list} shows the ids).",
            "ar": "أي تنبيه؟ يلزم معرّفه: {usage} (يعرض {list} المعرّفات).",
        },
        "report_header": {
            "en": "Alert {alert_id} ({state}) by {author}, {when}:",
            "ar": "التنبيه {alert_id} ({state}) من {author}، {when}:",
        },
        "report_room_sent": {
            "en": "✓ {room}: delivered, {acks} acknowledged",
            "ar": "✓ {room}: وصل، والتأكيدات {acks}",
        },
        "report_room_pending": {
            "en": "… {room}: on the way",
            "ar": "… {room}: في الطريق",
        },
        "report_dms": {
            "en": "Direct messages: {sent} of {total} delivered, {failed} failed, "
                  "{acks} acknowledged.",
            "ar": "الرسائل الخاصة: وصلت {sent} من {total}، فشلت {failed}، والتأكيدات {acks}.",
        },
        "report_totals": {
            "en": "Acknowledged by {acks} members, in {acked} of {rooms} rooms.",
            "ar": "التأكيدات: {acks}؛ الغرف التي أكّدت: {acked} من {rooms}.",
        },
        "state_draft": {"en": "draft", "ar": "مسودّة"},
        "state_scheduled": {"en": "scheduled", "ar": "مُجدول"},
        "state_sending": {"en": "sending", "ar": "قيد الإرسال"},
        "state_done": {"en": "delivered", "ar": "أُرسل"},
        "state_cancelled": {"en": "cancelled", "ar": "أُلغي"},
        "list_empty": {"en": "No alerts yet.", "ar": "لا توجد تنبيهات بعد."},
        "list_header": {"en": "Recent alerts:", "ar": "آخر التنبيهات:"},
        "list_line": {
            "en": "• {alert_id} — {state}, {when}, by {author}",
            "ar": "• {alert_id} — {state}، {when}، من {author}",
        },
        # -- lifecycle ------------------------------------------------------------
        "cancel_too_late": {
            "en": "Alert {alert_id} has already gone out; to remove it everywhere use {retract}.",
            "ar": "التنبيه {alert_id} أُرسل بالفعل؛ لحذفه من كل مكان: {retract}",
        },
        "already_cancelled": {
            "en": "Alert {alert_id} was already cancelled.",
            "ar": "التنبيه {alert_id} أُلغي من قبل.",
        },
        "cancelled": {
            "en": "Alert {alert_id} is cancelled; it will not be sent.",
            "ar": "أُلغي التنبيه {alert_id}؛ لن يُرسل.",
        },
        "edit_gone": {
            "en": "Alert {alert_id} was cancelled or retracted; there is nothing to change.",
            "ar": "التنبيه {alert_id} أُلغي أو سُحب؛ لا يوجد ما يُغيَّر.",
        },
        "edited_before_send": {
            "en": "Alert {alert_id} is changed; the new text goes out at the scheduled time.",
            "ar": "عُدّل التنبيه {alert_id}؛ سيُرسل النص الجديد في الموعد المحدد.",
        },
        "edited_everywhere": {
            "en": "Alert {alert_id} edited in {count} places. Messages still on their way "
                  "will be edited when they arrive.",
            "ar": "عُدّل التنبيه {alert_id} في {count} مكاناً. الرسائل التي ما زالت في الطريق "
                  "ستُعدَّل عند وصولها.",
        },
        "retracted_everywhere": {
            "en": "Alert {alert_id} removed from {count} places. Messages still on their way "
                  "will be removed when they arrive.",
            "ar": "حُذف التنبيه {alert_id} من {count} مكاناً. الرسائل التي ما زالت في الطريق "
                  "ستُحذف عند وصولها.",
        },
        "retract_stopped": {
            "en": "{count} deliveries that had not gone out yet were stopped: they will never "
                  "be sent.",
            "ar": "أُوقف {count} من الرسائل التي لم تخرج بعد: لن تُرسَل أبداً.",
        },
        "will_retry": {
            "en": "These will be tried again when the bot restarts; check !alert status.",
            "ar": "ستُعاد محاولتها عند إعادة تشغيل البوت؛ للمتابعة: ‎!alert status‎",
        },
        # -- audit ---------------------------------------------------------------
        "audit_empty": {"en": "The audit log is empty.", "ar": "سجل التدقيق فارغ."},
        "audit_header": {"en": "Audit log (newest first):", "ar": "سجل التدقيق (الأحدث أولاً):"},
        "audit_line": {
            "en": "• {when} — {actor} {action} {alert_id}",
            "ar": "• {when} — {actor}: {action} {alert_id}",
        },
        "action_composed": {"en": "composed", "ar": "كتابة"},
        "action_sent": {"en": "sent", "ar": "إرسال"},
        "action_scheduled": {"en": "scheduled", "ar": "جدولة"},
        "action_delivered": {"en": "started delivery of", "ar": "بدء إرسال"},
        "action_cancelled": {"en": "cancelled", "ar": "إلغاء"},
        "action_edited": {"en": "edited", "ar": "تعديل"},
        "action_retracted": {"en": "retracted", "ar": "سحب"},
        "action_discarded": {"en": "discarded", "ar": "حذف المسودة"},
        # -- acknowledgements -----------------------------------------------------
        "nothing_to_ack": {
            "en": "There is no alert here to acknowledge.",
            "ar": "لا يوجد تنبيه هنا لتأكيد قراءته.",
        },
        "acked": {
            "en": "Thank you, your acknowledgement of alert {alert_id} is recorded.",
            "ar": "شكراً، سُجّل تأكيدك لقراءة التنبيه {alert_id}.",
        },
        "already_acked": {
            "en": "You had already acknowledged alert {alert_id}.",
            "ar": "سبق أن أكّدت قراءة التنبيه {alert_id}.",
        },
        # -- tags ------------------------------------------------------------------
        "network_admins_only": {
            "en": "Only this room's admins and the network's organizers can see or change its tags.",
            "ar": "رؤية وسوم هذه الغرفة أو تغييرها لإدارتها ولفريق تنظيم الشبكة فقط.",
        },
        "tag_organizers_only": {
            "en": "Tags decide which rooms the network's alerts reach, so only the network's "
                  "organizers add them. Ask an organizer to tag this room {tag}.",
            "ar": "الوسوم تحدّد الغرف التي تصلها تنبيهات الشبكة، لذا لا يضيفها إلا فريق تنظيم الشبكة. يمكن "
                  "طلب وسم هذه الغرفة بـ {tag} من فريق التنظيم.",
        },
        "tag_not_network": {
            "en": "This room is not one of the network's rooms, so it cannot be tagged for alerts.",
            "ar": "هذه الغرفة ليست من غرف الشبكة، لذا لا يمكن وسمها للتنبيهات.",
        },
        "tag_other_room_organizers": {
            "en": "Only organizers, in the organizers room, tag another room by its id.",
            "ar": "وسم غرفة أخرى بمعرّفها لفريق التنظيم وحده، من غرفة فريق التنظيم.",
        },
        "tag_missing": {
            "en": "Which tag? For example: {prefix}network tag legal",
            "ar": "أي وسم؟ مثلاً: {prefix}network tag legal",
        },
        "tag_added": {
            "en": "This room is now tagged {tag}.",
            "ar": "أصبحت هذه الغرفة موسومة بـ {tag}.",
        },
        "tag_exists": {
            "en": "This room was already tagged {tag}.",
            "ar": "هذه الغرفة موسومة بـ {tag} من قبل.",
        },
        "tag_removed": {
            "en": "Tag {tag} removed from this room.",
            "ar": "أُزيل الوسم {tag} عن هذه الغرفة.",
        },
        "tag_absent": {
            "en": "This room has no tag {tag}.",
            "ar": "هذه الغرفة لا تحمل الوسم {tag}.",
        },
        "tag_added_there": {
            "en": "{room} is now tagged {tag}.",
            "ar": "أصبحت {room} موسومة بـ {tag}.",
        },
        "tag_exists_there": {
            "en": "{room} was already tagged {tag}.",
            "ar": "{room} موسومة بـ {tag} من قبل.",
        },
        "tag_removed_there": {
            "en": "Tag {tag} removed from {room}.",
            "ar": "أُزيل الوسم {tag} عن {room}.",
        },
        "tag_absent_there": {
            "en": "{room} has no tag {tag}.",
            "ar": "{room} لا تحمل الوسم {tag}.",
        },
        "room_tags": {
            "en": "This room's tags: {tags}",
            "ar": "وسوم هذه الغرفة: {tags}",
        },
        "room_no_tags": {
            "en": "This room has no tags.",
            "ar": "هذه الغرفة بلا وسوم.",
        },
        "all_tags_header": {
            "en": "Tags of the network's rooms:",
            "ar": "وسوم غرف الشبكة:",
        },
        "tag_line": {
            "en": "• {tag} ({count}): {rooms}",
            "ar": "• {tag} ({count}): {rooms}",
        },
        # -- subscriptions ----------------------------------------------------------
        "subscribe_unknown_tag": {
            "en": "No room carries the tag {tag}. `network tags` shows this room's tags; "
                  "the network's organizers know the others.",
            "ar": "لا توجد غرفة تحمل الوسم {tag}. `network tags` يعرض وسوم هذه الغرفة؛ والبقية لدى فريق "
                  "تنظيم الشبكة.",
        },
        "subscribed_all": {
            "en": "You will also get every alert by direct message. Stop with {unsubscribe}.",
            "ar": "ستصلك كل التنبيهات برسالة خاصة أيضاً. للإيقاف: {unsubscribe}.",
        },
        "subscribed_tag": {
            "en": "You will also get alerts for {tag} by direct message. Stop with {unsubscribe}.",
            "ar": "ستصلك تنبيهات {tag} برسالة خاصة أيضاً. للإيقاف: {unsubscribe}.",
        },
        "already_subscribed": {
            "en": "You were already subscribed. Stop with {unsubscribe}.",
            "ar": "الاشتراك مفعّل من قبل. للإيقاف: {unsubscribe}.",
        },
        "unsubscribed": {
            "en": "Done: no more alerts by direct message.",
            "ar": "تم: لن تصلك تنبيهات برسائل خاصة بعد الآن.",
        },
        "not_subscribed": {
            "en": "You were not subscribed to alerts by direct message.",
            "ar": "لا يوجد اشتراك في التنبيهات بالرسائل الخاصة.",
        },
    },
)
