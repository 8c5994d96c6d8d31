"""Staff of the finance team, for the money tests."""

from __future__ import annotations

from petcover.identity import Principal

FINANCE = Principal("ops", "fin-1", ("finance",))
FINANCE_2 = Principal("ops", "fin-2", ("finance",))
