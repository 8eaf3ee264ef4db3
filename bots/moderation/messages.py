"""The moderation plugin's messages, English and Arabic side by side."""

from core.i18n import Catalog

CATALOG = Catalog(
    "moderation",
    {
        # -- help --------------------------------------------------------------
        "help_ban": {
            "en": "Ban a member: `ban @user [reason]`; network moderators add --all for every "
                  "protected room (published to our policy list).",
            "ar": "حظر حساب: `ban @user [reason]`؛ ويضيف فريق الإشراف على الشبكة ‎--all‎ لكل الغرف المحمية "
                  "(ويُنشر في قائمة الحظر الخاصة بنا).",
        },
        "help_unban": {"en": "Lift a ban: `unban @user`; --all for every protected room.",
                       "ar": "رفع الحظر: `unban @user`؛ ‎--all‎ لكل الغرف المحمية."},
        "help_kick": {"en": "Remove a member from the room: `kick @user [reason]` (--all too).",
                      "ar": "إخراج حساب من الغرفة: `kick @user [reason]` (و‎--all‎ أيضاً)."},
        "help_mute": {"en": "Stop a member from posting: `mute @user [30m|2h|1d] [reason]` "
                            "(--all too; without a time, until `unmute`).",
                      "ar": "منع حساب من النشر: `mute @user [30m|2h|1d] [السبب]` (و‎--all‎ أيضاً؛ دون مدة "
                            "يبقى المنع حتى `unmute`)."},
        "help_unmute": {"en": "Let a muted member post again: `unmute @user` (--all too).",
                        "ar": "السماح لحساب مكتوم بالنشر مجدداً: `unmute @user` (و‎--all‎ أيضاً)."},
        "help_redact": {
            "en": "Remove a member's recent messages: `redact @user [N | since 1h]` (--all too).",
            "ar": "حذف آخر رسائل حساب: `redact @user [N | since 1h]` (و‎--all‎ أيضاً).",
        },
        "help_warn": {"en": "Warn a member privately by direct message: `warn @user reason`.",
                      "ar": "تنبيه شخص سراً برسالة خاصة: `warn @user reason`."},
        "help_modlog": {"en": "Recent moderation actions, optionally for one member (this "
                              "room's; the whole network's for network moderators).",
                        "ar": "آخر إجراءات الإشراف، ويمكن تحديد حساب واحد (في هذه الغرفة؛ وفي الشبكة كلها "
                              "لفريق الإشراف على الشبكة)."},
        "help_raid": {"en": "Raid mode: `raid on`, `raid off` (reopen the room) or `raid` for status.",
                      "ar": "وضع الهجوم: `raid on` أو `raid off` (إعادة فتح الغرفة) "
                            "أو `raid` لمعرفة الحالة."},
        "help_modroom": {
            "en": "Organizers: make this encrypted room the network moderators' room, for "
                  "reports (`modroom`), or the mod-log room (`modroom log`).",
            "ar": "لفريق التنظيم: جعل هذه الغرفة المشفّرة غرفة فريق الإشراف على الشبكة للبلاغات (`modroom`) "
                  "أو غرفة سجل الإشراف (`modroom log`).",
        },
        "help_policy": {
            "en": "Policy lists: `policy list`; network moderators: `policy subscribe <room>`, "
                  "`policy unsubscribe <room>`, `policy publish <room>` (where our bans go).",
            "ar": "قوائم الحظر: `policy list`؛ ولفريق الإشراف على الشبكة `policy subscribe <room>` و`policy "
                  "unsubscribe <room>` و`policy publish <room>` (حيث تُنشر حظوراتنا).",
        },
        "help_report": {
            "en": "Reply to a message with `report [reason]` to tell the moderators privately.",
            "ar": "الرد على رسالة بـ`report [reason]` لإبلاغ فريق الإشراف بشكل سري.",
        },
        "help_filters": {
            "en": "Word and pattern rules of this room: `filters`, `filters add word <text>`, "
                  "`filters add pattern <regex>`, `filters remove word|pattern <number or text>`.",
            "ar": "قواعد الكلمات والأنماط في هذه الغرفة: `filters` و`filters add word <text>` "
                  "و`filters add pattern <regex>` و`filters remove word|pattern <number or text>`.",
        },
        # Subcommands (`!help policy subscribe`); the group's own help above lists them all.
        "help_policy_list": {"en": "The policy lists followed and where our bans are published.",
                             "ar": "قوائم الحظر المتّبعة والمكان الذي يُنشر فيه حظرنا."},
        "help_policy_subscribe": {
            "en": "Network moderators: follow a policy list room and apply its bans.",
            "ar": "لفريق الإشراف على الشبكة: متابعة غرفة قائمة حظر وتطبيق ما فيها.",
        },
        "help_policy_unsubscribe": {
            "en": "Network moderators: stop following a policy list (its bans are lifted).",
            "ar": "لفريق الإشراف على الشبكة: إيقاف متابعة قائمة حظر (ويُرفع ما طُبّق منها).",
        },
        "help_policy_publish": {
            "en": "Network moderators: publish our bans to this list room.",
            "ar": "لفريق الإشراف على الشبكة: نشر حظرنا في غرفة القائمة هذه.",
        },
        "help_filters_list": {"en": "This room's word and pattern rules, numbered.",
                              "ar": "قواعد الكلمات والأنماط في هذه الغرفة، مرقّمة."},
        "help_filters_add": {"en": "Add a rule: `filters add word <text>` or "
                                   "`filters add pattern <regex>`.",
                             "ar": "إضافة قاعدة: `filters add word <text>` أو "
                                   "`filters add pattern <regex>`."},
        "help_filters_remove": {"en": "Remove a rule by its number or text: "
                                      "`filters remove word|pattern <number or text>`.",
                                "ar": "حذف قاعدة برقمها أو نصّها: "
                                      "`filters remove word|pattern <number or text>`."},
        "help_raid_status": {"en": "Whether raid mode is on in this room.",
                             "ar": "هل وضع الهجوم مفعّل في هذه الغرفة."},
        "help_raid_on": {"en": "Close the room to new joins (invite or knock only).",
                         "ar": "إغلاق الغرفة أمام الانضمام الجديد (بدعوة أو طلب انضمام فقط)."},
        "help_raid_off": {"en": "End raid mode and reopen the room.",
                          "ar": "إنهاء وضع الهجوم وإعادة فتح الغرفة."},
        "expected_target": {
            "en": "a Matrix user id written in full, like @name:example.org (--all before or "
                  "after it for every room)",
            "ar": "معرّف مستخدم في ماتريكس مكتوباً كاملاً مثل ‎@name:example.org‎ (مع ‎--all‎ قبله أو "
                  "بعده لكل الغرف)",
        },
        "rules_usage": {
            "en": "Say what to add or remove, like `filters add word scam` or "
                  "`filters remove pattern 2`.",
            "ar": "يُرجى تحديد ما يُضاف أو يُحذف، مثل `filters add word scam` أو `filters remove pattern 2`.",
        },
        "rules_empty": {"en": "This room has no word or pattern rules.",
                        "ar": "لا توجد قواعد كلمات أو أنماط في هذه الغرفة."},
        "rules_header": {"en": "{words} word(s) and {patterns} pattern(s):",
                         "ar": "{words} كلمة و{patterns} نمط:"},
        "rule_added": {"en": "Added; this room now has {count} {kind} rule(s).",
                       "ar": "أُضيفت؛ في هذه الغرفة الآن {count} قاعدة من نوع {kind}."},
        "rule_removed": {"en": "Removed; this room now has {count} {kind} rule(s).",
                         "ar": "حُذفت؛ في هذه الغرفة الآن {count} قاعدة من نوع {kind}."},
        "rule_exists": {"en": "That rule is already there.", "ar": "هذه القاعدة موجودة أصلاً."},
        "rule_missing": {"en": "There is no such rule; `filters` lists them with their numbers.",
                         "ar": "لا توجد قاعدة كهذه؛ `filters` يعرضها مع أرقامها."},
        "word_too_long": {"en": "A word or phrase may have at most {most} characters.",
                          "ar": "يجب ألا تتجاوز الكلمة أو العبارة {most} حرفاً."},
        "nothing_changed": {"en": "Nothing was changed.", "ar": "لم يتغيّر شيء."},
        # -- argument problems --------------------------------------------------
        "bad_user": {
            "en": "{user} is not a Matrix user id. Write it in full, like @name:example.org.",
            "ar": "{user} ليس معرّف مستخدم في ماتريكس. يُكتب كاملاً مثل ‎@name:example.org‎.",
        },
        "bad_room": {
            "en": "{room} is not a room id or alias. Write it like !abc:example.org or "
                  "#list:example.org.",
            "ar": "{room} ليس معرّف غرفة أو اسماً مستعاراً لها. يُكتب مثل ‎!abc:example.org‎ أو "
                  "‎#list:example.org‎.",
        },
        "bad_duration": {
            "en": "{value} is not a duration. Use for example 30m, 2h or 1d.",
            "ar": "{value} ليست مدة صالحة. أمثلة: 30m أو 2h أو 1d.",
        },
        "redact_usage": {
            "en": "Say how many messages (1 to {most}) or since when, like `since 1h`.",
            "ar": "يُرجى تحديد عدد الرسائل (من 1 إلى {most}) أو منذ متى، مثل `since 1h`.",
        },
        "warn_needs_reason": {"en": "A warning needs a reason: `warn @user reason`.",
                              "ar": "يحتاج التنبيه إلى سبب: `warn @user reason`."},
        "no_protected_rooms": {
            "en": "There are no protected rooms yet: turn moderation on with "
                  "`enable moderation` in the network's rooms.",
            "ar": "لا توجد غرف محمية بعد: لتفعيل الإشراف، `enable moderation` في غرف الشبكة.",
        },
        "all_needs_network_moderator": {
            "en": "Only the network's moderators act in every room ({flag}); nothing was done. "
                  "Without {flag} you act in this room only.",
            "ar": "الإجراء في كل الغرف ({flag}) لفريق الإشراف على الشبكة فقط؛ لم يُنفَّذ شيء. ودون {flag} "
                  "يقتصر الإجراء على هذه الغرفة.",
        },
        "policy_needs_network_moderator": {
            "en": "Only the network's moderators change the policy lists (`policy {what}`); "
                  "nothing was changed.",
            "ar": "تعديل قوائم الحظر (`policy {what}`) لفريق الإشراف على الشبكة فقط؛ "
                  "لم يتغيّر شيء.",
        },
        # -- refusals -------------------------------------------------------------
        "target_is_bot": {"en": "I won't act against myself.", "ar": "لن أتخذ إجراءً ضد نفسي."},
        "target_is_self": {"en": "You can't do that to yourself.", "ar": "لا يمكنك فعل ذلك بنفسك."},
        "actor_not_moderator": {
            "en": "You are not a moderator there. To act in every room, use --all from the "
                  "management room or ask an organizer.",
            "ar": "ليست لديك صلاحية الإشراف هناك. للإجراء في كل الغرف: ‎--all‎ من غرفة الإشراف، أو طلب ذلك "
                  "من فريق التنظيم.",
        },
        "target_too_powerful": {
            "en": "Refused: that member's power level ({level}) is equal to or above yours.",
            "ar": "مرفوض: مستوى صلاحية هذا الحساب ({level}) يساوي مستواك أو يفوقه.",
        },
        "target_above_bot": {
            "en": "I can't: that member's power level ({level}) is equal to or above mine.",
            "ar": "لا أستطيع: مستوى صلاحية هذا الحساب ({level}) يساوي مستواي أو يفوقه.",
        },
        "bot_lacks_power": {
            "en": "I don't have the power for this here: I need power level {needed} and have "
                  "{have}. A room admin can raise mine.",
            "ar": "لا أملك الصلاحية لهذا هنا: أحتاج مستوى {needed} ولديّ {have}. يمكن لإدارة الغرفة رفع "
                  "مستواي.",
        },
        "homeserver_forbidden": {
            "en": "The homeserver refused: I lack the power for this in that room.",
            "ar": "رفض الخادم: لا أملك الصلاحية لهذا في تلك الغرفة.",
        },
        "homeserver_failed": {
            "en": "The homeserver did not accept it; try again in a moment.",
            "ar": "لم يقبل الخادم الطلب؛ يُرجى المحاولة مجدداً بعد قليل.",
        },
        "room_problem": {"en": "• {room}: {problem}", "ar": "• {room}: {problem}"},
        # -- results ----------------------------------------------------------------
        "done_ban": {"en": "Banned {user} in {rooms} room(s).", "ar": "تمّ حظر {user} (عدد الغرف: {rooms})."},
        "done_unban": {"en": "Lifted the ban on {user} in {rooms} room(s).",
                       "ar": "رُفع الحظر عن {user} (عدد الغرف: {rooms})."},
        "done_kick": {"en": "Removed {user} from {rooms} room(s).",
                      "ar": "تمّ إخراج {user} (عدد الغرف: {rooms})."},
        "done_mute": {"en": "Muted {user} in {rooms} room(s).", "ar": "تمّ كتم {user} (عدد الغرف: {rooms})."},
        "mute_ends": {"en": "The mute ends by itself at {when}.",
                      "ar": "ينتهي الكتم تلقائياً في {when}."},
        "done_unmute": {"en": "{user} can post again in {rooms} room(s).",
                        "ar": "يمكن لـ{user} النشر مجدداً (عدد الغرف: {rooms})."},
        "done_redact": {"en": "Removed {count} message(s) of {user} in {rooms} room(s).",
                        "ar": "حُذفت رسائل {user}: {count} (عدد الغرف: {rooms})."},
        "done_warn": {"en": "Warned {user} by direct message.", "ar": "تمّ تنبيه {user} برسالة خاصة."},
        "warning_dm": {
            "en": "A warning from the moderators of {room}: {reason}\n"
                  "Please keep to the room's rules; repeated problems lead to a mute or a ban.",
            "ar": "تنبيه من فريق الإشراف في {room}: {reason}\n"
                  "يُرجى الالتزام بقواعد الغرفة؛ تكرار المشكلة يؤدي إلى الكتم أو الحظر.",
        },
        # -- mod log ------------------------------------------------------------------
        "modlog_empty": {"en": "The mod log is empty.", "ar": "سجل الإشراف فارغ."},
        "modlog_header": {"en": "Last {count} moderation actions:",
                          "ar": "آخر {count} من إجراءات الإشراف:"},
        "modlog_line": {
            "en": "• {when} {action} {target} by {actor} in {room}: {reason} ({trigger})",
            "ar": "• {when} {action} {target} بواسطة {actor} في {room}: {reason} ({trigger})",
        },
        "log_mute_ended": {
            "en": "The timed mute of {user} in {room} ended; they can post again.",
            "ar": "انتهى الكتم المؤقت لـ{user} في {room}؛ صار النشر ممكناً مجدداً.",
        },
        "unmute_gave_up": {
            "en": "The timed mute of {user} in {room} could not be lifted ({attempts} tries, the "
                  "homeserver kept failing); they are still muted: `unmute {user}` there.",
            "ar": "تعذّر رفع الكتم المؤقت عن {user} في {room} (بعد {attempts} محاولات، إذ ظل الخادم يفشل)؛ "
                  "ما زال الكتم سارياً: `unmute {user}` هناك.",
        },
        "network_rooms_only": {
            "en": "You moderate the network, not this room: here you act only in the "
                  "network's rooms. Nothing was done.",
            "ar": "صلاحية إشرافك على الشبكة لا على هذه الغرفة: الإجراء من هنا يشمل غرف الشبكة فقط. لم "
                  "يُنفَّذ شيء.",
        },
        "log_command": {
            "en": "{actor} used {action} on {user} in {count} room(s). Reason: {reason}",
            "ar": "{actor}: الإجراء {action} على {user} (عدد الغرف: {count}). السبب: {reason}",
        },
        "log_protection": {
            "en": "Protection {protection} ({detail}) caught {user} in {room}; done: {actions}.",
            "ar": "رصدت الحماية {protection} ({detail}) الحساب {user} في {room}؛ نُفّذ: {actions}.",
        },
        "protection_failed": {
            "en": "In {room} I could not {action}: {problem}",
            "ar": "في {room} لم أتمكن من تنفيذ {action}: {problem}",
        },
        "log_policy_ban": {
            "en": "Banned {user} in {room}: policy rule {entity} ({reason}).",
            "ar": "تمّ حظر {user} في {room}: قاعدة الحظر {entity} ({reason}).",
        },
        "log_policy_unban": {
            "en": "Lifted the ban on {user} in {room}: policy rule {entity} was removed.",
            "ar": "رُفع الحظر عن {user} في {room}: أُزيلت قاعدة الحظر {entity}.",
        },
        # -- raids -----------------------------------------------------------------------
        "raid_started": {
            "en": "Raid in {room}: {joins} joins within {seconds} seconds. The room is now "
                  "{mode}-only. Send `raid off` there to reopen it.",
            "ar": "هجوم في {room}: {joins} انضماماً خلال {seconds} ثانية. أصبحت الغرفة بنظام {mode} فقط. "
                  "لإعادة فتحها: `raid off` هناك.",
        },
        "raid_not_started": {
            "en": "Raid in {room}: {joins} joins within {seconds} seconds, but I could not close "
                  "the room: {problem}",
            "ar": "هجوم في {room}: {joins} انضماماً خلال {seconds} ثانية، لكنني لم أتمكن من إغلاق "
                  "الغرفة: {problem}",
        },
        "raid_room_notice": {
            "en": "Many people joined at once, so this room is now {mode}-only for a while. "
                  "The moderators have been told.",
            "ar": "انضمّ عدد كبير من الحسابات دفعة واحدة، لذا أصبحت هذه الغرفة بنظام {mode} فقط لبعض الوقت. "
                  "أُبلغ فريق الإشراف.",
        },
        "raid_started_by_hand": {"en": "Raid mode is on: the room is {mode}-only now.",
                                 "ar": "وضع الهجوم مفعّل: الغرفة الآن بنظام {mode} فقط."},
        "raid_ended": {"en": "Raid mode is off: the room's join rule is back to what it was.",
                       "ar": "أُوقف وضع الهجوم: عادت قاعدة الانضمام كما كانت."},
        "raid_on_status": {"en": "Raid mode is on here. `raid off` reopens the room.",
                           "ar": "وضع الهجوم مفعّل هنا. `raid off` يعيد فتح الغرفة."},
        "raid_already_on": {"en": "Raid mode is already on here.", "ar": "وضع الهجوم مفعّل هنا أصلاً."},
        "no_raid": {"en": "Raid mode is not on here.", "ar": "وضع الهجوم غير مفعّل هنا."},
        "raid_already_closed": {"en": "The room is already closed to new joins.",
                                "ar": "الغرفة مغلقة أمام الانضمام الجديد أصلاً."},
        # -- moderators' rooms -------------------------------------------------------
        "modroom_unencrypted": {
            "en": "Reports and the mod log only go to encrypted rooms; turn on encryption here first.",
            "ar": "البلاغات وسجل الإشراف تُرسل إلى غرف مشفّرة فقط؛ يلزم تفعيل التشفير هنا أولاً.",
        },
        "modroom_set": {
            "en": "Reports will arrive in this room, the network moderators' room: its members "
                  "at power level {level} or more are now the network's moderators.",
            "ar": "ستصل البلاغات إلى هذه الغرفة، غرفة فريق الإشراف على الشبكة: من فيها بمستوى صلاحية "
                  "{level} أو أكثر صار الآن ضمن فريق الإشراف على الشبكة.",
        },
        "modlog_room_set": {"en": "The mod log will be posted in this room.",
                            "ar": "سيُنشر سجل الإشراف في هذه الغرفة."},
        # -- policy lists ---------------------------------------------------------------
        "list_unreadable": {
            "en": "I can't read the list room {room} ({why}). Invite me there, or check the "
                  "address. Nothing was changed.",
            "ar": "لا أستطيع قراءة غرفة القائمة {room} ({why}). يلزم دعوتي إليها أو التحقق من العنوان. لم "
                  "يتغيّر شيء.",
        },
        "list_followed": {
            "en": "Following {room}: {rules} rule(s) read, {ignored} ignored (not bans or "
                  "malformed); {banned} ban(s) applied.",
            "ar": "أتابع {room}: قُرئت {rules} قاعدة، وتُجوهلت {ignored} (ليست حظراً أو غير سليمة)؛ "
                  "نُفّذ {banned} حظر.",
        },
        "list_unfollowed": {
            "en": "No longer following {room}: {removed} rule(s) dropped, {unbanned} ban(s) lifted.",
            "ar": "لم أعد أتابع {room}: أُسقطت {removed} قاعدة ورُفع {unbanned} حظر.",
        },
        "acl_failed": {
            "en": "I could not apply the server bans of our policy lists in {room}: {problem}",
            "ar": "لم أتمكن من تطبيق حظر الخوادم من قوائم الحظر في {room}: {problem}",
        },
        "list_not_followed": {"en": "I am not following {room}.", "ar": "لا أتابع {room}."},
        "own_list_set": {
            "en": "Our bans will be published to {room} as m.policy.rule.user events.",
            "ar": "ستُنشر حظوراتنا في {room} كأحداث m.policy.rule.user.",
        },
        "published": {"en": "Published to our policy list {room}.",
                      "ar": "نُشر في قائمة الحظر الخاصة بنا {room}."},
        "unpublished": {"en": "Removed from our policy list {room}.",
                        "ar": "أُزيل من قائمة الحظر الخاصة بنا {room}."},
        "publish_failed": {
            "en": "Done here, but updating our policy list failed ({why}).",
            "ar": "نُفّذ هنا، لكن تحديث قائمة الحظر الخاصة بنا فشل ({why}).",
        },
        "policy_header": {"en": "Policy lists followed ({rules} ban rules in all):",
                          "ar": "قوائم الحظر المتابَعة ({rules} قاعدة حظر إجمالاً):"},
        "policy_line": {"en": "• {room}: {rules} rule(s)", "ar": "• {room}: {rules} قاعدة"},
        "own_list_line": {"en": "Our bans are published to {room}.", "ar": "تُنشر حظوراتنا في {room}."},
        "own_list_none": {
            "en": "Our bans are not published anywhere (`policy publish <room>`).",
            "ar": "لا تُنشر حظوراتنا في أي مكان (`policy publish <room>`).",
        },
        # -- reports -----------------------------------------------------------------------
        "report_how": {
            "en": "To report a message, reply to it with `report` and an optional reason, or "
                  "react to it with the report emoji. Nobody in the room is told.",
            "ar": "للإبلاغ عن رسالة يكفي الرد عليها بـ`report` مع ذكر السبب اختيارياً، أو التفاعل "
                  "معها برمز البلاغ. لا يُخبَر أحد في الغرفة بذلك.",
        },
        "reports_not_network": {
            "en": "This room is not part of the network, so reports go to its own moderators; "
                  "please contact one of them directly.",
            "ar": "هذه الغرفة ليست جزءاً من الشبكة، فالبلاغات فيها لفريق إشرافها؛ يُرجى التواصل معه مباشرة.",
        },
        "reports_no_room": {
            "en": "The moderators have no private room for reports yet; please contact a "
                  "moderator directly.",
            "ar": "لا توجد بعد غرفة خاصة بفريق الإشراف للبلاغات؛ يُرجى التواصل مع فريق الإشراف مباشرة.",
        },
        "reports_room_unencrypted": {
            "en": "The moderators' room is not encrypted, so I did not send your report there; "
                  "please contact a moderator directly.",
            "ar": "غرفة فريق الإشراف غير مشفّرة، لذا لم يُرسَل بلاغك إليها؛ يُرجى التواصل مع فريق الإشراف "
                  "مباشرة.",
        },
        "report_unknown_event": {
            "en": "I can't find or read the message you reported, so nobody was told; please "
                  "contact a moderator directly.",
            "ar": "لا أستطيع العثور على الرسالة المُبلَّغ عنها أو قراءتها، فلم يُخبَر أحد؛ يُرجى التواصل مع "
                  "فريق الإشراف مباشرة.",
        },
        "report_sent_to_room_moderators": {
            "en": "Thank you: the network has no moderators' room, so your report went privately, "
                  "by direct message, to {count} moderator(s) of that room. Nobody in the room "
                  "was told.",
            "ar": "شكراً لك: لا توجد غرفة إشراف للشبكة، لذا أُرسل البلاغ سراً برسالة خاصة إلى فريق الإشراف "
                  "في تلك الغرفة ({count}). لم يُخبَر أحد في الغرفة.",
        },
        "report_no_moderator": {
            "en": "Your report reached nobody: there is no moderators' room, and that room has "
                  "no moderator I could tell. Nobody in the room was told; please contact an "
                  "organizer directly.",
            "ar": "لم يصل البلاغ إلى أحد: لا توجد غرفة إشراف، ولا يوجد في تلك الغرفة من يمكن إبلاغه من فريق "
                  "الإشراف. لم يُخبَر أحد في الغرفة؛ يُرجى التواصل مع فريق التنظيم مباشرة.",
        },
        "report_not_removed": {
            "en": "I could not remove your report from the room (I lack the power there); "
                  "you may delete it yourself.",
            "ar": "لم أتمكّن من حذف البلاغ من الغرفة (لا أملك الصلاحية فيها)؛ يمكن حذفه يدوياً.",
        },
        "report_dm": {
            "en": "Report from {reporter} about {target} in {room}, sent to you as a moderator "
                  "of that room (the network has no moderators' room):\n> {excerpt}\n"
                  "Reason: {reason}\n{link}\nAct in the room itself (ban, kick, mute, redact).",
            "ar": "بلاغ من {reporter} بشأن {target} في {room}، أُرسل إليك بصفة الإشراف على تلك الغرفة (لا "
                  "توجد غرفة إشراف للشبكة):\n"
                  "> {excerpt}\n"
                  "السبب: {reason}\n"
                  "{link}\n"
                  "يكون التصرّف في الغرفة نفسها (ban وkick وmute وredact).",
        },
        "report_no_text": {"en": "(not a text message)", "ar": "(ليست رسالة نصية)"},
        "report_anonymous": {"en": "a member (anonymous)", "ar": "شخص من الغرفة (دون ذكر الهوية)"},
        "report_posted": {
            "en": "Report from {reporter} about {target} in {room}:\n> {excerpt}\nReason: {reason}\n"
                  "{link}\nReact to act: {how}",
            "ar": "بلاغ من {reporter} بشأن {target} في {room}:\n"
                  "> {excerpt}\n"
                  "السبب: {reason}\n"
                  "{link}\n"
                  "للتنفيذ بالتفاعل: {how}",
        },
        "report_thanks": {
            "en": "Thank you: your report reached the moderators privately.",
            "ar": "شكراً لك: وصل بلاغك إلى فريق الإشراف بشكل سري.",
        },
        "report_dismissed": {"en": "{moderator} dismissed this report.",
                             "ar": "أُغلق هذا البلاغ دون إجراء ({moderator})."},
        "report_acted": {"en": "{moderator}: {action} on {target} done.",
                         "ar": "{moderator}: نُفّذ {action} على {target}."},
        "report_action_refused": {"en": "{action} not done: {problem}",
                                  "ar": "لم يُنفّذ {action}: {problem}"},
        "rules_unfinished": {
            "en": "Pattern rules of {room} ran out of time on a message ({link}): {patterns} "
                  "did not finish and counted as no match. Simpler patterns (`filters`) avoid "
                  "this; this is said at most once an hour per room.",
            "ar": "نفد وقت قواعد الأنماط في {room} مع رسالة ({link}): لم تكتمل {patterns} "
                  "فاعتُبرت غير مطابقة. الأنماط الأبسط (`filters`) تتجنّب ذلك؛ ويُذكر هذا مرة "
                  "واحدة في الساعة على الأكثر لكل غرفة.",
        },
        # -- settings validation (shown by !config in both languages) -------------------
        "pattern_empty": {"en": "an empty pattern {pattern} matches everything",
                          "ar": "النمط الفارغ {pattern} يطابق كل شيء"},
        "pattern_too_long": {"en": "pattern {pattern} is longer than 500 characters",
                             "ar": "النمط {pattern} أطول من 500 حرف"},
        "pattern_invalid": {"en": "{pattern} is not a valid regular expression",
                            "ar": "{pattern} ليس تعبيراً نمطياً صالحاً"},
        "pattern_slow": {
            "en": "{pattern} can take very long on some messages (nested repetition like (a+)+); "
                  "rewrite it without repeating a repeated group",
            "ar": "قد يستغرق {pattern} وقتاً طويلاً جداً مع بعض الرسائل (تكرار متداخل مثل (a+)+)؛ يُرجى "
                  "إعادة كتابته دون تكرار مجموعة مكرّرة",
        },
        "pattern_slow_backreference": {
            "en": "{pattern} refers back to a group of any length (like (b+)\\1*), which can take "
                  "very long on some messages; refer back only to a group of fixed length, "
                  "like (\\w)\\1\\1",
            "ar": "يشير {pattern} إلى مجموعة سابقة غير محدودة الطول (مثل (b+)\\1*)، وقد يستغرق "
                  "ذلك وقتاً طويلاً جداً مع بعض الرسائل؛ يمكن الإشارة فقط إلى مجموعة ثابتة الطول "
                  "مثل (\\w)\\1\\1",
        },
        "too_many_patterns": {
            "en": "at most {most} patterns per room ({count} given)",
            "ar": "{most} نمط على الأكثر في كل غرفة (المُعطى {count})",
        },
        "too_many_words": {"en": "at most 5000 words", "ar": "5000 كلمة على الأكثر"},
        "escalation_empty": {"en": "give at least one step, like redact+warn",
                             "ar": "يلزم تحديد خطوة واحدة على الأقل، مثل redact+warn"},
        "escalation_unknown": {
            "en": "{step}: each step joins warn, redact, mute, kick or ban with +",
            "ar": "{step}: كل خطوة تجمع warn أو redact أو mute أو kick أو ban بعلامة +",
        },
    },
)
