"""The bot's vitals: what the process observes beyond its own commands.

Each vital is a :class:`~monitoring_cog.collectors.health.HealthSection` added to the health
report by whoever runs it (the cog, or library code): the gateway and its shards, event-loop
stalls, rate limits; and the alerts that must reach someone when the bot cannot. Nothing here is
on a command's path.
"""

from .error_kinds import ErrorKinds
from .events import VitalEvent, VitalEvents
from .stalls import Stall, StallMonitor

__all__ = ("ErrorKinds", "Stall", "StallMonitor", "VitalEvent", "VitalEvents")
