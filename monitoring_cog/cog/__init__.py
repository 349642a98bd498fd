"""The discord.py side: the cog that audits every command, checks health and answers commands."""

from __future__ import annotations

from .cog import MonitoringCog, setup

__all__ = ("MonitoringCog", "setup")
