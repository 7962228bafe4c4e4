"""The local backend: the NemoVideo API served on loopback (docs/local-backend.md).

from skill.local.server import LocalBackend

with LocalBackend(faults="1001@credits") as backend:
    backend.base_url           # the API origin
    backend.download_base_url  # the download origin (no token needed)
"""

from skill.local.server.backend import LocalBackend
from skill.local.server.config import ServerConfig
from skill.local.server.director import Director, Edit, Plan, Step
from skill.local.server.faults import ENDPOINTS, FAULT_NAMES, FaultRule, parse_faults

__all__ = [
    "ENDPOINTS",
    "FAULT_NAMES",
    "Director",
    "Edit",
    "FaultRule",
    "LocalBackend",
    "Plan",
    "ServerConfig",
    "Step",
    "parse_faults",
]
