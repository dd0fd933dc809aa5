"""What a studio session may read and write: the spec it was opened on, the specs of the folder
it was opened on, or a run directory's spec (read only).

A request names a file by its path relative to the session's folder, and only a name the
session listed is ever opened: a path a request makes up is refused before the disk is touched.
Saves are atomic (``archspec.io.write_atomic``) and refused when the file changed on disk since
the version the page read (a sha256 of its bytes), unless forced.
"""
from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from archspec.errors import UserError
from archspec.io import write_atomic

MAX_TEXT_BYTES = 2 * 1024 * 1024     # a spec the page may open or save (ResNet-152 is about 8 KB)
SPEC_SUFFIXES = (".yaml", ".yml")
MAX_FOLDER_FILES = 500               # specs listed from a folder
MAX_FOLDER_ENTRIES = 20_000          # entries looked at while listing: `serve ~` must not walk the disk
MAX_FOLDER_DEPTH = 3
SKIPPED_FOLDERS = {"node_modules", "__pycache__", "runs", "site-packages"}
SPEC_MARK = b"archspec:"             # a spec's first key; other YAML files (CI configs) are not listed
RUN_MARK = "train_config.json"       # what makes a folder a run directory (see train/rundir.py)


def version_of(data: bytes) -> str:
    """
    >>> version_of(b"")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()


class NotInSession(UserError):
    """A path the session did not list."""


@dataclass(frozen=True)
class FileText:
    path: str          # relative to the session's folder, with '/'
    text: str
    version: str


@dataclass(frozen=True)
class Conflict:
    """The file changed on disk since the page's version: what is there now."""

    disk_text: str
    version: Optional[str]   # None: the file is gone


class Workspace:
    """The session: its mode, its folder, and the files it lists."""

    def __init__(self, mode: str, folder: Path, current: Optional[str] = None) -> None:
        self.mode = mode                  # "spec", "folder" or "run"
        self.folder = folder              # resolved; every listed path is inside it
        self.current = current
        self._lock = threading.Lock()     # one save at a time: check and rename are not interleaved
        self._files = self._scan()

    @classmethod
    def open(cls, path: str | os.PathLike) -> "Workspace":
        """The session for a spec file, a folder of specs or a run directory; UserError otherwise."""
        given = Path(path)
        if given.is_file():
            resolved = given.resolve()
            return cls("spec", resolved.parent, resolved.name)
        if given.is_dir():
            folder = given.resolve()
            if (folder / RUN_MARK).is_file():
                return cls("run", folder, "spec.yaml" if (folder / "spec.yaml").is_file() else None)
            return cls("folder", folder)
        raise UserError(f"{path} is neither a spec file nor a folder", "give a spec, a folder of specs or a run "
                        "directory (default: the current folder)")

    @property
    def writable(self) -> bool:
        return self.mode != "run"  # a run's spec.yaml is the record of what was trained

    def files(self, rescan: bool = False) -> list[str]:
        """The listed paths; ``rescan`` looks at the folder again (new specs appear)."""
        if rescan and self.mode == "folder":
            self._files = self._scan()
        return sorted(self._files)

    def _scan(self) -> dict[str, Path]:
        if self.mode != "folder":
            return {self.current: self.folder / self.current} if self.current else {}
        return {p.relative_to(self.folder).as_posix(): p for p in folder_specs(self.folder)}

    def _path(self, rel: object) -> Path:
        found = self._files.get(rel) if isinstance(rel, str) else None
        if found is None:
            raise NotInSession(f"{rel!r} is not a file of this session", "open one of the files /api/session lists")
        return found

    def read(self, rel: object) -> FileText:
        path = self._path(rel)
        data = read_bounded(path)
        return FileText(str(rel), decode(data, str(rel)), version_of(data))

    def save(self, rel: object, text: str, base_version: Optional[str], force: bool = False) -> Union[str, Conflict]:
        """Write ``text`` to a listed file atomically: its new version, or the Conflict when the
        disk no longer holds ``base_version`` (and ``force`` is false)."""
        path = self._path(rel)
        if not self.writable:
            raise UserError("a run directory's spec is the record of what was trained, and is not saved",
                            "copy the text into a new spec file to change it")
        payload = text.encode("utf-8")
        if len(payload) > MAX_TEXT_BYTES:
            raise UserError(f"the text is {len(payload):,} bytes, more than the {MAX_TEXT_BYTES:,} a spec may have",
                            "split the spec")
        with self._lock:
            on_disk = _read_if_there(path)
            disk_version = None if on_disk is None else version_of(on_disk)
            if disk_version != base_version and not force:
                return Conflict(decode(on_disk or b"", str(rel)), disk_version)
            write_atomic(path, payload)
        return version_of(payload)


def folder_specs(folder: Path) -> list[Path]:
    """Spec files under ``folder`` (a few levels deep, hidden folders and links skipped), bounded."""
    found: list[Path] = []
    seen = 0
    stack = [(folder, 0)]
    while stack and len(found) < MAX_FOLDER_FILES and seen < MAX_FOLDER_ENTRIES:
        here, depth = stack.pop()
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if entry.name.startswith(".") or entry.is_symlink():
                continue  # a link may lead outside the folder the user opened
            if entry.is_dir() and depth < MAX_FOLDER_DEPTH and entry.name not in SKIPPED_FOLDERS:
                stack.append((Path(entry.path), depth + 1))
            elif entry.is_file() and entry.name.endswith(SPEC_SUFFIXES) and _looks_like_spec(Path(entry.path)):
                found.append(Path(entry.path))
    return sorted(found)[:MAX_FOLDER_FILES]


def _looks_like_spec(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return any(line.startswith(SPEC_MARK) for line in handle.read(8192).splitlines())
    except OSError:
        return False


def read_bounded(path: Path) -> bytes:
    """The bytes of a listed file, refused past MAX_TEXT_BYTES."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_TEXT_BYTES + 1)
    except FileNotFoundError:
        raise NotInSession(f"{path.name} is no longer on disk", "it was moved or deleted since the session "
                           "started") from None
    except OSError as exc:
        raise UserError(f"cannot read {path.name}: {exc.strerror}", "check its permissions") from None
    if len(data) > MAX_TEXT_BYTES:
        raise UserError(f"{path.name} is larger than {MAX_TEXT_BYTES:,} bytes", "the studio opens spec files only")
    return data


def _read_if_there(path: Path) -> Optional[bytes]:
    try:
        return read_bounded(path)
    except NotInSession:
        return None


def decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{name} is not UTF-8 text (byte {exc.start})", "save it as UTF-8") from None
