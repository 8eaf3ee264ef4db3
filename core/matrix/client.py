"""nio's AsyncClient behind the bot's two trust boundaries.

1. Malformed events (core.matrix.wire) are dropped from sync and /messages
   bodies before nio parses them, so no event can stop the sync loop.
2. State comes only from state. nio hands the plaintext of a decrypted
   `m.room.encrypted` event to its room model as if it were state: an
   encrypted payload typed `m.room.power_levels` raised its sender to 100 in
   the bot's view, a fake `m.room.member` shared room keys with outsiders. Any
   member can encrypt any payload, so decrypted payloads of a state type, or
   with a `state_key`, are replaced by `ForgedState` (nio's room model skips
   it, the bot never hands it to a plugin) and counted.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import ClientResponse
from nio import AsyncClient, MegolmEvent
from nio.events import UnknownBadEvent

from core.matrix.wire import clean_messages, clean_sync

log = logging.getLogger(__name__)

# Types whose events define a room (or a network) and so must be real state.
STATE_TYPES = frozenset({
    "m.room.create", "m.room.power_levels", "m.room.member", "m.room.encryption",
    "m.room.join_rules", "m.room.history_visibility", "m.room.guest_access",
    "m.room.name", "m.room.topic", "m.room.avatar", "m.room.canonical_alias",
    "m.room.aliases", "m.room.server_acl", "m.room.tombstone", "m.room.pinned_events",
    "m.room.third_party_invite", "m.space.child", "m.space.parent",
})
POLICY_PREFIXES = ("m.policy.rule.", "m.room.rule.", "org.matrix.mjolnir.rule.")


def state_shaped(payload: dict[str, Any]) -> bool:
    """True for a payload that claims to be room state (a state type, or a state_key)."""
    event_type = payload.get("type")
    if "state_key" in payload:
        return True
    return isinstance(event_type, str) and (
        event_type in STATE_TYPES or event_type.startswith(POLICY_PREFIXES)
    )


class ForgedState(UnknownBadEvent):  # type: ignore[misc]
    """What a decrypted payload shaped as state becomes: nothing, for nio and for plugins."""

    @classmethod
    def replacing(cls, event: MegolmEvent) -> ForgedState:
        return cls({"event_id": event.event_id, "sender": event.sender,
                    "type": "m.room.encrypted"})


class GuardedClient(AsyncClient):  # type: ignore[misc]
    """An AsyncClient that drops malformed events and decrypted payloads shaped as state."""

    malformed_dropped = 0
    forged_state_dropped = 0

    async def parse_body(self, transport_response: ClientResponse) -> dict[Any, Any]:
        body: dict[Any, Any] = await super().parse_body(transport_response)
        if isinstance(body, dict):
            if "next_batch" in body:
                self.malformed_dropped += clean_sync(body)
            elif "chunk" in body:
                self.malformed_dropped += clean_messages(body)
        return body

    def load_store(self) -> None:
        super().load_store()
        olm = self.olm
        if olm is None or getattr(olm, "_guarded", False):
            return
        decrypt = olm.decrypt_megolm_event

        def decrypt_guarded(event: MegolmEvent, room_id: str | None = None) -> Any:
            decrypted = decrypt(event, room_id)
            source = getattr(decrypted, "source", None)
            if isinstance(source, dict) and state_shaped(source):
                self.forged_state_dropped += 1
                log.warning("dropped %s: its encrypted payload claims to be room state",
                            event.event_id)
                return ForgedState.replacing(event)
            return decrypted

        olm.decrypt_megolm_event = decrypt_guarded
        olm._guarded = True
