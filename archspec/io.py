"""Files archspec writes: whole or not at all, never through a symbolic link, and never over
something the user did not ask to replace.

Two layers:

- The mechanism, ``write_atomic`` and ``write_atomic_with``: the new content goes to a
  temporary file created exclusively (``O_CREAT | O_EXCL | O_NOFOLLOW``, an unpredictable
  name, in the target's folder) or, for writers that need a path of their own (Keras's
  ``model.save``, a SavedModel folder), into a private ``mkdtemp`` folder there; it is
  flushed to disk and renamed over the target (``os.replace``, atomic on POSIX and Windows),
  then the folder is flushed. A crash or ``kill -9`` leaves the old file or the new one, never
  half of one, and no write ever goes through a link: a link at the target is itself
  replaced. Missing parent folders are created. Only regular files (or folders, for folder
  outputs) are replaced, never a device, FIFO or socket. The run directory uses this layer
  directly: training rewrites its own files by design.
- The contract of a command's output, ``write_output`` and ``write_output_with``: ``-``
  means standard output; a command never replaces one of its own inputs; an existing file
  or link is replaced only with ``--force`` (the link itself, never what it points to).
"""
from __future__ import annotations

import enum
import errno
import os
import secrets
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Optional

from archspec.errors import RunFailure, UserError

STDOUT = "-"
EXISTS_HINT = "choose another file with -o, or pass --force to overwrite it"
FORCE_HELP = ("Replace an existing output file, refused without it (a symbolic link is replaced itself, "
              "not what it points to). "
              "Never replaced: the command's inputs, devices, FIFOs, and folders other than an earlier export.")
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_DISK_ERRORS = {errno.ENOSPC, errno.EIO, getattr(errno, "EDQUOT", errno.ENOSPC)}


class Existing(enum.Enum):
    """What is at a path, the link itself not followed."""

    FILE = "a file"
    FOLDER = "a folder"
    LINK = "a symbolic link"
    SPECIAL = "not a regular file"


