"""Download the public knowledge-base evaluation data again, and check every file's SHA-256.

    .venv/bin/python scripts/fetch_kb_public_data.py            (internet; rewrites benchmarks/kb_public/)
    .venv/bin/python scripts/fetch_kb_public_data.py --check    (offline: only checks the shipped files)
    .venv/bin/python scripts/fetch_kb_public_data.py --dest DIR (download somewhere else)

The files are shipped in ``benchmarks/kb_public/`` (``SOURCES.md`` says what each is and its
licence), so nothing needs this to run ``make bench-kb``; neither that nor the tests call it. It is
for restoring or re-checking them on a machine with internet access. Each file is fetched from
``https://raw.githubusercontent.com/<repository>/<commit>/<path>`` at the commit recorded in
``scripts/kb_public.py`` (``SOURCE_FILES``), and written only if its SHA-256 and size are the
recorded ones. Moving to a newer commit means editing ``SOURCE_FILES`` and ``SOURCES.md`` together,
then rerunning ``make bench-kb`` and updating the figures in docs/knowledge-base.md.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT / "layers" / "flexcord"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from scripts.kb_public import DATA_DIR, SOURCE_FILES, SourceFile, check_files  # noqa: E402

TIMEOUT_SECONDS = 60


class ChecksumMismatch(Exception):
    """A downloaded file is not the recorded bytes."""


def download(source: SourceFile) -> bytes:
    response = requests.get(source.url, timeout=TIMEOUT_SECONDS)
    response.raise_for_status()
    content = response.content
    digest = hashlib.sha256(content).hexdigest()
    if digest != source.sha256 or len(content) != source.size:
        raise ChecksumMismatch(
            f"{source.url}: {len(content)} bytes with sha256 {digest}, "
            f"expected {source.size} bytes with sha256 {source.sha256}"
        )
    return content


def fetch(destination: Path) -> None:
    """Download every file into ``destination``; nothing is written unless all of them check out."""
    contents = {}
    for source in SOURCE_FILES:
        print(f"fetching {source.url}", file=sys.stderr)
        contents[source.local] = download(source)
    for local, content in contents.items():
        target = destination / local
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(content)
        partial.replace(target)
        print(f"wrote {target} ({len(content):,} bytes)", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=DATA_DIR, help=f"where to write (default {DATA_DIR})")
    parser.add_argument("--check", action="store_true", help="only check the files already there (offline)")
    arguments = parser.parse_args()
    if not arguments.check:
        try:
            fetch(arguments.dest)
        except (ChecksumMismatch, requests.RequestException) as error:
            sys.exit(f"nothing written: {error}")
    problems = check_files(arguments.dest)
    if problems:
        sys.exit("\n".join(problems))
    print(f"{arguments.dest}: all {len(SOURCE_FILES)} files have the recorded SHA-256")


if __name__ == "__main__":
    main()
