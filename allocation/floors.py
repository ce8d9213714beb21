"""The rule of 总量浮动管理 every input must keep: a name meaning a floor, a minimum or a per-spec quantity is refused.

Apart from the cap policy's model, so the engine's file check needs no pydantic (the command starts faster).
"""

from __future__ import annotations

import re
from typing import Any

FLOOR_LIKE = re.compile(
    r"floor|minimum|lower_(limit|bound)|min_(quantity|qty|cap|order|volume|total|purchase|share)"
    r"|brand|spec|sku|quota"
)
RULE = (
    "refused by 总量浮动管理 (total-quantity floating management): a retailer's total may only get an "
    "upper limit; no floor, minimum purchase or per-spec quantity"
)


def floor_like(name: str) -> bool:
    """Tells whether a field or column name means a floor, minimum or per-spec quantity: all forbidden."""
    return bool(FLOOR_LIKE.search(str(name).lower()))


def floor_like_field(value: Any, where: str = "") -> tuple[str, str] | None:
    """The first floor-like field of a raw body, depth first, as (path of its parent with a dot, name); else None."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if floor_like(key):
                return where, key
            found = floor_like_field(inner, f"{where}{key}.")
            if found:
                return found
    return None
