"""The vocabulary facts are written in: the types of a fact's fields.

Measures produce facts with these fields; conditions type-check against them. It sits in the
bottom layer so that neither has to reach into the other.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

FieldType = Literal["number", "string", "bool"]
FieldValue = Decimal | str | bool