def existing(path: Path, follow: bool = False) -> Optional[Existing]:
    """What is at ``path`` (None: nothing).

    >>> existing(Path("/no/such/file")) is None
    True
    >>> existing(Path("/")).value
    'a folder'
    """
    try:
        mode = (os.stat if follow else os.lstat)(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISLNK(mode):
        return Existing.LINK
    if stat.S_ISREG(mode):
        return Existing.FILE
    return Existing.FOLDER if stat.S_ISDIR(mode) else Existing.SPECIAL


def is_stdout(path: str | Path) -> bool:
    return str(path) == STDOUT


def force_option(f: Callable) -> Callable:
    """The ``--force`` flag of every command that writes a file it names."""
    import click

    return click.option("--force", is_flag=True, help=FORCE_HELP)(f)


# ------------------------------------------------------------------ the command's contract
def write_output(path: str | Path, data: str | bytes, inputs: Iterable[str | Path] = (),
                 force: bool = False) -> None:
    """Write a command's output: ``-`` is standard output, anything else goes through
    ``check_output`` and ``write_atomic``."""
    if is_stdout(path):
        _to_stdout(data)
        return
    check_output(Path(path), inputs, force)
    _as_archspec_error(Path(path), lambda: write_atomic(path, data))


def write_output_with(path: str | Path, write: Callable[[Path], object], inputs: Iterable[str | Path] = (),
                      force: bool = False, folder_marker: Optional[str] = None) -> None:
    """``write_output`` for a writer that needs a path; ``folder_marker`` makes the output a
    folder (a SavedModel) and names the file that marks an earlier output of the same kind."""
    if is_stdout(path):
        raise UserError("this output cannot go to standard output ('-')", "name a file with -o")
    check_output(Path(path), inputs, force, folder_marker)
    _as_archspec_error(Path(path), lambda: write_atomic_with(path, write, folder=folder_marker is not None))


def check_output(path: Path, inputs: Iterable[str | Path] = (), force: bool = False,
                 folder_marker: Optional[str] = None, option: str = "-o") -> None:
    """Refuse (exit 2, saying what to do) to write over an input of the command, over anything
    but a regular file (or an earlier folder output), or over an existing file without ``force``.
    ``option`` is the command's option that chooses where the file goes, named in the hints
    (``--pictures-dir`` for predict's pictures: predict has no ``-o``)."""
    inputs = [Path(i) for i in inputs]
    where = "choose another file with -o" if option == "-o" else f"choose another folder with {option}"
    if any(_same(path, source) for source in inputs):
        raise UserError(f"{path} is an input of this command, which must not overwrite what it reads", where)
    found = existing(path)
    if found is None:
        return
    _refuse_unreplaceable(path, found, folder_marker is not None)
    if found is Existing.LINK:
        _refuse_unreplaceable(path, existing(path, follow=True), folder_marker is not None, "a link to ")
        if not force:
            raise UserError(f"{path} is a symbolic link", f"{where}, or pass --force to replace "
                            "the link itself (what it points to is left alone)")
    elif found is Existing.FOLDER:
        _refuse_folder(path, inputs, folder_marker)
    if not force:
        raise UserError(f"{path} already exists", EXISTS_HINT if option == "-o" else
                        f"{where}, or pass --force to overwrite it")


def _same(path: Path, source: Path) -> bool:
    """Is ``path`` the file ``source`` (the same inode, or the same name once links are resolved)?"""
    if path.exists() and source.exists():
        return os.path.samefile(path, source)
    return path.resolve() == source.resolve()


def _refuse_folder(folder: Path, inputs: list[Path], marker: Optional[str]) -> None:
    """A folder output replaces an existing folder only if it is empty or an earlier output."""
    if any(folder.resolve() in source.resolve().parents for source in inputs):
        raise UserError(f"{folder} holds an input of this command, which must not overwrite what it reads",
                        "choose a new folder with -o")
    if any(folder.iterdir()) and not (folder / str(marker)).is_file():
        raise UserError(f"{folder} is a folder but not an earlier export (it has no {marker})",
                        "choose a new folder with -o: only an empty folder or an earlier export is replaced")


def _refuse_unreplaceable(path: Path, found: Optional[Existing], folder: bool, prefix: str = "") -> None:
    if found is Existing.SPECIAL:
        raise UserError(f"{path} is {prefix}{_special_kind(path)}, not a regular file",
                        "archspec writes only regular files; choose another file with -o (-o - is standard output)")
    if found is Existing.FOLDER and not folder:
        raise UserError(f"{path} is {prefix}a folder", "choose a file name with -o")
    if found is Existing.FILE and folder:
        raise UserError(f"{path} is {prefix}a file, and this output is a folder", "choose another name with -o")


def _special_kind(path: Path) -> str:
    mode = os.stat(path).st_mode
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a FIFO" if stat.S_ISFIFO(mode) else "a socket"


def _to_stdout(data: str | bytes) -> None:
    import click

    if isinstance(data, bytes):
        stream = click.get_binary_stream("stdout")
        stream.write(data)
        stream.flush()
    else:
        click.echo(data, nl=False)


def _as_archspec_error(path: Path, write: Callable[[], None]) -> None:
    """An OSError becomes exit 1 for a full or failing disk, else exit 2 (the path is wrong)."""
    try:
        write()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno in _DISK_ERRORS:
            raise RunFailure(f"cannot write {path}: {reason}", "free disk space; the previous file is kept") from None
        raise UserError(f"cannot write {path}: {reason}", f"check that you can write to {path.parent}") from None


# ------------------------------------------------------------------ the mechanism
def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write text (UTF-8) or bytes to ``path`` atomically through an exclusive temporary file."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    _refuse_unreplaceable(path, existing(path), folder=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_exclusive(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        _replace(tmp, path, folder=False)
    except BaseException:
        _remove_quietly(tmp)
        raise


def write_atomic_with(path: str | Path, write: Callable[[Path], object], folder: bool = False) -> None:
    """Let ``write`` fill a path of the same name inside a private folder (``mkdtemp``, mode
    0700) beside ``path``, flush it, rename it over ``path`` and flush the folder. ``folder``:
    ``write`` makes a folder, which replaces an existing folder at ``path``. On any error the
    previous ``path`` is kept, nothing temporary is left, and the error propagates."""
    path = Path(path)
    _refuse_unreplaceable(path, existing(path), folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    private = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        staged = private / path.name
        write(staged)
        _fsync_tree(staged)
        _replace(staged, path, folder, aside=private / "previous")
    finally:
        shutil.rmtree(private, ignore_errors=True)


def _create_exclusive(path: Path) -> tuple[int, Path]:
    """A new file beside ``path`` that nobody else can have planted (mode 0666 less the umask)."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            return os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | _NO_FOLLOW, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path.parent))


def _replace(new: Path, path: Path, folder: bool, aside: Optional[Path] = None) -> None:
    """Rename ``new`` over ``path`` (a link there is replaced, not followed). A folder cannot be
    renamed over a non-empty one: the old one is moved ``aside`` first, and back on failure."""
    found = existing(path)
    _refuse_unreplaceable(path, found, folder)  # again: it may have changed while ``new`` was written
    if folder and found is not None and aside is not None:
        os.replace(path, aside)
        try:
            os.replace(new, path)
        except BaseException:
            os.replace(aside, path)
            raise
    else:
        os.replace(new, path)
    _fsync_dir(path.parent)


def _fsync_tree(path: Path) -> None:
    if existing(path) is Existing.FOLDER:
        for root, _, files in os.walk(path):
            for name in files:
                _fsync_file(Path(root) / name)
            _fsync_dir(Path(root))
    else:
        _fsync_file(path)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, (os.O_RDWR if os.name == "nt" else os.O_RDONLY) | _NO_FOLLOW)  # Windows needs write access
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not possible on every platform; the rename itself is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
