"""The PostgreSQL store's SQL: the schema of each version (its migrations) and the queries that need more than
a line. Text columns that are compared and ordered use byte order (COLLATE "C"), as SQLite does."""

SCHEMA_1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- byte order (COLLATE "C"), as SQLite compares text: both backends list series and sources alike
CREATE TABLE series (id SERIAL PRIMARY KEY, name TEXT COLLATE "C" NOT NULL UNIQUE, unit TEXT NOT NULL);
CREATE TABLE observations (
    series_id INTEGER NOT NULL,   -- series(id); no foreign key: its check per row would halve the ingest rate
    source TEXT COLLATE "C" NOT NULL,
    ts BIGINT NOT NULL,           -- milliseconds since the Unix epoch, UTC
    value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (series_id, source, ts)
);
CREATE INDEX observations_by_time ON observations (series_id, ts);
CREATE TABLE health (
    source TEXT PRIMARY KEY, kind TEXT NOT NULL, last_success BIGINT, last_error TEXT, last_error_at BIGINT,
    latency_ms DOUBLE PRECISION, failures INTEGER NOT NULL DEFAULT 0, next_attempt BIGINT
);
CREATE TABLE then_verdicts (
    claim_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, status TEXT NOT NULL, value DOUBLE PRECISION,
    deviation_pct DOUBLE PRECISION, explanation TEXT NOT NULL, judged_at BIGINT NOT NULL
);
CREATE TABLE history_coverage (
    job TEXT PRIMARY KEY, first_day TEXT NOT NULL, last_day TEXT NOT NULL, fetched_at BIGINT NOT NULL
);
"""

SCHEMA_2 = """
ALTER TABLE series ADD COLUMN changed_seq BIGINT NOT NULL DEFAULT 0;
INSERT INTO meta VALUES ('commit_seq', '0') ON CONFLICT DO NOTHING;
CREATE TABLE requests (id BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, at BIGINT NOT NULL);
CREATE TABLE collector (
    one INTEGER PRIMARY KEY CHECK (one = 1), pid INTEGER NOT NULL, host TEXT NOT NULL,
    started_at BIGINT NOT NULL, paused BOOLEAN NOT NULL
);
ALTER TABLE health ADD COLUMN state TEXT NOT NULL DEFAULT 'waiting';
ALTER TABLE health ADD COLUMN partial TEXT NOT NULL DEFAULT '[]';
CREATE TABLE disputed (
    series TEXT COLLATE "C" NOT NULL, source TEXT COLLATE "C" NOT NULL, ts BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL, unit TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (series, ts, source)
);
"""

SCHEMA_3 = """
CREATE TABLE alerts (
    id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, kind TEXT NOT NULL, subject TEXT COLLATE "C" NOT NULL,
    before_state TEXT NOT NULL, after_state TEXT NOT NULL, message TEXT NOT NULL, value DOUBLE PRECISION,
    level DOUBLE PRECISION, unit TEXT NOT NULL, delivery TEXT NOT NULL DEFAULT '', acked_at BIGINT
);
CREATE INDEX alerts_by_subject ON alerts (kind, subject, id);
"""

SCHEMA_4 = """
ALTER TABLE then_verdicts ADD COLUMN evidence TEXT NOT NULL DEFAULT '[]';
DELETE FROM then_verdicts;
"""

MIGRATIONS = (SCHEMA_1, SCHEMA_2, SCHEMA_3, SCHEMA_4)

# The sources of a series, walked through the primary key one by one (a loose index scan).
SOURCES = """
WITH RECURSIVE sources(name) AS (
    SELECT MIN(source) FROM observations WHERE series_id = %(id)s
    UNION ALL
    SELECT (SELECT MIN(source) FROM observations WHERE series_id = %(id)s AND source > sources.name)
    FROM sources WHERE sources.name IS NOT NULL
)"""

LAST_PER_SOURCE = SOURCES + """
SELECT sources.name, o.ts, o.value FROM sources CROSS JOIN LATERAL (
    SELECT ts, value FROM observations WHERE series_id = %(id)s AND source = sources.name AND ts <= %(until)s
    ORDER BY ts DESC LIMIT 1) o
WHERE sources.name IS NOT NULL AND o.ts >= %(since)s
"""

DAY_CLOSES = SOURCES + """, closes(source, ts, value) AS (
    SELECT sources.name, o.ts, o.value FROM sources CROSS JOIN LATERAL (
        SELECT ts, value FROM observations WHERE series_id = %(id)s AND source = sources.name AND ts < %(end)s
        ORDER BY ts DESC LIMIT 1) o
    WHERE sources.name IS NOT NULL
    UNION ALL
    SELECT closes.source, o.ts, o.value FROM closes CROSS JOIN LATERAL (
        SELECT ts, value FROM observations WHERE series_id = %(id)s AND source = closes.source
        AND ts < closes.ts / %(day)s * %(day)s ORDER BY ts DESC LIMIT 1) o
)
SELECT ts / %(day)s, value FROM closes
"""


# One statement, one round trip: insert the staged rows, and when any was new, bump commit_seq, mark the series
# appended to and NOTIFY the viewers (delivered at commit). Returns (rows added, the new commit_seq or NULL).
INSERT_INCOMING = """
WITH added AS (INSERT INTO observations SELECT * FROM incoming ON CONFLICT DO NOTHING RETURNING series_id),
bumped AS (UPDATE meta SET value = (value::bigint + 1)::text
           WHERE key = 'commit_seq' AND EXISTS (SELECT 1 FROM added) RETURNING value::bigint AS seq),
marked AS (UPDATE series SET changed_seq = (SELECT seq FROM bumped)
           WHERE id IN (SELECT series_id FROM added) RETURNING id),
told AS (SELECT pg_notify(%(channel)s, seq::text) FROM bumped)
SELECT (SELECT COUNT(*) FROM added), (SELECT seq FROM bumped),
       (SELECT COUNT(*) FROM marked), (SELECT COUNT(*) FROM told)
"""


# Up to %(n)s rows of series %(id)s older than %(cutoff)s, from %(start)s on in time order, that are not the last
# of their (source, UTC day) before the cutoff: deleted, their times returned (the next batch starts at the last).
PRUNE = """
DELETE FROM observations WHERE (series_id, source, ts) IN (
    SELECT o.series_id, o.source, o.ts FROM observations o
    WHERE o.series_id = %(id)s AND o.ts >= %(start)s AND o.ts < %(cutoff)s AND EXISTS (
        SELECT 1 FROM observations n WHERE n.series_id = o.series_id AND n.source = o.source
        AND n.ts > o.ts AND n.ts < %(cutoff)s AND n.ts / %(day)s = o.ts / %(day)s)
    ORDER BY o.ts LIMIT %(n)s)
RETURNING ts
"""
