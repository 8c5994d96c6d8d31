"""What a failed e2e or browser session prints about the local cloud before its run folder goes."""

from __future__ import annotations

from pathlib import Path

from tests.support.local_stack import REPORT_LINES, emulator_report


def test_the_report_keeps_the_emulators_last_warnings_and_errors_and_counts_workers(tmp_path: Path):
    lines = [f"2026-12-03 10:00:{i:02d} INFO [lambda] invoked {i}" for i in range(50)]
    lines += [f"2026-12-03 10:01:{i:02d} ERROR [lambda] spawn failed {i}" for i in range(REPORT_LINES + 5)]
    lines.append("OSError: [Errno 28] No space left on device")
    (tmp_path / "ministack.log").write_text("\n".join(lines))
    for name in ("ministack-lambda-petcover-QuoteFunction-a", "ministack-lambda-petcover-QuoteFunction-b"):
        (tmp_path / name).mkdir()
    (tmp_path / "ministack-lambda-not-a-folder").write_text("")

    report = emulator_report(tmp_path)

    assert report[0].startswith(f"2 Lambda workers unpacked under {tmp_path};") and "GiB free" in report[0]
    assert len(report) == 1 + REPORT_LINES
    assert report[-1] == "OSError: [Errno 28] No space left on device"
    assert not any(" INFO " in line for line in report)


def test_a_run_folder_without_a_log_still_reports(tmp_path: Path):
    assert emulator_report(tmp_path)[0].startswith("0 Lambda workers")
