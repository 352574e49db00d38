"""What a SQLite store file is, stated once: for the store, and for `tapecheck status`'s fast path
(tui.core.quickstatus), which imports this module and sqlite3 alone. Plain constants and SQL; no imports."""

APPLICATION_ID = 0x54617043  # "TapC" in the SQLite header
OUR_TABLES = frozenset({"meta", "series", "observations", "health", "then_verdicts", "history_coverage",
                        "requests", "collector", "disputed", "sqlite_sequence", "alerts"})
FULL_CHECK_BYTES = 64 * 1024 * 1024  # stores up to this size are checked page by page at every open
COPY_MARK = "copy_incomplete"  # meta key set while `store copy` fills a store: such a store is refused
BUSY_TIMEOUT_MS = 1000  # how long one try at a write (or a read of a store mid-write) waits inside SQLite
FOREVER_MS = 2**62  # a time after any observation's

# The sources of series :id, walked through the index one by one (SQLite has no skip-scan here), so that the
# queries below cost a few index lookups per source however long the history.
SOURCES = """
WITH RECURSIVE sources(name) AS (
    SELECT MIN(source) FROM observations WHERE series_id = :id
    UNION ALL
    SELECT (SELECT MIN(source) FROM observations WHERE series_id = :id AND source > name)
    FROM sources WHERE name IS NOT NULL
)"""

# Each source's last observation of a series at or before :until and at or after :since.
LAST_PER_SOURCE = SOURCES + """
SELECT o.source, o.ts, o.value FROM sources JOIN observations o
    ON o.series_id = :id AND o.source = sources.name
    AND o.ts = (SELECT MAX(ts) FROM observations WHERE series_id = :id AND source = sources.name AND ts <= :until)
WHERE o.ts >= :since
"""
