"""What ``/health`` and ``/stats`` answer when they cannot: refused, or failed inside.

Discord shows "The application did not respond" for an interaction left unanswered. The cog's
own commands never leave one so: a member refused by a check is told why, and a command that
failed inside (the database unreachable) says what went wrong, both privately (ephemeral).
"""

from __future__ import annotations

from discord import app_commands

__all__ = ("error_reply",)

_MAX_REASON = 300
"""Characters of an error's own text quoted in a reply (Discord allows 2,000 in a message)."""
_PERMISSION_NAMES = {
    # Discord's own names where discord.py's attribute names differ.
    "manage_guild": "Manage Server",
    "view_guild_insights": "View Server Insights",
    "administrator": "Administrator",
}


def permission_name(permission: str) -> str:
    """A permission attribute (``manage_guild``) as Discord names it (``Manage Server``)."""
    known = _PERMISSION_NAMES.get(permission)
    if known is not None:
        return known
    return permission.replace("_", " ").replace("guild", "server").title()


def _reason(error: BaseException) -> str:
    text = str(error).strip()
    text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def error_reply(command: str, error: app_commands.AppCommandError) -> str:
    """The message for ``/command`` that ended with ``error``.

    Parameters
    ----------
    command:
        The command as the member typed it, without the slash (``"stats weekly"``).
    error:
        What discord.py passed to the error handlers.
    """
    if isinstance(error, app_commands.MissingPermissions):
        names = " and ".join(permission_name(p) for p in error.missing_permissions)
        return f"You need {names} to use /{command}."
    if isinstance(error, app_commands.NoPrivateMessage):
        return f"/{command} only works in a server."
    if isinstance(error, app_commands.CheckFailure):
        return f"You cannot use /{command} here: {error}"
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    return f"/{command} could not answer: {_reason(original)}"
