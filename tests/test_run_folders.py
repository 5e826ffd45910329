"""Run folders: lock, recovery of a killed writer, umask modes, environment errors, no silent overwrite."""
from __future__ import annotations

import errno
import json
import multiprocessing as mp
import os
import shutil
import stat
import time
from pathlib import Path

import pytest

from sim.core.errors import BadInput
from sim.outputs import atomic
from sim.outputs.atomic import OutputError, atomic_dir, folder_lock, write_text

from conftest import MAIN, SCENARIOS

ID = "graphite-controls-2025"


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """One real run of the main scenario (no plots): its folder, to copy into each test."""
    from sim.cli.main import main

    out = tmp_path_factory.mktemp("first")
    assert main(["run", str(MAIN), "--out", str(out), "--no-plots", "--quiet"]) == 0
    return out / ID


def _copy(first_run: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(first_run, out / ID)
    return out / ID


# ---- the rename window and stale temporary folders ---------------------------------------------

def test_a_result_left_in_old_between_the_renames_is_restored(tmp_path, first_run, cli):
    """Killed after `final -> .final.old-PID` and before `tmp -> final`: the next run restores it first."""
    out = tmp_path / "out"
    final = _copy(first_run, out)
    parked = out / f".{ID}.old-4242"
    os.replace(final, parked)
    (out / f".{ID}.tmp-4242-dead").mkdir()                    # the killed run's half-written folder
    with atomic_dir(final) as tmp:                                # what the next writer does, step by step
        assert final.is_dir() and not parked.exists()            # restored before anything is written
        assert json.loads((final / "manifest.json").read_text())["scenario"] == ID
        assert not (out / f".{ID}.tmp-4242-dead").exists()       # stale temporary folder removed
        (tmp / "x").write_text("new")
    assert _files(final) == {"x"}


def test_the_next_cli_run_reports_what_it_restored_and_cleaned(tmp_path, first_run, cli):
    out = tmp_path / "out"
    final = _copy(first_run, out)
    os.replace(final, out / f".{ID}.old-777")
    (out / f".{ID}.tmp-777-abcd").mkdir()
    (out / f".{ID}.tmp-777-abcd" / "timeseries.csv").write_text("half")
    code, _, err = cli("run", MAIN, "--out", out, "--no-plots", "--quiet")
    assert code == 0, err
    assert "restored the result of an interrupted run" in err and "removed" in err
    assert sorted(n for n in os.listdir(out) if not n.endswith(".lock")) == [ID]
    assert {"timeseries.csv", "summary.json", "manifest.json"} <= _files(final)


def test_an_old_folder_beside_a_complete_result_is_removed_not_restored(tmp_path, first_run):
    """Killed after the second rename, while deleting the old result: the new result stays."""
    out = tmp_path / "out"
    final = _copy(first_run, out)
    shutil.copytree(final, out / f".{ID}.old-99")
    (final / "marker").write_text("newest")
    with folder_lock(final):
        done = atomic.recover(final)
    assert (final / "marker").is_file() and not (out / f".{ID}.old-99").exists() and len(done) == 1


def test_an_error_while_writing_keeps_the_earlier_result(tmp_path, first_run):
    out = tmp_path / "out"
    final = _copy(first_run, out)
    before = (final / "summary.json").read_bytes()
    with pytest.raises(RuntimeError):
        with atomic_dir(final) as tmp:
            (tmp / "summary.json").write_text("{}")
            raise RuntimeError("boom")
    assert (final / "summary.json").read_bytes() == before
    assert [n for n in os.listdir(out) if ".tmp-" in n or ".old-" in n] == []


# ---- the lock ---------------------------------------------------------------------------------

def _hold_lock(folder: str, seconds: float, ready) -> None:
    with folder_lock(folder):
        ready.set()
        time.sleep(seconds)


def test_a_second_writer_waits_for_the_lock_then_proceeds(tmp_path):
    final = tmp_path / "out" / "x"
    ready = mp.get_context("fork").Event()
    holder = mp.get_context("fork").Process(target=_hold_lock, args=(str(final), 1.0, ready))
    holder.start()
    try:
        assert ready.wait(20)
        t0 = time.monotonic()
        with atomic_dir(final, wait=30) as tmp:
            waited = time.monotonic() - t0
            (tmp / "f").write_text("ok")
    finally:
        holder.join(20)
    assert waited > 0.3 and (final / "f").read_text() == "ok"


def test_a_second_writer_gives_up_with_exit_2_and_writes_nothing(tmp_path, monkeypatch, cli):
    out = tmp_path / "out"
    final = out / ID
    ready = mp.get_context("fork").Event()
    holder = mp.get_context("fork").Process(target=_hold_lock, args=(str(final), 30.0, ready))
    holder.start()
    try:
        assert ready.wait(20)
        monkeypatch.setattr(atomic, "LOCK_WAIT", 0.3)
        monkeypatch.setattr(atomic.folder_lock, "__defaults__", (0.3, "run"))
        code, _, err = cli("run", MAIN, "--out", out, "--no-plots", "--quiet")
    finally:
        holder.kill()
        holder.join(5)
    assert code == 2, err
    assert "another batsim run is writing this folder" in err and "Traceback" not in err
    assert not final.exists() and [n for n in os.listdir(out) if ".tmp-" in n] == []


def test_the_lock_of_a_killed_writer_is_free(tmp_path):
    """flock dies with its process: a SIGKILLed holder does not block the next run."""
    final = tmp_path / "x"
    ready = mp.get_context("fork").Event()
    holder = mp.get_context("fork").Process(target=_hold_lock, args=(str(final), 60.0, ready))
    holder.start()
    assert ready.wait(20)
    holder.kill()
    holder.join(5)
    with pytest.raises(BadInput):            # sanity: a live holder does block
        with folder_lock(tmp_path / "y"), _blocked(tmp_path / "y"):
            pass
    with folder_lock(final, wait=0.5):
        pass


def _blocked(folder: Path):
    """A second lock on a folder this process already holds (flock is per open file): must fail."""
    return folder_lock(folder, wait=0.2)


# ---- permissions follow the umask -------------------------------------------------------------

@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_run_folder_and_files_follow_the_umask(tmp_path, first_run, mask, cli):
    old = os.umask(mask)
    try:
        code, _, err = cli("run", MAIN, "--out", tmp_path / "o", "--no-plots", "--quiet")
        write_text(tmp_path / "t.txt", "x")
    finally:
        os.umask(old)
    assert code == 0, err
    final = tmp_path / "o" / ID
    assert stat.S_IMODE(final.stat().st_mode) == 0o777 & ~mask
    for f in final.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~mask, f
    assert stat.S_IMODE((tmp_path / "t.txt").stat().st_mode) == 0o666 & ~mask


def test_umask_is_read_without_changing_it():
    old = os.umask(0o027)
    try:
        assert atomic.umask() == 0o027 and atomic.file_mode() == 0o640
        assert atomic.umask() == 0o027
    finally:
        os.umask(old)


# ---- environment errors: exit 1, the path and the OS error, never "a bug in batsim" ----------

def _env_failure(err: str, *needles: str) -> None:
    assert "a bug in batsim" not in err and "Traceback" not in err and "internal error" not in err, err
    assert "a problem of the file system" in err
    for n in needles:
        assert n in err, (n, err)


def test_out_is_a_file(tmp_path, cli):
    f = tmp_path / "afile"
    f.write_text("keep me")
    code, _, err = cli("run", MAIN, "--out", f, "--no-plots")
    assert code == 1
    _env_failure(err, str(f), "is a file, not a folder")
    assert f.read_text() == "keep me"


def test_out_below_a_file(tmp_path, cli):
    f = tmp_path / "afile"
    f.write_text("")
    code, _, err = cli("run", MAIN, "--out", f / "sub", "--no-plots")
    assert code == 1
    _env_failure(err, str(f), "not a folder")


def test_full_disk_keeps_the_earlier_result(tmp_path, first_run, monkeypatch, cli):
    out = tmp_path / "out"
    final = _copy(first_run, out)
    before = {p.name: p.read_bytes() for p in final.iterdir()}
    real = Path.write_text

    def full(self, *a, **k):
        if ".tmp-" in str(self):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "write_text", full)
    code, _, err = cli("run", MAIN, "--out", out, "--no-plots")
    assert code == 1
    _env_failure(err, str(final), "No space left on device")
    assert {p.name: p.read_bytes() for p in final.iterdir()} == before
    assert [n for n in os.listdir(out) if ".tmp-" in n or ".old-" in n] == []


