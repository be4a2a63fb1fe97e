"""Tables for request settings and s12 cost estimates (alongside casework's requests)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from disclose.store.base import Base, UTCDateTime, now


class RequestSettingsRow(Base):
    """Per-request settings that change how limits apply (e.g. the central-government s12 limit)."""

    __tablename__ = "request_settings"

    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True)
    central_government: Mapped[bool] = mapped_column(Boolean, default=False)
    s12_minutes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # locate/retrieve/extract per item


class CostEstimateRow(Base):
    """An s12 cost estimate as worked out on the day, kept to attach to a refusal notice."""

    __tablename__ = "cost_estimates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    estimate: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
