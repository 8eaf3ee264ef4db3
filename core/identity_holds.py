"""Members held after their cross-signing identity changed.

A new identity is what someone who took over a member's account (new
login, reset keys) looks like, and it is also what a member who lost their
phone looks like. Room keys still go to the new devices (Element shows the
room an "identity changed" warning), but sensitive plugins do not act for
the member (check-ins, contacts, PIN commands) until they confirm it is
them: by verifying the bot again (emoji), or with a command a plugin marks
`while_held` that checks something only the member knows (their safe PIN).
"""

from __future__ import annotations

from core.storage import Database


class IdentityHolds:
    """Read from the database each time: the operator's `solidarity holds release` writes there."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def is_held(self, user_id: str) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM core_identity_holds WHERE user_id = ?", (user_id,))
        return row is not None

    async def held(self) -> list[tuple[str, float]]:
        rows = await self.db.fetchall(
            "SELECT user_id, since FROM core_identity_holds ORDER BY since")
        return [(str(row["user_id"]), float(row["since"])) for row in rows]

    async def hold(self, user_id: str, since: float) -> None:
        await self.db.execute(
            "INSERT INTO core_identity_holds (user_id, since) VALUES (?, ?) "
            "ON CONFLICT(user_id) DO UPDATE SET since = excluded.since", (user_id, since))

    async def release(self, user_id: str) -> bool:
        """End the hold; False when there was none."""
        return await self.db.execute(
            "DELETE FROM core_identity_holds WHERE user_id = ?", (user_id,)) > 0
