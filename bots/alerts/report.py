"""Texts for organizers: the preview, the live status message, `!alert status`, lists and the audit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from bots.alerts.messages import CATALOG
from bots.alerts.store import DM, DONE, Alert, Delivery
from core.i18n import LANGUAGE_NAMES, Trusted, isolate, join_list

Names = Callable[[str], str | None]
MAX_LINES = 40


def _t(key: str, language: str, **values: Any) -> str:
    return CATALOG.text(key, language, **values)


def _where(delivery: Delivery, names: Names | None) -> str:
    if delivery.kind == DM:
        return delivery.target
    return (names(delivery.target) if names else None) or delivery.target


def when(timestamp: float, zone: str) -> Trusted:
    moment = dt.datetime.fromtimestamp(timestamp, ZoneInfo(zone))
    return Trusted(moment.strftime("%Y-%m-%d %H:%M %Z"))


def status_text(alert: Alert, deliveries: Sequence[Delivery], language: str, *,
                total: int | None = None, names: Names | None = None) -> str:
    """The status message in the organizers room, edited as delivery progresses.

    One line per room (failures first, with the homeserver's reason, so the
    cap on lines never hides one), then the direct messages summed up with
    their failures named.
    """
    sent = sum(1 for d in deliveries if d.state == "sent")
    failed = [d for d in deliveries if d.state == "failed"]
    count = len(deliveries) if total is None else total
    withdrawn = sum(1 for d in deliveries if d.state == "withdrawn")
    lines = [_t("status_progress", language, alert_id=Trusted(alert.id), sent=sent, total=count,
                failed=len(failed), pending=count - sent - len(failed) - withdrawn)]
    if alert.state == DONE:
        lines.append(_t("status_done", language))
    if alert.version > 1 and not alert.retracted:
        lines.append(_t("status_edited", language, version=alert.version))
    if alert.retracted:
        lines.append(_t("status_retracted", language))
    if withdrawn:
        lines.append(_t("status_withdrawn", language, count=withdrawn))
    order = {"failed": 0, "queued": 1, "sent": 2, "withdrawn": 3}
    rooms = sorted((d for d in deliveries if d.kind != DM), key=lambda d: order.get(d.state, 1))
    for delivery in rooms[:MAX_LINES]:
        lines.append(_delivery_line(delivery, language, names))
    if len(rooms) > MAX_LINES:
        lines.append(_t("and_more", language, count=len(rooms) - MAX_LINES))
    dms = [d for d in deliveries if d.kind == DM]
    if dms:
        dm_failed = [d for d in dms if d.state == "failed"]
        lines.append(_t("status_dms", language, sent=sum(1 for d in dms if d.state == "sent"),
                        total=len(dms), failed=len(dm_failed)))
        for delivery in dm_failed[:MAX_LINES]:
            lines.append(_delivery_line(delivery, language, names))
    return "\n".join(lines)


def _delivery_line(delivery: Delivery, language: str, names: Names | None) -> str:
    where = _where(delivery, names)
    if delivery.state == "sent":
        return _t("status_room_sent", language, room=where)
    if delivery.state == "failed":
        return _t("failure_line", language, where=where, reason=delivery.error or "?")
    if delivery.state == "withdrawn":
        return _t("withdrawn_line", language, where=where)
    return _t("report_room_pending", language, room=where)


def room_list(rooms: Sequence[str], language: str, names: Names) -> Trusted:
    """Rooms by their names (each isolated: a name is its admins' text), the id when unnamed.

    An inventory rather than a sentence (it may end in "and N more"): separated only.
    """
    shown = join_list((isolate(names(room) or room) for room in rooms[:MAX_LINES]), language,
                      None)
    if len(rooms) > MAX_LINES:
        shown += " " + _t("and_more", language, count=len(rooms) - MAX_LINES)
    return Trusted(shown)


def preview_text(alert: Alert, language: str, *, rooms: Sequence[str], users: int,
                 skipped: Sequence[tuple[str, str]], left_out: Sequence[str], names: Names,
                 prefix: str, zone: str) -> str:
    """What `!alert` answers: every version as members will read it, where it goes, how to confirm.

    The rooms are named, so a room the organizer did not mean is seen before
    sending; so are the staff rooms an alert leaves out unless asked.
    """
    lines = [_t("preview_header_urgent" if alert.urgent else "preview_header", language,
                alert_id=Trusted(alert.id))]
    versions = alert.versions
    for code, text in versions.texts.items():
        lines += ["", f"[{code}] {LANGUAGE_NAMES.get(code, code)}:", text]
    if not versions.texts or versions.language_of_fallback() is None:
        lines += ["", _t("preview_fallback", language) + ":", versions.fallback]
    lines.append("")
    lines.append(_t("preview_targets", language, rooms=len(rooms), users=users))
    if rooms:
        lines.append(_t("preview_rooms", language, rooms=room_list(rooms, language, names)))
    if left_out:
        lines.append(_t("preview_left_out", language, rooms=room_list(left_out, language, names),
                        staff=Trusted("--staff")))
    if alert.targets.tags:
        # Any of them, not all: "syria or legal" (tags are validated words, compose.TAG).
        tags = join_list(alert.targets.tags, language, "or")
        lines.append(_t("preview_tags", language, tags=Trusted(tags)))
    for room, reason in skipped[:MAX_LINES]:
        lines.append(_t(reason, language, room=names(room) or room))
    if alert.due_at is not None:
        lines.append(_t("preview_scheduled", language, when=when(alert.due_at, zone)))
    lines.append(_t("preview_confirm", language, send=Trusted(f"{prefix}alert send"),
                    discard=Trusted(f"{prefix}alert discard")))
    return "\n".join(lines)


def delivery_report(alert: Alert, deliveries: Sequence[Delivery], acks: dict[str, int],
                    language: str, names: Names, zone: str) -> str:
    """`!alert status <id>`: per-room delivery and acknowledgement counts, DMs summed up."""
    state = _t(f"state_{alert.state}", language)
    lines = [_t("report_header", language, alert_id=Trusted(alert.id), state=Trusted(state),
                author=alert.author, when=when(alert.sent_at or alert.created_at, zone))]
    # What was sent, for the audit trail (the organizer's own words, shortened).
    text = alert.versions.fallback
    lines.append(text if len(text) <= 300 else text[:300] + "…")
    if alert.retracted:
        lines.append(_t("status_retracted", language))
    rooms = [d for d in deliveries if d.kind != DM]
    dms = [d for d in deliveries if d.kind == DM]
    for delivery in rooms[:MAX_LINES]:
        where = _where(delivery, names)
        if delivery.state == "sent":
            lines.append(_t("report_room_sent", language, room=where,
                            acks=acks.get(delivery.target, 0)))
        elif delivery.state == "failed":
            lines.append(_t("failure_line", language, where=where, reason=delivery.error or "?"))
        elif delivery.state == "withdrawn":
            lines.append(_t("withdrawn_line", language, where=where))
        else:
            lines.append(_t("report_room_pending", language, room=where))
    if len(rooms) > MAX_LINES:
        lines.append(_t("and_more", language, count=len(rooms) - MAX_LINES))
    if dms:
        dm_acks = sum(acks.get(d.room_id or "", 0) for d in dms)
        lines.append(_t("report_dms", language,
                        sent=sum(1 for d in dms if d.state == "sent"),
                        failed=sum(1 for d in dms if d.state == "failed"),
                        total=len(dms), acks=dm_acks))
    room_acks = sum(acks.get(d.target, 0) for d in rooms)
    acked_rooms = sum(1 for d in rooms if acks.get(d.target))
    lines.append(_t("report_totals", language, acks=room_acks, acked=acked_rooms,
                    rooms=len(rooms)))
    return "\n".join(lines)


def alert_list(alerts: Sequence[Alert], language: str, zone: str) -> str:
    if not alerts:
        return _t("list_empty", language)
    lines = [_t("list_header", language)]
    for alert in alerts:
        moment = alert.due_at if alert.due_at and not alert.sent_at else (
            alert.sent_at or alert.created_at)
        lines.append(_t("list_line", language, alert_id=Trusted(alert.id),
                        state=Trusted(_t(f"state_{alert.state}", language)),
                        when=when(moment, zone), author=alert.author))
    return "\n".join(lines)


def audit_text(rows: Sequence[Any], language: str, zone: str) -> str:
    if not rows:
        return _t("audit_empty", language)
    lines = [_t("audit_header", language)]
    for row in rows:
        action = _t(f"action_{row['action']}", language)
        lines.append(_t("audit_line", language, when=when(row["at"], zone), actor=row["actor"],
                        action=Trusted(action), alert_id=Trusted(row["alert_id"])))
    return "\n".join(lines)
