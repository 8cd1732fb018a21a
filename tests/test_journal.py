"""The journal: nothing lost under concurrent writers, edits and removals keep history, names are data."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from segworkshop import ConfigError
from segworkshop.journal import Journal, participant_folder


def _writer(folder: str, author: str, count: int) -> None:
    journal = Journal(folder)
    for i in range(count):
        journal.add("hypotheses", author, {"text": f"{author} #{i}"})


def test_concurrent_writers_lose_nothing(tmp_path: Path):
    authors = ["Ana", "Bo", "Ana", "Çağla <b>", "Bo"]  # two processes share a name: same folder, still safe
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), a, 40)) for a in authors]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    entries = Journal(tmp_path).entries("hypotheses")
    assert len(entries) == 5 * 40
    texts = [e.data["text"] for e in entries]
    for a in set(authors):
        for i in range(40):
            assert texts.count(f"{a} #{i}") == authors.count(a)
    assert not list(tmp_path.rglob(".tmp-*"))


def _editor(folder: str, entry_id: str, who: str, count: int) -> None:
    journal = Journal(folder)
    for i in range(count):
        journal.edit("findings", entry_id, {"text": f"{who} {i}"}, author=who)


def test_concurrent_edits_keep_every_revision(tmp_path: Path):
    entry = Journal(tmp_path).add("findings", "Ana", {"text": "first"})
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_editor, args=(str(tmp_path), entry.id, w, 15)) for w in ("Ana", "Bo")]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    (current,) = Journal(tmp_path).entries("findings")
    assert current.revision == 31
    assert {r["data"]["text"] for r in current.history} >= {"first", "Ana 14", "Bo 14"}


def test_edit_remove_and_rerun(tmp_path: Path):
    j = Journal(tmp_path)
    a = j.add("hypotheses", "Ana", {"text": "mobile users succeed less"})
    b = j.add("hypotheses", "Ana", {"text": "email signups succeed more"})
    j.edit("hypotheses", a.id, {"text": "android users succeed less"})
    j.remove("hypotheses", b.id)
    # a re-run of a notebook opens the journal again: what is there stays
    again = Journal(tmp_path).entries("hypotheses")
    assert [e.data["text"] for e in again] == ["android users succeed less"]
    assert again[0].revision == 2 and again[0].author == "Ana"
    files = list((tmp_path / "journal" / "hypotheses").rglob("*.json"))
    assert len(files) == 4  # add, add, edit, tombstone: nothing rewritten
    with pytest.raises(KeyError):
        j.edit("hypotheses", b.id, {"text": "gone"})


def test_names_and_text_are_data(tmp_path: Path):
    j = Journal(tmp_path)
    nasty = "../../etc/passwd <script>alert(1)</script> 名前"
    e = j.add("notes", nasty, {"text": "<script>alert(1)</script>"})
    assert e.author == nasty and e.data["text"] == "<script>alert(1)</script>"
    folder = participant_folder(nasty)
    assert "/" not in folder and ".." not in folder and "<" not in folder
    assert (tmp_path / "journal" / "notes" / folder).is_dir()
    assert participant_folder("Ana") != participant_folder("ana")  # different people, different folders
    stored = json.loads(next((tmp_path / "journal" / "notes").rglob("*.json")).read_text())
    assert stored["author"] == nasty
    with pytest.raises(ConfigError, match="needs a name"):
        j.add("notes", "  ", {"text": "x"})
    with pytest.raises(ConfigError, match="unknown journal kind"):
        j.add("gossip", "Ana", {})


def test_set_keeps_one_current_value(tmp_path: Path):
    j = Journal(tmp_path)
    j.set("success", {"event": "purchase"})
    j.set("success", {"event": "purchase", "within_days": 14})
    assert len(j.entries("success")) == 1
    assert j.latest("success").data == {"event": "purchase", "within_days": 14}
