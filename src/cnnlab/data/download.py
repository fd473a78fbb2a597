"""Downloads with an MD5 check, written atomically, and an offline failure that says what to do."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from cnnlab.errors import UserError
from cnnlab.fileio import atomic_write

TIMEOUT_SECONDS = 30


def md5_of(path: Path, chunk: int = 1 << 20) -> str:
    """The hex MD5 digest of a file."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def download(urls: Sequence[str], dest: Path, md5: str | None, what: str, manual_hint: str) -> Path:
    """Fetch the first of `urls` that answers into `dest`, verify its MD5, and return `dest`.

    On failure nothing is left at `dest`, and the UserError tells how to provide the file by hand.
    """
    if dest.is_file() and (md5 is None or md5_of(dest) == md5):
        return dest
    errors = []
    for url in urls:
        try:
            atomic_write(dest, partial(_fetch, url, md5=md5))
            return dest
        except (urllib.error.URLError, OSError, ValueError) as err:
            errors.append(f"{url}: {getattr(err, 'reason', err)}")
    tried = "; ".join(errors)
    raise UserError(f"could not download {what} ({tried}). {manual_hint}")


def _fetch(url: str, tmp: Path, md5: str | None) -> None:
    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response, open(tmp, "wb") as out:
        shutil.copyfileobj(response, out, length=1 << 20)
    if md5 is not None and (got := md5_of(tmp)) != md5:
        raise ValueError(f"MD5 mismatch (expected {md5}, got {got}): the download is damaged")


def extract_tar(archive: Path, into: Path) -> None:
    """Unpack a tar archive refusing absolute paths, links out of `into` and device files."""
    with tarfile.open(archive) as tar:
        try:
            tar.extractall(into, filter="data")
        except tarfile.FilterError as err:
            raise UserError(f"'{archive}' holds an unsafe entry ({err}); delete it and download again") from None
