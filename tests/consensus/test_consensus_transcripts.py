"""Scenario transcripts (etcd raft datadriven style) for the consensus core.

Each file in ``transcripts/`` is a list of commands, each followed by ``----`` and the output the
cluster harness must produce. Set ``ALLIANCE_REWRITE_TRANSCRIPTS=1`` to rewrite the expected
output from the actual output (then review the diff). Every step also checks S1, S2 and S3
inside the harness, so a transcript fails on a safety violation even when rewritten.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from consensus_harness import TranscriptRunner, format_transcript, parse_transcript

TRANSCRIPTS = sorted((Path(__file__).parent / "transcripts").glob("*.txt"))


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
def test_transcript(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    runner = TranscriptRunner()
    outputs: list[list[str]] = []
    mismatches: list[str] = []
    for case in parse_transcript(text):
        actual = runner.run(case.command)
        outputs.append(actual)
        if actual != case.expected:
            mismatches.append(
                f"{path.name}:{case.line_number}: {case.command}\n--- expected\n"
                + "\n".join(case.expected)
                + "\n--- actual\n"
                + "\n".join(actual)
            )
    if os.environ.get("ALLIANCE_REWRITE_TRANSCRIPTS") == "1":
        path.write_text(format_transcript(text, outputs), encoding="utf-8")
        return
    assert not mismatches, "\n\n".join(mismatches)
