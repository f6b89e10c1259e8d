"""Value types shared by every layer: service types, outages."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal, get_args

# --------------------------------------------------------------------------------------------
# Value types


class ServiceType(enum.StrEnum):
    """The 95598 service types: the IVR's top menu and the ticket types."""

    FAULT = "fault"  # 故障报修
    OUTAGE_INFO = "outage_info"  # 停电信息
    BILLING = "billing"  # 电量电费
    BUSINESS = "business"  # 业务咨询 / 服务申请
    COMPLAINT = "complaint"  # 投诉
    REPORT = "report"  # 举报
    OPINION = "opinion"  # 意见 / 建议
    PRAISE = "praise"  # 表扬
    EV = "ev"  # 电动汽车
    GENERAL = "general"  # '0' for an agent, or three invalid inputs


#: The largest |priority| an IVR queue target gives a call (HL_PRIORITY): the IVR menu refuses
#: more, the hold session refuses a session that carries more (docs/security.md).
MAX_CALL_PRIORITY = 100


#: An outage is planned (announced work) or unplanned (a fault): the stored record's `kind`.
OutageKind = Literal["planned", "unplanned"]
OUTAGE_KINDS: tuple[str, ...] = get_args(OutageKind)
#: How long an outage with no known end is read out as lasting.
OPEN_ENDED_READOUT_S = 86400.0


@dataclass(frozen=True, slots=True)
class Outage:
    """A planned or unplanned outage (停电信息), as the IVR reads it out to callers. The stored
    record (hotline.store.records.Outage, what the outage API edits) gives this with
    `for_callers()`: the one place the two meet."""

    area_code: str  # what the caller types: an area code (or the area of an account number)
    start: float  # seconds since the epoch
    end: float
    reason: str = ""  # free text, spoken by run-time speech synthesis
    area_name: str = ""
    planned: bool = True


__all__ = [
    "OPEN_ENDED_READOUT_S",
    "OUTAGE_KINDS",
    "Outage",
    "OutageKind",
    "ServiceType",
]
