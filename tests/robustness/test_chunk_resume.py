"""kill -9 of a chunked CLI backfill after most of its chunks committed: the next run resumes from the last
committed chunk, not from zero, and the tables end exact (sources/intercom/chunks.py)."""

from __future__ import annotations

from tests.robustness.kills import packages
from tests.robustness.support import (
    MakeHarness,
    assert_newest_parts,
    assert_no_duplicate_keys,
    assert_rows,
    committed_state,
    cursors,
    harness_args,
    kill_when,
    run_cli,
    start_cli,
)

CONVERSATIONS = 900
CHUNK_ROWS = 100
"""6 chunks of one search page (150 rows) each: the CLI's own slicing starts above 3,000 rows, so these
are chunks of the search chain."""
RESOURCES = ("conversations", "conversation_parts")
CHUNK_ARGS = ["--chunk-rows", str(CHUNK_ROWS), "--no-models", "--progress", "none"]


def test_a_backfill_killed_after_most_chunks_resumes_from_its_last_chunk(make_harness: MakeHarness) -> None:
    harness = make_harness({"contacts": 40, "companies": 5, "conversations": CONVERSATIONS}, latency_ms=2)
    ws = harness.workspace
    chunks = -(-CONVERSATIONS // 150)
    process = start_cli(harness, RESOURCES, extra_args=CHUNK_ARGS)
    killed_after = int(chunks * 0.8)
    assert kill_when(process, lambda: len(packages(harness, "loaded")) >= killed_after), "ended before"
    committed = set(harness.ids("conversations"))
    assert CONVERSATIONS * 0.5 < len(committed) < CONVERSATIONS, "killed with chunks committed and to come"
    cursor = cursors(committed_state(harness), {"conversations": "conversations"})["conversations"]
    log = (harness.tmp_path / "cli_runs.log").read_text(encoding="utf-8")
    assert "chunk 1 committed" in log

    harness.server.reset_counters()
    resumed = run_cli([*harness_args(harness, RESOURCES), *CHUNK_ARGS], cwd=harness.tmp_path)
    assert resumed.returncode == 0, resumed.stderr

    counters = harness.server.counters
    # details are fetched only for conversations the killed run did not commit: none of those it did
    assert counters["GET /conversations/{id}"] <= CONVERSATIONS - len(committed)
    after_cursor = sum(1 for conversation in ws.conversations.values() if conversation["updated_at"] > cursor)
    # each chunk is a page (and the one read ahead), the first one from (cursor - lookback)
    assert counters["POST /conversations/search"] <= 2 * (-(-after_cursor // 150) + 1)
    assert_rows(
        harness,
        "conversations",
        "SELECT id, state, updated_at, title FROM conversations",
        {(cid, c["state"], c["updated_at"], c["title"]) for cid, c in ws.conversations.items()},
    )
    assert_newest_parts(
        harness, "conversation_parts", "conversation_id", ws.conversations, ws.conversation_parts
    )
    assert_no_duplicate_keys(harness)
    newest = max(conversation["updated_at"] for conversation in ws.conversations.values())
    assert cursors(committed_state(harness), {"conversations": "conversations"}) == {"conversations": newest}
