"""The bot's trust services wired to its connection: trust policy and verification.

:class:`TrustServices` builds the :class:`~.trust.TrustPolicy` (who gets the
bot's room keys, who may use sensitive plugins) and the
:class:`~.verification.VerificationManager` (members verifying the bot), hands
them to the dispatcher (core.bot hands them to the connection, with
MatrixConnection.connect_services), and says in the room what members
and admins need to know: the emoji of a verification in a DM, its outcome,
and a member's changed identity (to that room's admins).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from core.i18n import Trusted
from core.messages import CATALOG
from core.outbox import SAFETY
from core.plugin import message_content
from core.roles import Role, role_for_level

from .sas import SasState
from .trust import TrustPolicy
from .verification import Flow, VerificationManager

if TYPE_CHECKING:
    from core.bot import Bot

__all__ = ["TrustServices"]

log = logging.getLogger(__name__)


class TrustServices:
    """Create with :meth:`create` after the identity is set up; :meth:`start` with the sync."""

    def __init__(self, bot: Bot, trust: TrustPolicy, verification: VerificationManager) -> None:
        self.bot = bot
        self.trust = trust
        self.verification = verification
        self.identity_changes = 0

    @classmethod
    async def create(cls, bot: Bot) -> TrustServices:
        connection = bot.connection
        session = connection.cross_signing_session()
        assert session.device_ed25519 is not None
        crypto = bot.config.crypto
        identity = bot.identity
        trust = TrustPolicy(
            mode=crypto.trust,
            session=session,
            db=bot.db,
            clock=bot.clock,
            user_signing_key=identity.user_signing_key if identity is not None else None,
        )
        await trust.setup()
        verification = VerificationManager(
            session=session,
            device_ed25519=session.device_ed25519,
            keys=identity.keys if identity is not None else None,
            transport=connection,
            db=bot.db,
            clock=bot.clock,
            mode=crypto.verification,
            timeout_seconds=crypto.verification_timeout_seconds,
        )
        await verification.setup()
        services = cls(bot, trust, verification)
        trust.on_identity_change = services._identity_changed
        verification.on_sas = services._show_sas
        verification.on_finished = services._verification_finished
        bot.dispatcher.trust = trust
        return services

    def start(self) -> None:
        self.verification.start()

    async def stop(self) -> None:
        await self.verification.stop()

    # -- telling people ---------------------------------------------------

    async def _notice(self, room_id: str, text: str, mentions: list[str], txn_id: str) -> None:
        from core.matrix import SendError

        try:
            await self.bot.connection.send_message(room_id, message_content(text, mentions), txn_id)
        except SendError as exc:
            log.warning("could not post a trust notice in %s: %s", room_id, exc.reason)

    async def _show_sas(self, flow: Flow) -> None:
        """In a DM the emoji are also posted, so the member has something to compare."""
        if flow.room_id is None:
            return
        language = self.bot.runtime.languages.for_reader(flow.user_id, flow.room_id)
        emoji = " ".join(f"{symbol} {name}" for symbol, name in flow.sas.emoji)
        numbers = " ".join(str(n) for n in flow.sas.decimals or ())
        user = Trusted(flow.user_id)
        if self.verification.mode == "operator":
            text = CATALOG.text("verification_sas_operator", language, user=user,
                                emoji=Trusted(emoji), numbers=Trusted(numbers),
                                number=Trusted(str(flow.row_id or "?")))
        else:
            text = CATALOG.text("verification_sas_auto", language, user=user,
                                emoji=Trusted(emoji), numbers=Trusted(numbers))
        await self._notice(flow.room_id, text, [flow.user_id],
                           f"sol-verif-notice-{flow.sas.flow_id}-sas")

    async def _verification_finished(self, flow: Flow) -> None:
        # The member's master key may carry our signature now ("verified" policy).
        self.trust.invalidate([flow.user_id])
        # Only an operator-confirmed verification proves it is the member: with
        # automatic confirmation, whoever holds the account could verify.
        if flow.sas.state is SasState.DONE and self.bot.config.crypto.verification == "operator":
            await self.bot.runtime.holds.release(flow.user_id)
        if flow.room_id is None:
            return
        language = self.bot.runtime.languages.for_reader(flow.user_id, flow.room_id)
        user = Trusted(flow.user_id)
        if flow.sas.state is SasState.DONE:
            text = CATALOG.text("verification_done", language, user=user)
        elif flow.sas.cancel_code:
            text = CATALOG.text("verification_cancelled", language, user=user,
                                code=Trusted(flow.sas.cancel_code),
                                reason=flow.sas.cancel_reason or "")
        else:
            return
        await self._notice(flow.room_id, text, [flow.user_id],
                           f"sol-verif-notice-{flow.sas.flow_id}-end")

    async def _identity_changed(self, user_id: str, old: str, new: str) -> None:
        """Hold the member for sensitive plugins, tell them in their DM, and each room's admins."""
        self.identity_changes += 1
        runtime = self.bot.runtime
        await runtime.holds.hold(user_id, self.bot.clock.now())
        text = CATALOG.text("identity_held_dm", runtime.languages.for_reader(user_id, None))
        await runtime.outbox.enqueue("core", f"identity-hold/{user_id}/{new}",
                                     message_content(text), user_id=user_id, priority=SAFETY)
        connection = self.bot.connection
        roles = self.bot.config.bot.roles
        for room_id in sorted(connection.nio.rooms):
            members = connection.members(room_id)
            # Who changed keys (and when) is nobody's business in an unencrypted room.
            if user_id not in members or not connection.is_encrypted(room_id):
                continue
            admins = [
                member for member in members
                if member not in (user_id, connection.user_id)
                and role_for_level(connection.power_level(room_id, member), roles) is Role.ADMIN
            ]
            language = self.bot.runtime.languages.for_reader(None, room_id)
            text = CATALOG.text("identity_changed", language,
                                admins=Trusted(", ".join(admins) or "admins"),
                                user=Trusted(user_id))
            await self._notice(room_id, text, admins, f"sol-idchange-{room_id}-{user_id}-{new}")
