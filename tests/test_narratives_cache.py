"""The parsed narratives kept in the user cache dir: used while every file keeps its size and mtime, read again
when one changes, and a cache that is corrupt or someone else's is ignored and written anew."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from tui.core.narratives.cache import CACHE_FILE, FORMAT, cache_key, cached_narratives, default_cache_dir, read_cache
from tui.core.narratives.claims import NARRATIVES_DIR, load_narratives

ARTICLE = '[article]\nid = "desk-note"\noutlet = "My desk"\ntitle = "A note"\npublished = 2026-01-20\n\n'


def claim(claim_id: str, summary: str) -> str:
    return (f'[[claims]]\nid = "{claim_id}"\ntheme = "btc_macro"\nas_of = 2026-01-20\nkind = "context"\n'
            f'summary = "{summary}"\n')


def user_ids(narratives_dir: Path, cache_dir: Path) -> set[str]:
    return {c.id for c in cached_narratives(user_dirs=(narratives_dir,), cache_dir=cache_dir).claims if c.user}


def setup(tmp_path: Path, text: str) -> tuple[Path, Path, Path]:
    mine, cache = tmp_path / "narratives", tmp_path / "cache"
    mine.mkdir()
    path = mine / "note.toml"
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    return mine, cache, path


def test_the_cache_is_used_while_size_and_mtime_stay(tmp_path: Path) -> None:
    mine, cache, path = setup(tmp_path, ARTICLE + claim("desk-one", "One."))
    assert user_ids(mine, cache) == {"desk-one"}
    assert (cache / CACHE_FILE).is_file()
    stat = path.stat()
    path.write_text(ARTICLE + claim("desk-two", "Two."), encoding="utf-8")  # same size, mtime put back
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    assert user_ids(mine, cache) == {"desk-one"}  # from the cache: the file was not read
    assert cached_narratives(cache_dir=cache) == load_narratives()  # the shipped ones alone: their own key


def test_a_changed_size_or_mtime_reads_the_files_again(tmp_path: Path) -> None:
    mine, cache, path = setup(tmp_path, ARTICLE + claim("desk-one", "One."))
    assert user_ids(mine, cache) == {"desk-one"}
    stat = path.stat()
    path.write_text(ARTICLE + claim("desk-twenty", "Twenty."), encoding="utf-8")  # longer, same mtime
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert user_ids(mine, cache) == {"desk-twenty"}
    path.write_text(ARTICLE + claim("desk-thirty", "Twenty."), encoding="utf-8")  # as long, a later mtime
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert user_ids(mine, cache) == {"desk-thirty"}
    (mine / "other.toml").write_text(ARTICLE.replace("desk-note", "desk-other") + claim("desk-new", "New."),
                                     encoding="utf-8")  # a file added
    assert user_ids(mine, cache) == {"desk-thirty", "desk-new"}


def test_a_corrupt_or_foreign_cache_is_ignored_and_written_again(tmp_path: Path) -> None:
    mine, cache, _ = setup(tmp_path, ARTICLE + claim("desk-one", "One."))
    cache.mkdir()
    kept = cache / CACHE_FILE
    key = cache_key(NARRATIVES_DIR, (mine,), 5000)
    for junk in (b"", b"\x00\xff garbage", FORMAT.encode() + b"\x80\x05cut short",
                 FORMAT.encode() + pickle.dumps((key, {"not": "narratives"})),  # another program's, under our key
                 b"something-else" + pickle.dumps((key, load_narratives()))):  # another layout
        kept.write_bytes(junk)
        assert user_ids(mine, cache) == {"desk-one"}
        assert read_cache(kept, cache_key(NARRATIVES_DIR, (mine,), 5000)) is not None  # written anew, whole
    assert not [p for p in cache.iterdir() if p.name != CACHE_FILE]  # no temporary file left behind


def test_the_cache_lives_in_the_user_cache_dir() -> None:
    cached_narratives()
    assert (default_cache_dir() / CACHE_FILE).is_file()
    assert Path(os.environ["HOME"]) in default_cache_dir().parents  # the test's private home, never the user's
