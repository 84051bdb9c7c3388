"""Output safety: hostile names and messages are escaped in every text output, reports are
written atomically, and `--output-dir` never writes outside the directory it was given."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

import scanner.outputs
from scanner.errors import ReportError
from scanner.evaluate import prepare_engine, scan
from scanner.models import ScanReport
from scanner.outputs import report_path, write_atomically
from scanner.policies import load_library
from scanner.profiles import load_profile
from scanner.report import OutputFormat, render
from scanner.report.text import markdown_cell, one_line, strip_control
from scanner.sources import load_inventory
from tests.hardening_support import (
    HOSTILE_POLICIES,
    assert_clean_exit,
    run_cli,
    validate_output,
)

ROOT = Path(__file__).resolve().parent.parent
HOSTILE_NAMES = ROOT / "fixtures" / "hostile" / "hostile-names.yaml"
NAME = "web\x1b[31m|<script>alert(1)</script>\n| injected | row |\u202e @team"
# Characters that must never reach a terminal or a rendered page from input text.
UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def hostile_report() -> ScanReport:
    library = load_library(extra_dirs=[HOSTILE_POLICIES])
    return scan(load_inventory([str(HOSTILE_NAMES)]), library, load_profile("cncf-1.35"),
                engine=prepare_engine(library))




def test_the_fixture_really_carries_the_hostile_name(hostile_report: ScanReport) -> None:
    names = {f.ref.name for r in hostile_report.requirements for f in r.findings if f.ref}
    assert NAME in names


@pytest.mark.parametrize("fmt", [OutputFormat.table, OutputFormat.checklist, OutputFormat.junit,
                                 OutputFormat.cncf])
def test_text_outputs_carry_no_control_or_bidi_characters(hostile_report: ScanReport,
                                                          fmt: OutputFormat) -> None:
    text = render(hostile_report, fmt)
    validate_output(fmt, text)
    visible = text.replace("\n", "").replace("\t", "")
    assert not UNSAFE.search(visible), repr(UNSAFE.search(visible))


def test_checklist_escapes_markdown_and_html(hostile_report: ScanReport) -> None:
    text = render(hostile_report, OutputFormat.checklist)
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "@team" not in text and "&#64;team" in text
    row = next(line for line in text.splitlines() if "injected" in line)
    # `|` from the name is escaped and its newline folded: still one row of five cells.
    assert len(re.split(r"(?<!\\)\|", row)[1:-1]) == 5
    assert "\\| injected \\|" in row


def test_colour_table_keeps_only_its_own_escapes(hostile_report: ScanReport) -> None:
    text = render(hostile_report, OutputFormat.table, color=True)
    assert "\x1b[" in text  # rich's own styles
    assert "\x1b[31m|" not in text and "\x1b[2J" not in text and "\x1b]8" not in text


def test_json_and_sarif_keep_the_exact_text(hostile_report: ScanReport) -> None:
    report = json.loads(render(hostile_report, OutputFormat.json))
    names = {f["ref"]["name"] for r in report["requirements"] for f in r["findings"] if f["ref"]}
    assert NAME in names  # machine outputs escape by encoding, without losing anything
    sarif_text = render(hostile_report, OutputFormat.sarif)
    validate_output(OutputFormat.sarif, sarif_text)
    assert "\x1b" not in sarif_text  # JSON-escaped as \u001b
    messages = [r["message"]["text"] for r in json.loads(sarif_text)["runs"][0]["results"]]
    assert any(NAME in m for m in messages)


def test_text_helpers() -> None:
    assert strip_control("a\x1b[31mb\x9b2J\u202ec\r\nd") == "a[31mb2Jc  d"
    assert markdown_cell("a|b*c<d> @e x@y") == "a\\|b\\*c&lt;d&gt; &#64;e x@y"
    assert one_line("x\n" * 10, limit=8) == "x x x x…"


def test_cli_error_lines_are_sanitised(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: b: c\n")
    result = run_cli(["scan", str(bad), "--profile", "no\x1b[31m-such\nprofile"])
    assert_clean_exit(result)
    assert result.exit_code == 2 and "\x1b" not in result.stderr


# --- --output-dir and atomic writes --------------------------------------------------------


def scan_into(out: Path, src: Path, *formats: str) -> None:
    args = ["scan", str(src), "--output-dir", str(out), "-q", "--fail-on", "never"]
    result = run_cli(args + [a for f in formats for a in ("-F", f)])
    assert_clean_exit(result)
    assert result.exit_code == 0, result.stderr


def test_symlink_planted_at_a_report_name_is_replaced_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / "kaic.sarif").symlink_to(outside)
    (out / "kaic.json").symlink_to(tmp_path / "created-outside.json")  # dangling
    scan_into(out, HOSTILE_NAMES, "sarif", "json")
    assert outside.read_text() == "precious"
    assert not (tmp_path / "created-outside.json").exists()
    assert not (out / "kaic.sarif").is_symlink()
    validate_output(OutputFormat.sarif, (out / "kaic.sarif").read_text())


def test_symlink_planted_at_the_old_temporary_name_is_not_followed(tmp_path: Path) -> None:
    # The foundation wrote to the predictable `.kaic.sarif.kaic-tmp-<pid>`; now the temporary
    # file is created with O_EXCL under a random name.
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / f".kaic.sarif.kaic-tmp-{os.getpid()}").symlink_to(outside)
    scan_into(out, HOSTILE_NAMES, "sarif")
    assert outside.read_text() == "precious"
    assert sorted(p.name for p in out.iterdir()) == [f".kaic.sarif.kaic-tmp-{os.getpid()}",
                                                      "kaic.sarif"]


def test_report_names_cannot_leave_the_directory(tmp_path: Path) -> None:
    assert report_path(tmp_path, "kaic.sarif") == tmp_path / "kaic.sarif"
    assert report_path(tmp_path, "PRODUCT.yaml") == tmp_path / "PRODUCT.yaml"
    for bad in ("../kaic.sarif", "/etc/passwd", "..", ".hidden", "a/b", "", "x\x00y"):
        with pytest.raises(ReportError):
            report_path(tmp_path, bad)
    for fmt in OutputFormat:  # every format's fixed name passes the check
        assert report_path(tmp_path, fmt.filename).parent == tmp_path


def test_output_dir_that_is_a_file_is_a_clean_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = run_cli(["scan", str(HOSTILE_NAMES), "--output-dir", str(not_a_dir), "-F", "json"])
    assert_clean_exit(result)
    assert result.exit_code == 2 and "cannot write" in result.stderr


def _previous_report(out: Path) -> str:
    out.mkdir(exist_ok=True)
    (out / "kaic.sarif").write_text("previous complete report")
    return "previous complete report"


def test_interrupted_render_leaves_the_previous_report(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    previous = _previous_report(out)

    def interrupted(report: ScanReport) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr("scanner.report.sarif.render_sarif", interrupted)
    result = run_cli(["scan", str(HOSTILE_NAMES), "--output-dir", str(out), "-F", "sarif"])
    assert result.exit_code != 0
    assert (out / "kaic.sarif").read_text() == previous
    assert [p.name for p in out.iterdir()] == ["kaic.sarif"]


def test_interruption_while_writing_removes_the_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    previous = _previous_report(out)
    seen: list[list[str]] = []

    def interrupt_after_data(fd: int) -> None:
        seen.append(sorted(p.name for p in out.iterdir()))  # the temporary file exists now
        raise KeyboardInterrupt

    monkeypatch.setattr(scanner.outputs.os, "fsync", interrupt_after_data)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(out / "kaic.sarif", "x" * 1_000_000)
    assert len(seen[0]) == 2 and any(".kaic-tmp-" in n for n in seen[0])
    assert (out / "kaic.sarif").read_text() == previous
    assert [p.name for p in out.iterdir()] == ["kaic.sarif"]


def test_text_that_cannot_be_encoded_never_truncates_the_report(tmp_path: Path) -> None:
    target = tmp_path / "kaic.sarif"
    previous = _previous_report(tmp_path)
    with pytest.raises(ReportError, match="not valid Unicode"):
        write_atomically(target, "{" + "x" * 100_000 + "\ud800" + "}")
    assert target.read_text() == previous
    assert [p.name for p in tmp_path.iterdir()] == ["kaic.sarif"]


def test_reports_get_ordinary_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomically(tmp_path / "kaic.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "kaic.json").stat().st_mode & 0o777 == 0o644
