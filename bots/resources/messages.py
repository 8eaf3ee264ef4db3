"""Every string the resource directory shows, in English and Arabic side by side."""

from __future__ import annotations

from core.i18n import Catalog

CATALOG = Catalog(
    "resources",
    {
        # -- help --------------------------------------------------------------
        "help_find": {
            "en": "Search the help directory: !find <words> [country:XX] [lang:xx] [category:name] "
            "(answered in a direct message)",
            "ar": "البحث في دليل المساعدة: ‎!find <كلمات> [country:XX] [lang:xx] [category:الاسم] (الرد في "
                  "رسالة مباشرة)",
        },
        "help_more": {"en": "The next results of your last search.", "ar": "النتائج التالية لآخر بحث."},
        "help_resource": {
            "en": "Show an entry (!resource <id>); the network's curators: add, edit, remove, "
            "verify, stale, changes.",
            "ar": "عرض مدخل (‎!resource <رقم>)؛ ولفريق تنسيق الدليل في الشبكة: add وedit وremove "
            "وverify وstale وchanges.",
        },
        "help_resource_show": {
            "en": "Show one entry (answered in your direct messages).",
            "ar": "عرض مدخل واحد (الرد في رسالة مباشرة).",
        },
        "help_resource_add": {
            "en": "Add an entry (key=value…); alone, asks step by step.",
            "ar": "إضافة مدخل (مفتاح=قيمة…)؛ ودونها تُطرح الأسئلة خطوةً خطوة.",
        },
        "help_resource_edit": {
            "en": "Change an entry's fields (key=value…).",
            "ar": "تعديل حقول مدخل (مفتاح=قيمة…).",
        },
        "help_resource_remove": {"en": "Take an entry out of the directory.",
                                 "ar": "إزالة مدخل من الدليل."},
        "help_resource_verify": {"en": "Mark an entry as checked today.",
                                 "ar": "تأكيد أن المدخل رُوجع اليوم."},
        "help_resource_stale": {"en": "Entries not checked for a long time.",
                                "ar": "المدخلات التي لم تُراجَع منذ مدة طويلة."},
        "help_resource_changes": {"en": "The latest changes (of one entry, if given).",
                                  "ar": "آخر التغييرات (لمدخل واحد عند ذكره)."},
        "arg_entry": {"en": "number", "ar": "الرقم"},
        "arg_fields": {"en": "key=value…", "ar": "مفتاح=قيمة…"},
        "help_categories": {"en": "The directory's categories.", "ar": "فئات الدليل."},
        "help_countries": {"en": "Countries that have entries.", "ar": "الدول التي لها مدخلات."},
        "help_suggest": {
            "en": "Suggest an organization to the curators: !suggest <url> [note]",
            "ar": "اقتراح منظمة على فريق تنسيق الدليل: ‎!suggest <رابط> [ملاحظة]",
        },
        # -- searching ---------------------------------------------------------
        "query_empty": {
            "en": "What are you looking for? For example: !find asylum lawyer country:TR",
            "ar": "عمّ نبحث؟ مثلاً: ‎!find محامي لجوء country:TR",
        },
        "query_too_long": {
            "en": "That search is too long (at most {limit} characters). Use a few key words.",
            "ar": "البحث طويل جداً (الحد {limit} حرفاً). تكفي بضع كلمات أساسية.",
        },
        "query_too_many_words": {
            "en": "That search has too many words (at most {limit}). Use a few key words.",
            "ar": "في البحث كلمات كثيرة (الحد {limit}). تكفي بضع كلمات أساسية.",
        },
        "filter_empty": {
            "en": "The filter {name}: needs a value, for example country:TR.",
            "ar": "المرشّح {name}: يحتاج قيمة، مثلاً country:TR.",
        },
        "unknown_country": {
            "en": "I don't know the country {value}. Use a two-letter code like TR, DE or LB, or global.",
            "ar": "لا أعرف الدولة {value}. المقبول رمز من حرفين مثل TR أو DE أو LB، أو global.",
        },
        "unknown_country_hint": {
            "en": "I don't know the country {value}. Did you mean {hint}? (!countries lists them)",
            "ar": "لا أعرف الدولة {value}. هل المقصود {hint}؟ (‎!countries يعرضها)",
        },
        "unknown_category": {
            "en": "I don't know the category {value}. !categories lists them.",
            "ar": "لا أعرف الفئة {value}. ‎!categories يعرضها.",
        },
        "unknown_category_hint": {
            "en": "I don't know the category {value}. Did you mean {hint}? (!categories lists them)",
            "ar": "لا أعرف الفئة {value}. هل المقصود {hint}؟ (‎!categories يعرضها)",
        },
        "unknown_language": {
            "en": "{value} is not a language code. Use one like en or ar.",
            "ar": "{value} ليس رمز لغة. أمثلة: en أو ar.",
        },
        "no_results": {
            "en": "Nothing found. Try other words, fewer filters, or !categories.",
            "ar": "لم أجد شيئاً. يمكن تجربة كلمات أخرى أو مرشّحات أقل أو ‎!categories.",
        },
        "results_header": {
            "en": "Results {first}–{last} of {total}:",
            "ar": "النتائج {first}–{last} من {total}:",
        },
        "results_fuzzy_header": {
            "en": "No exact match; closest results {first}–{last} of {total}:",
            "ar": "لا تطابق تاماً؛ أقرب النتائج {first}–{last} من {total}:",
        },
        "results_more": {
            "en": "Send !more for the next results.",
            "ar": "للنتائج التالية: ‎!more",
        },
        "no_more": {
            "en": "No more results. Start a new search with !find.",
            "ar": "لا مزيد من النتائج. لبحث جديد: ‎!find",
        },
        "entry_line": {
            "en": "#{id} {title} — {url}",
            "ar": "#{id} {title} — {url}",
        },
        "entry_details": {
            "en": "{categories} · {countries} · {languages}",
            "ar": "{categories} · {countries} · {languages}",
        },
        "entry_verified": {
            "en": "verified {date} by {by}",
            "ar": "تم التحقق في {date} بواسطة {by}",
        },
        "entry_stale": {
            "en": "⚠ not verified since {date}: check before relying on it",
            "ar": "⚠ لم يُتحقق منه منذ {date}: يُرجى التأكد قبل الاعتماد عليه",
        },
        "entry_unverified": {
            "en": "⚠ unverified (new or changed since it was last checked): check before relying on it",
            "ar": "⚠ غير مُتحقَّق منه (جديد أو تغيّر منذ آخر تحقق): يُرجى التأكد قبل الاعتماد عليه",
        },
        "entry_draft": {
            "en": "⚠ draft from a suggestion: unverified and not shown in searches until a curator "
            "verifies it",
            "ar": "⚠ مسودة من اقتراح: غير مُتحقَّق منها ولا تظهر في البحث إلى أن يتحقق منها "
            "فريق تنسيق الدليل",
        },
        "entry_awaiting_review": {
            "en": "Entry #{id} is waiting for the curators' review.",
            "ar": "المدخل #{id} بانتظار مراجعة فريق تنسيق الدليل.",
        },
        "entry_contact": {"en": "Contact: {contact}", "ar": "للتواصل: {contact}"},
        "entry_removed": {
            "en": "Entry #{id} was removed from the directory.",
            "ar": "أُزيل المدخل #{id} من الدليل.",
        },
        "entry_unknown": {
            "en": "There is no entry #{id}.",
            "ar": "لا يوجد مدخل #{id}.",
        },
        "entry_id_expected": {
            "en": "{value} is not an entry number. Use !resource 12, or add, edit, remove, verify, "
            "stale, changes.",
            "ar": "{value} ليس رقم مدخل. الصيغة: ‎!resource 12، أو add أو edit أو remove أو verify "
            "أو stale أو changes.",
        },
        "global": {"en": "global", "ar": "عالمي"},
        # -- privacy -----------------------------------------------------------
        "lookup_unencrypted": {
            "en": "I don't answer lookups in a direct message that is not end-to-end encrypted, "
            "so nobody else can read what you look for. Start an encrypted direct message with "
            "me and ask there.",
            "ar": "لا أجيب على عمليات البحث في رسالة مباشرة غير مشفّرة تشفيراً تاماً، حتى لا يقرأ أحد موضوع "
                  "بحثك. يُرجى بدء رسالة مباشرة مشفّرة معي والسؤال هناك.",
        },
        "dm_failed": {
            "en": "I couldn't open a direct message with you. Start one with me and ask there.",
            "ar": "لم أتمكن من فتح رسالة مباشرة معك. يُرجى بدء واحدة معي والسؤال هناك.",
        },
        # -- listings ----------------------------------------------------------
        "categories_header": {
            "en": "Categories (use category:name):",
            "ar": "الفئات (الصيغة category:الاسم):",
        },
        "countries_header": {
            "en": "Countries with entries (use country:XX):",
            "ar": "الدول التي لها مدخلات (الصيغة country:XX):",
        },
        "countries_none": {"en": "The directory is empty.", "ar": "الدليل فارغ."},
        "count_line": {"en": "• {name} ({code}): {count}", "ar": "• {name} ({code}): {count}"},
        "cat_health": {"en": "health", "ar": "صحة"},
        "cat_mental_health": {"en": "mental health", "ar": "صحة نفسية"},
        "cat_legal": {"en": "legal", "ar": "قانوني"},
        "cat_asylum": {"en": "asylum and relocation", "ar": "لجوء وانتقال"},
        "cat_housing": {"en": "housing", "ar": "سكن"},
        "cat_education": {"en": "education", "ar": "تعليم"},
        "cat_community": {"en": "community", "ar": "مجتمع"},
        "cat_emergency": {"en": "emergency", "ar": "طوارئ"},
        # -- curation ----------------------------------------------------------
        "not_curator": {
            "en": "Only the network's curators can do that (room moderators and admins cannot).",
            "ar": "هذا متاح لفريق تنسيق الدليل في الشبكة فقط (لا يكفي الإشراف على غرفة أو إدارتها).",
        },
        "fields_problem": {
            "en": "Nothing was saved:\n{problems}",
            "ar": "لم يُحفظ شيء:\n{problems}",
        },
        "fields_syntax": {
            "en": "Write fields as key=value, quoting values with spaces: title=\"Name\" "
            "url=https://… categories=legal,asylum countries=TR languages=en,ar summary=\"…\". "
            "Known keys: {keys}",
            "ar": "تُكتب الحقول بصيغة مفتاح=قيمة، مع علامات اقتباس للقيم التي فيها مسافات: title=\"الاسم\" "
                  "url=https://… categories=legal,asylum countries=TR languages=en,ar summary=\"…\". "
                  "المفاتيح المعروفة: {keys}",
        },
        "duplicate_url": {
            "en": "Nothing was saved: this URL is already entry #{id}.",
            "ar": "لم يُحفظ شيء: هذا الرابط موجود في المدخل #{id}.",
        },
        "added": {"en": "Added entry #{id}.", "ar": "أُضيف المدخل #{id}."},
        "edited": {"en": "Entry #{id} updated.", "ar": "حُدّث المدخل #{id}."},
        "edited_unverified": {
            "en": "Entry #{id} updated. Its link, contact or text changed, so it is shown as "
            "unverified until a curator checks it: !resource verify {id}",
            "ar": "حُدّث المدخل #{id}. تغيّر رابطه أو وسيلة التواصل أو نصّه، لذا يظهر غير مُتحقَّق منه إلى "
                  "أن يتحقق منه فريق تنسيق الدليل: ‎!resource verify {id}",
        },
        "edit_unchanged": {
            "en": "Entry #{id} already has those values; nothing changed.",
            "ar": "للمدخل #{id} هذه القيم أصلاً؛ لم يتغيّر شيء.",
        },
        "status_by_verify": {
            "en": "Nothing was saved: an entry becomes active only with !resource verify <id>.",
            "ar": "لم يُحفظ شيء: لا يصبح المدخل فعّالاً إلا عبر ‎!resource verify <رقم>.",
        },
        "verify_draft_unnamed": {
            "en": "Draft #{id} is still named after its website. First give the organization's "
            "name and a summary: !resource edit {id} title=\"…\" summary=\"…\"",
            "ar": "المسودة #{id} ما زالت تحمل اسم موقعها. المطلوب أولاً اسم المنظمة ووصف لها: "
            "‎!resource edit {id} title=\"…\" summary=\"…\"",
        },
        "changes_header": {
            "en": "Latest changes to the directory:",
            "ar": "آخر التغييرات في الدليل:",
        },
        "changes_none": {"en": "No changes recorded yet.", "ar": "لا تغييرات مسجّلة بعد."},
        "change_line": {
            "en": "• #{id} {action} {date} by {by}: {fields}",
            "ar": "• #{id} {action} {date} بواسطة {by}: {fields}",
        },
        "action_add": {"en": "added", "ar": "إضافة"},
        "action_draft": {"en": "drafted from a suggestion", "ar": "مسودة من اقتراح"},
        "action_edit": {"en": "edited", "ar": "تعديل"},
        "action_verify": {"en": "verified", "ar": "تحقق"},
        "action_remove": {"en": "removed", "ar": "إزالة"},
        "action_import": {"en": "imported", "ar": "استيراد"},
        "draft": {"en": "draft, never verified", "ar": "مسودة لم يُتحقق منها"},
        "removed": {"en": "Entry #{id} removed.", "ar": "أُزيل المدخل #{id}."},
        "verified": {
            "en": "Entry #{id} marked as verified today.",
            "ar": "عُلّم المدخل #{id} كمُتحقَّق منه اليوم.",
        },
        "stale_header": {
            "en": "Entries not verified for more than {days} days:",
            "ar": "مدخلات لم يُتحقق منها منذ أكثر من {days} يوماً:",
        },
        "stale_none": {
            "en": "Every entry was verified in the last {days} days.",
            "ar": "تم التحقق من كل المدخلات خلال آخر {days} يوماً.",
        },
        "stale_line": {"en": "• #{id} {title} — {date}", "ar": "• #{id} {title} — {date}"},
        "never": {"en": "never verified", "ar": "لم يُتحقق منه"},
        "resource_usage": {
            "en": "Use !resource <id>, or: add key=value…, edit <id> key=value…, remove <id>, "
            "verify <id>, stale, changes [id].",
            "ar": "الصيغة: ‎!resource <رقم>، أو: add مفتاح=قيمة…، edit <رقم> مفتاح=قيمة…، "
            "remove <رقم>، verify <رقم>، stale، changes [رقم].",
        },
        # -- guided add ----------------------------------------------------------
        "guided_start": {
            "en": "Let's add an entry. Answer each question; send \"skip\" for optional ones and "
            "\"cancel\" to stop.",
            "ar": "لنضف مدخلاً. الإجابة عن كل سؤال؛ و\"skip\" للأسئلة الاختيارية و\"cancel\" للإلغاء.",
        },
        "ask_title": {"en": "Name of the organization?", "ar": "اسم المنظمة؟"},
        "ask_url": {"en": "Its website (https://…)?", "ar": "موقعها (https://…)؟"},
        "ask_categories": {
            "en": "Categories, separated by commas ({choices})?",
            "ar": "الفئات، مفصولة بفواصل ({choices})؟",
        },
        "ask_countries": {
            "en": "Countries it serves (codes like TR, DE, or global)?",
            "ar": "الدول التي تخدمها (رموز مثل TR أو DE أو global)؟",
        },
        "ask_languages": {
            "en": "Languages it works in (like en, ar)?",
            "ar": "اللغات التي تعمل بها (مثل en وar)؟",
        },
        "ask_summary": {
            "en": "One or two sentences about what it does (optional)?",
            "ar": "جملة أو جملتان عمّا تقدمه (اختياري)؟",
        },
        "ask_contact": {
            "en": "Contact (phone, e-mail; optional)?",
            "ar": "وسيلة تواصل (هاتف، بريد؛ اختياري)؟",
        },
        "ask_title_ar": {"en": "Name in Arabic (optional)?", "ar": "الاسم بالعربية (اختياري)؟"},
        "ask_summary_ar": {"en": "Summary in Arabic (optional)?", "ar": "الوصف بالعربية (اختياري)؟"},
        "guided_invalid": {
            "en": "That doesn't work: {problem}\nPlease try again.",
            "ar": "هذا غير صالح: {problem}\nيُرجى المحاولة مرة أخرى.",
        },
        "guided_required": {
            "en": "This one is needed; please answer it (or \"cancel\").",
            "ar": "هذا السؤال مطلوب؛ يُرجى الإجابة عنه (أو \"cancel\").",
        },
        "guided_cancelled": {"en": "Cancelled; nothing was saved.", "ar": "أُلغي؛ لم يُحفظ شيء."},
        # -- suggestions -------------------------------------------------------
        "suggest_bad_url": {
            "en": "That link doesn't look right: {problem}. Example: "
                "!suggest https://example.org Legal aid in Izmir",
            "ar": "الرابط لا يبدو صحيحاً: {problem}. مثال: ‎!suggest "
                "https://example.org مساعدة قانونية في إزمير",
        },
        "suggest_no_room": {
            "en": "Suggestions are not set up yet: the network needs a curators room "
                "(network.curators_room in the bot's config).",
            "ar": "الاقتراحات غير مفعّلة بعد: تحتاج الشبكة إلى غرفة لفريق تنسيق الدليل "
                "(network.curators_room في إعدادات البوت).",
        },
        "suggest_known": {
            "en": "Thanks! That site is already in the directory as #{id}.",
            "ar": "شكراً! هذا الموقع موجود في الدليل كمدخل #{id}.",
        },
        "suggest_sent": {
            "en": "Thanks! Your suggestion went to the curators.",
            "ar": "شكراً! وصل اقتراحك إلى فريق تنسيق الدليل.",
        },
        "suggest_post": {
            "en": "Suggestion for the directory: {url}\nNote: {note}\nReact ✅ to save it as an "
            "unverified draft (you then check and verify it), or ❌ to reject it.",
            "ar": "اقتراح للدليل: {url}\nملاحظة: {note}\nالتفاعل بـ ✅ يحفظه كمسودة غير مُتحقَّق "
            "منها (للمراجعة والتحقق لاحقاً)، والتفاعل بـ ❌ يرفضه.",
        },
        "suggest_approved": {
            "en": "Saved as draft #{id}: unverified and not shown in searches. Check the "
                "organization, name it with !resource edit {id} title=\"…\" summary=\"…\", "
                "then !resource verify {id}.",
            "ar": "حُفظ كمسودة #{id}: غير مُتحقَّق منها ولا تظهر في البحث. المطلوب التحقق من "
                "المنظمة، ثم تسميتها عبر ‎!resource edit {id} title=\"…\" summary=\"…\"، "
                "ثم ‎!resource verify {id}.",
        },
        "suggest_rejected": {"en": "Suggestion rejected.", "ar": "رُفض الاقتراح."},
        "suggest_duplicate": {
            "en": "Not added: that URL is already entry #{id}.",
            "ar": "لم يُضف: هذا الرابط موجود في المدخل #{id}.",
        },
    },
)
