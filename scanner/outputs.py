"""Writing reports safely: atomically, and never outside the directory the user named.

A report is rendered completely in memory first, then written to a fresh temporary file in the
target's directory (created with O_EXCL under a random name, so a symlink planted there is never
followed), flushed to disk, and renamed over the target. A scan interrupted at any point leaves
either the previous report or the new one, never a truncated file; `rename` replaces a symlink
planted at the target name instead of writing through it.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from scanner.errors import ReportError

# A plain file name: no separator, no `..`, not hidden (kaic.sarif, PRODUCT.yaml, ...).
_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$")


def report_path(output_dir: Path, filename: str) -> Path:
    """`output_dir/filename`, refusing any name that could point somewhere else."""
    if not _FILENAME.match(filename):
        raise ReportError(f"invalid report file name {filename!r}")
    path = output_dir / filename
    if path.parent != output_dir:  # pragma: no cover - guaranteed by the pattern above
        raise ReportError(f"{path}: outside {output_dir}")
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomically(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` via a temporary file and a rename.

    Encoding happens before anything touches the disk, so text that cannot be encoded fails
    with a ReportError and leaves the previous file as it was. The new file gets the usual
    permissions (0666 minus umask), not mkstemp's 0600, so CI steps can read it.
    """
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ReportError(f"{path}: report is not valid Unicode: {exc.reason}") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise ReportError(f"{path}: is a directory")
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.kaic-tmp-")
    except OSError as exc:
        raise ReportError(f"{path}: cannot write: {exc.strerror or exc}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ReportError(f"{path}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        # KeyboardInterrupt, SystemExit: the half-written temporary file must not linger.
        tmp.unlink(missing_ok=True)
        raise