def test_read_only_folder(tmp_path, first_run, monkeypatch, cli):
    """A read-only folder (simulated: root ignores mode bits) gives the path and EROFS/EACCES."""
    out = tmp_path / "out"
    final = _copy(first_run, out)
    real = os.mkdir

    def ro(path, *a, **k):
        if ".tmp-" in str(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real(path, *a, **k)

    monkeypatch.setattr(atomic.os, "mkdir", ro)
    code, _, err = cli("run", MAIN, "--out", out, "--no-plots")
    assert code == 1
    _env_failure(err, str(out), "Read-only file system")
    assert (final / "summary.json").is_file()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_folder_for_real(tmp_path, cli):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        code, _, err = cli("run", MAIN, "--out", out, "--no-plots")
    finally:
        out.chmod(0o755)
    assert code == 1
    _env_failure(err, str(out), "Permission denied")


def test_output_error_names_path_and_os_error():
    e = OutputError("/x/y", OSError(errno.ENOSPC, "No space left on device", "/x/y/.f.tmp"))
    assert "'/x/y'" in str(e) and "No space left on device" in str(e) and e.errno == errno.ENOSPC


# ---- no silent overwrite ----------------------------------------------------------------------

def test_rerunning_the_same_file_replaces_its_own_folder(tmp_path, cli):
    out = tmp_path / "o"
    for _ in range(2):
        code, stdout, err = cli("run", MAIN, "--out", out, "--no-plots", "--quiet")
        assert code == 0, err
    assert stdout.strip() == str(out / ID) and "another scenario" not in err
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [ID]


def test_a_copied_scenario_with_the_same_id_gets_its_own_folder(tmp_path, cli):
    out = tmp_path / "o"
    copy = tmp_path / "study" / "mine.yaml"
    copy.parent.mkdir()
    copy.write_text(MAIN.read_text().replace("extends: baseline.yaml", f"extends: {SCENARIOS / 'baseline.yaml'}"))
    assert cli("run", MAIN, "--out", out, "--no-plots", "--quiet")[0] == 0
    original = (out / ID / "manifest.json").read_bytes()
    code, stdout, err = cli("run", copy, "--out", out, "--no-plots", "--quiet")
    assert code == 0, err
    assert stdout.strip() == str(out / f"{ID}-2") and "holds the result of another scenario file" in err
    assert (out / ID / "manifest.json").read_bytes() == original            # not replaced
    assert json.loads((out / f"{ID}-2" / "manifest.json").read_text())["scenario_path"] == str(copy.resolve())
    code, stdout, _ = cli("run", copy, "--out", out, "--no-plots", "--quiet")   # the copy again: its own -2
    assert stdout.strip() == str(out / f"{ID}-2")
    code, stdout, _ = cli("run", MAIN, "--out", out, "--no-plots", "--quiet")   # the original: its own folder
    assert stdout.strip() == str(out / ID)


def test_a_folder_that_is_not_a_run_is_never_replaced(tmp_path, cli):
    out = tmp_path / "o"
    (out / ID).mkdir(parents=True)
    (out / ID / "notes.txt").write_text("mine")
    code, stdout, err = cli("run", MAIN, "--out", out, "--no-plots", "--quiet")
    assert code == 0 and stdout.strip() == str(out / f"{ID}-2") and "not a batsim run" in err
    assert (out / ID / "notes.txt").read_text() == "mine"


def test_an_empty_folder_is_used(tmp_path, cli):
    out = tmp_path / "o"
    (out / ID).mkdir(parents=True)
    code, stdout, _ = cli("run", MAIN, "--out", out, "--no-plots", "--quiet")
    assert code == 0 and stdout.strip() == str(out / ID)


def test_python_api_write_follows_the_same_policy(tmp_path):
    import sim

    res = sim.run(sim.load_scenario(MAIN))
    a = res.write(tmp_path, plots=False)
    b = res.write(tmp_path, plots=False)
    assert a == b == tmp_path / ID
