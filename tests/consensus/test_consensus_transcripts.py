"""Scenario transcripts (etcd raft datadriven style) for the consensus core.

Each file in ``transcripts/`` is a list of commands, each followed by ``----`` and the output the
cluster harness must produce. Set ``ALLIANCE_REWRITE_TRANSCRIPTS=1`` to rewrite the expected
output from the actual output: each transcript that differed is rewritten and its test still fails,
naming it, so a run with the variable set passes only when nothing differed (CI can never pass a
difference). Review the diff, then run again without it. Every step also checks S1, S2 and S3
inside the harness, so a transcript fails on a safety violation even when rewritten.

The expected outputs come from the implementation's own output, reviewed by hand: they pin
behaviour against regressions; they are not an independent oracle.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from consensus_harness import TranscriptRunner, format_transcript, parse_transcript

TRANSCRIPTS = sorted((Path(__file__).parent / "transcripts").glob("*.txt"))


def check_transcript(path: Path, *, rewrite: bool) -> None:
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
    if rewrite and mismatches:
        path.write_text(format_transcript(text, outputs), encoding="utf-8")
        pytest.fail(
            f"rewrote {path.name}: {len(mismatches)} outputs differed. Review the diff, then run"
            " again without ALLIANCE_REWRITE_TRANSCRIPTS=1 (a rewrite never passes):\n\n"
            + "\n\n".join(mismatches)
        )
    assert not mismatches, "\n\n".join(mismatches)


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
def test_transcript(path: Path) -> None:
    check_transcript(path, rewrite=os.environ.get("ALLIANCE_REWRITE_TRANSCRIPTS") == "1")


def corrupted_copy(tmp_path: Path) -> tuple[Path, str]:
    """A copy of a real transcript with one expected output line changed, and the true text."""
    source = Path(__file__).parent / "transcripts" / "normal_commit.txt"
    text = source.read_text(encoding="utf-8")
    true_line = "n0 -> * prevote h1 r0 B1"
    assert true_line in text.split("\n")
    path = tmp_path / source.name
    path.write_text(text.replace(true_line, "n0 -> * prevote h1 r0 B9", 1), encoding="utf-8")
    return path, text


def test_a_mismatch_fails_and_leaves_the_file_alone(tmp_path: Path) -> None:
    path, _ = corrupted_copy(tmp_path)
    corrupted = path.read_text(encoding="utf-8")
    with pytest.raises(AssertionError, match=r"normal_commit\.txt:\d+: propose"):
        check_transcript(path, rewrite=False)
    assert path.read_text(encoding="utf-8") == corrupted


def test_rewrite_mode_rewrites_a_mismatch_and_still_fails(tmp_path: Path) -> None:
    """Rewriting must never turn a difference into a pass (CI could run with the variable set)."""
    path, true_text = corrupted_copy(tmp_path)
    with pytest.raises(pytest.fail.Exception, match=r"rewrote normal_commit\.txt"):
        check_transcript(path, rewrite=True)
    assert path.read_text(encoding="utf-8") == true_text
    check_transcript(path, rewrite=True)  # nothing differs now: a pass, and the file is unchanged
    assert path.read_text(encoding="utf-8") == true_text
