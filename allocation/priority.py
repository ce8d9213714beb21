"""What an allocation puts first, volume or the retailers' choice: a company's policy, never a code path to edit."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from allocation.vocabulary import Priority


class AllocationPolicy(BaseModel):
    """The company's allocation policy: the priority its runs use unless a run names another."""

    model_config = ConfigDict(extra="forbid")
    priority: Priority = Field(Priority.VOLUME, description=(
        "volume (default): the most cartons; choice: each order above its cap is cut evenly to it first, then the "
        "leftover cap room is refilled, which gives up some volume (reported as volume_cost) so that capped "
        "retailers keep the scarce specs they asked for"))
