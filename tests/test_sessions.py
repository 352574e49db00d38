"""The shipped session table (tui/core/data/sessions.json) is what exchange-calendars says."""

from __future__ import annotations

import json

from tests.data.make_sessions import sessions_table
from tui.core.markets import SESSIONS_TABLE


def test_the_shipped_session_table_equals_the_library() -> None:
    shipped = json.loads(SESSIONS_TABLE.read_text(encoding="utf-8"))
    assert shipped == sessions_table(), "run python tests/data/make_sessions.py"
    assert "2026-02-17" in shipped["calendars"]["XSHG"]["holidays"]  # the Spring Festival
    assert "2025-12-25" in shipped["calendars"]["XNYS"]["holidays"]
