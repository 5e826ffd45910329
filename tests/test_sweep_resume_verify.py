"""`--resume` trusts no shard blindly: sha256 and sample ids from the manifest, one test per kind of damage.

Also: stray temporary files removed, a symlinked sweep folder refused, a second sweep into the
same folder locked out, sweep files following the umask.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from sim.core.errors import BadInput
from sim.outputs.atomic import folder_lock
from sim.sweep import analytic as an
from sim.sweep.run import sweep_function

from conftest import STRICT

CHUNKS, CS = 4, 100


def _sweep(folder: Path, log: list[str] | None = None, resume: bool = False):
    return sweep_function(an.ishigami, an.ishigami_factors(), "mc", samples=CHUNKS * CS, seed=5, workers=1,
                          folder=folder, chunk_size=CS, resume=resume, log=(log.append if log is not None else print))


@pytest.fixture(scope="module")
def done(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("verify") / "sweep"
    _sweep(folder)
    return folder


def _results(folder: Path) -> np.ndarray:
    return np.concatenate([pq.read_table(folder / "results" / f"chunk-{i:05d}.parquet").column("y").to_numpy()
                           for i in range(CHUNKS)])


def _damage_and_resume(done: Path, tmp_path: Path, damage) -> tuple[Path, list[str]]:
    folder = tmp_path / "sweep"
    shutil.copytree(done, folder)
    m = json.loads((folder / "manifest.json").read_text())
    m["status"] = "running"
    (folder / "manifest.json").write_text(json.dumps(m))
    damage(folder / "results" / "chunk-00001.parquet", folder)
    log: list[str] = []
    _sweep(folder, log, resume=True)
    return folder, log


def _recomputed(log: list[str]) -> list[str]:
    return [line for line in log if line.startswith("resume: chunk")]


def test_manifest_records_checksums_and_sample_ids(done):
    m = json.loads((done / "manifest.json").read_text())
    import hashlib

    for i in range(CHUNKS):
        rec = m["shards"][str(i)]
        assert rec["samples"] == [i * CS, (i + 1) * CS]
        assert rec["results"] == hashlib.sha256((done / "results" / f"chunk-{i:05d}.parquet").read_bytes()).hexdigest()
        assert m["design_shards"][str(i)] == hashlib.sha256(
            (done / "design" / f"chunk-{i:05d}.parquet").read_bytes()).hexdigest()


def test_an_intact_folder_resumes_without_recomputing(done, tmp_path):
    folder, log = _damage_and_resume(done, tmp_path, lambda p, f: None)
    assert _recomputed(log) == [] and "resuming: 4/4 chunks already finished, 0 to go" in log
    np.testing.assert_array_equal(_results(folder), _results(done))


def _truncate(p: Path, folder: Path) -> None:
    b = p.read_bytes()
    p.write_bytes(b[: len(b) // 2])


def _flip(p: Path, folder: Path) -> None:
    b = bytearray(p.read_bytes())
    b[len(b) // 3] ^= 0xFF
    p.write_bytes(bytes(b))


def _alter_numbers(p: Path, folder: Path) -> None:
    t = pq.read_table(p)
    y = t.column("y").to_numpy() * 2.0 + 1.0
    pq.write_table(t.set_column(t.column_names.index("y"), "y", [y]), p)   # a valid Parquet file


def _foreign(p: Path, folder: Path) -> None:
    shutil.copy(folder / "results" / "chunk-00002.parquet", p)              # another chunk's shard


@pytest.mark.parametrize("damage", [_truncate, _flip, _alter_numbers, _foreign],
                         ids=["truncated", "byte-flipped", "altered-numbers", "other-chunk"])
def test_a_damaged_shard_is_recomputed_and_said_so(done, tmp_path, damage):
    folder, log = _damage_and_resume(done, tmp_path, damage)
    said = _recomputed(log)
    assert len(said) == 1 and said[0].startswith("resume: chunk 1 will be recomputed") and "sha256" in said[0]
    assert "resuming: 3/4 chunks already finished, 1 to go" in log
    np.testing.assert_array_equal(_results(folder), _results(done))         # the right numbers again
    assert json.loads((folder / "manifest.json").read_text())["status"] == "complete"


def test_a_shard_with_the_wrong_sample_ids_is_recomputed_even_if_its_checksum_was_updated(done, tmp_path):
    import hashlib

    def swap(p: Path, folder: Path) -> None:
        _foreign(p, folder)
        m = json.loads((folder / "manifest.json").read_text())
        m["shards"]["1"]["results"] = hashlib.sha256(p.read_bytes()).hexdigest()   # a consistent-looking lie
        (folder / "manifest.json").write_text(json.dumps(m))

    folder, log = _damage_and_resume(done, tmp_path, swap)
    said = _recomputed(log)
    assert len(said) == 1 and "holds samples [200]..[299], not 100..199" in said[0]
    np.testing.assert_array_equal(_results(folder), _results(done))


def test_chunks_without_a_checksum_are_recomputed(done, tmp_path):
    def drop(p: Path, folder: Path) -> None:
        m = json.loads((folder / "manifest.json").read_text())
        del m["shards"]
        (folder / "manifest.json").write_text(json.dumps(m))

    folder, log = _damage_and_resume(done, tmp_path, drop)
    assert len(_recomputed(log)) == CHUNKS and all("no checksum" in s for s in _recomputed(log))
    np.testing.assert_array_equal(_results(folder), _results(done))


def test_a_damaged_design_shard_is_rewritten(done, tmp_path):
    def flip_design(p: Path, folder: Path) -> None:
        _flip(folder / "design" / "chunk-00003.parquet", folder)

    folder, log = _damage_and_resume(done, tmp_path, flip_design)
    assert any("design shard chunk-00003.parquet does not match" in s for s in log)
    for i in range(CHUNKS):
        assert (folder / "design" / f"chunk-{i:05d}.parquet").read_bytes() == \
            (done / "design" / f"chunk-{i:05d}.parquet").read_bytes()


def test_stray_temporary_files_are_removed_on_resume(done, tmp_path):
    def strays(p: Path, folder: Path) -> None:
        (folder / "results" / ".chunk-00001.parquet.k3j4.tmp").write_bytes(b"PAR1 half")
        (folder / "series").mkdir(exist_ok=True)
        (folder / "series" / ".chunk-00000.parquet.zz.tmp").write_bytes(b"")
        (folder / ".manifest.json.ab12.tmp").write_text("{")

    folder, log = _damage_and_resume(done, tmp_path, strays)
    assert "resume: removed 3 temporary file(s) left by an interrupted sweep" in log
    assert list(folder.rglob("*.tmp")) == []


def test_a_symlinked_sweep_folder_is_refused(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / "sweep"
    link.symlink_to(target)
    with pytest.raises(BadInput) as exc:
        _sweep(link)
    assert "symbolic link" in str(exc.value.problems[0])
    assert list(target.iterdir()) == []


def test_a_symlinked_sweep_folder_is_refused_by_the_cli_with_exit_2(tmp_path, cli):
    scn = tmp_path / "s.yaml"
    scn.write_text(f"extends: {STRICT}\nid: link-test\n")
    (tmp_path / "target").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "link-test-oat").symlink_to(tmp_path / "target")
    code, _, err = cli("sweep", scn, "--method", "oat", "--params", "controls.diversion", "--out", tmp_path / "out",
                       "--no-progress", "--no-plots")
    assert code == 2 and "symbolic link" in err and "Traceback" not in err
    assert list((tmp_path / "target").iterdir()) == []


def _hold(folder: str, ready, release) -> None:
    with folder_lock(folder, what="sweep"):
        ready.set()
        release.wait(30)


def test_a_second_sweep_into_a_locked_folder_exits_2(tmp_path, monkeypatch):
    import sim.outputs.atomic as atomic

    folder = tmp_path / "sweep"
    ctx = mp.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(folder), ready, release))
    holder.start()
    try:
        assert ready.wait(20)
        monkeypatch.setattr(atomic.folder_lock, "__defaults__", (0.3, "run"))
        with pytest.raises(BadInput) as exc:
            _sweep(folder)
    finally:
        release.set()
        holder.join(10)
    assert "another batsim sweep is writing this folder" in str(exc.value.problems[0])
    assert not (folder / "manifest.json").exists()


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_sweep_files_follow_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        _sweep(tmp_path / "sweep")
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "sweep").rglob("*") if p.is_file()]
    assert len(files) == 2 * CHUNKS + 3                 # design and result shards, manifest, indices, summary
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~mask, f
    for d in [tmp_path / "sweep", *(p for p in (tmp_path / "sweep").rglob("*") if p.is_dir())]:
        assert stat.S_IMODE(d.stat().st_mode) == 0o777 & ~mask, d
