"""The one mechanism every file archspec writes goes through, and the contract of a command's
output files; each guarantee is tested once here (tests/test_output_files.py shows that each
command uses it)."""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from archspec import io
from archspec.errors import RunFailure, UserError
from archspec.io import EXISTS_HINT, write_atomic, write_atomic_with, write_output, write_output_with


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_write_replaces_the_file_and_creates_missing_folders(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.json"
    write_atomic(target, "one")
    write_atomic(target, b"two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["a.json"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()  # like any file the user makes


def test_the_temporary_file_is_exclusive_and_never_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    target = tmp_path / "net.svg"
    (tmp_path / f".net.tmp-{os.getpid()}.svg").symlink_to(victim)  # the old predictable name
    names = iter(["planted", "fresh"])
    monkeypatch.setattr(io.secrets, "token_hex", lambda n: next(names))
    (tmp_path / ".net.svg.planted.tmp").symlink_to(victim)  # a link at the name drawn first
    write_atomic(target, "<svg/>")
    assert target.read_text() == "<svg/>" and victim.read_text() == "keep me"
    assert (tmp_path / ".net.svg.planted.tmp").readlink() == victim
    assert not (tmp_path / ".net.svg.fresh.tmp").exists()


def test_a_writer_that_needs_a_path_gets_one_in_a_private_folder(tmp_path: Path) -> None:
    target = tmp_path / "model.keras"
    seen: list[Path] = []

    def write(tmp: Path) -> None:
        seen.append(tmp)
        assert tmp.name == "model.keras" and tmp.parent.parent == tmp_path  # same name, same file system
        assert stat.S_IMODE(tmp.parent.stat().st_mode) == 0o700 and not tmp.exists()
        tmp.write_text("zip")

    write_atomic_with(target, write)
    assert target.read_text() == "zip" and not seen[0].parent.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "model.keras"
    write_atomic(target, "good")

    def crash(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError):
        write_atomic_with(target, crash)
    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(io.os, "fsync", disk_full)
    with pytest.raises(OSError):
        write_atomic(target, "new")
    with pytest.raises(RunFailure, match="No space left on device; free disk space; the previous file is kept"):
        write_output(target, "new", force=True)  # a full disk is a failed run (exit 1)
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_a_link_at_the_target_is_replaced_itself_never_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "out.dot"
    link.symlink_to(victim)
    with pytest.raises(UserError) as refused:
        write_output(link, "digraph {}")
    assert str(refused.value) == f"{link} is a symbolic link; choose another file with -o, or pass --force to " \
                                 "replace the link itself (what it points to is left alone)"
    assert link.is_symlink()
    write_output(link, "digraph {}", force=True)
    assert not link.is_symlink() and link.read_text() == "digraph {}" and victim.read_text() == "keep me"
    run_file = tmp_path / "history.csv"  # the run directory's writes need no --force, and never follow either
    run_file.symlink_to(victim)
    write_atomic(run_file, "epoch\n")
    assert not run_file.is_symlink() and victim.read_text() == "keep me"


@pytest.mark.parametrize("kind", ["fifo", "folder", "device", "link to a device"])
def test_only_regular_files_are_replaced_even_with_force(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "out.svg"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    elif kind == "link to a device":
        target.symlink_to("/dev/null")
    else:
        target = Path("/dev/null")
    before = sorted(os.listdir(target.parent))
    what = {"fifo": "a FIFO, not a regular file", "folder": "a folder", "device": "a device, not a regular file",
            "link to a device": "a link to a device, not a regular file"}[kind]
    with pytest.raises(UserError, match=f"^{target} is {what}; "):
        write_output(target, "x", force=True)
    if kind != "link to a device":  # the mechanism replaces a link itself, and refuses the others
        with pytest.raises(UserError, match=f"^{target} is {what}"):
            write_atomic(target, "x")
    assert sorted(os.listdir(target.parent)) == before  # no temporary file either, even in /dev
    assert target.is_symlink() if kind == "link to a device" else not target.is_file()


def test_a_command_never_overwrites_its_input_even_with_force(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_bytes(b"name: net\n")
    (tmp_path / "hard.yaml").hardlink_to(spec)
    (tmp_path / "soft.yaml").symlink_to(spec)
    for same in (spec, tmp_path / "hard.yaml", tmp_path / "soft.yaml", tmp_path / "." / "net.yaml"):
        with pytest.raises(UserError, match="is an input of this command, which must not overwrite what it reads; "
                                            "choose another file with -o$"):
            write_output(same, "digraph {}", inputs=[spec], force=True)
    assert spec.read_bytes() == b"name: net\n"


def test_an_existing_file_is_replaced_only_with_force(tmp_path: Path) -> None:
    mine = tmp_path / "mine.json"
    mine.write_text("my own work")
    with pytest.raises(UserError) as refused:
        write_output(mine, "{}")
    assert str(refused.value) == f"{mine} already exists; {EXISTS_HINT}"
    assert refused.value.exit_code == 2 and mine.read_text() == "my own work"
    write_output(mine, "{}", force=True)
    assert mine.read_text() == "{}"


def test_an_unwritable_place_is_a_user_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UserError, match=f"^cannot write {blocker}/out.svg: .*; check that you can write to {blocker}$"):
        write_output(blocker / "out.svg", "x")


def test_dash_means_standard_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    write_output("-", "text\n")
    write_output("-", b"bytes\n", force=True)
    assert capfd.readouterr().out == "text\nbytes\n"
    with pytest.raises(UserError, match=r"this output cannot go to standard output \('-'\); name a file with -o"):
        write_output_with("-", lambda tmp: tmp.write_text("model"))
    assert list(tmp_path.iterdir()) == []


def _saved_model(content: str) -> object:
    def write(tmp: Path) -> None:
        tmp.mkdir()
        (tmp / "saved_model.pb").write_text(content)
    return write


def test_a_folder_output_replaces_only_an_earlier_one(tmp_path: Path) -> None:
    out = tmp_path / "export"
    write_output_with(out, _saved_model("one"), folder_marker="saved_model.pb")
    with pytest.raises(UserError, match="already exists"):
        write_output_with(out, _saved_model("two"), folder_marker="saved_model.pb")
    write_output_with(out, _saved_model("two"), force=True, folder_marker="saved_model.pb")
    assert [p.name for p in tmp_path.iterdir()] == ["export"] and (out / "saved_model.pb").read_text() == "two"

    def crash(tmp: Path) -> None:
        raise OSError(errno.EACCES, "Permission denied")

    with pytest.raises(UserError, match="Permission denied"):
        write_output_with(out, crash, force=True, folder_marker="saved_model.pb")
    assert [p.name for p in tmp_path.iterdir()] == ["export"] and (out / "saved_model.pb").read_text() == "two"
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "epoch-1.npz").write_bytes(b"weights")
    for folder, message in ((run / "checkpoints", r"is a folder but not an earlier export \(it has no saved_model.pb\)"),
                            (tmp_path, "holds an input of this command")):
        with pytest.raises(UserError, match=message):
            write_output_with(folder, _saved_model("x"), inputs=[run], force=True, folder_marker="saved_model.pb")
    assert (run / "checkpoints" / "epoch-1.npz").read_bytes() == b"weights"
