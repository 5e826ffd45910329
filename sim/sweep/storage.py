"""A sweep folder: Parquet shards per chunk and a manifest of finished chunks.

```
<out>/<scenario-id>-<method>/
  manifest.json              settings, seeds, factors, scenario and design hashes, finished chunks
  design/chunk-00000.parquet sample, one column per factor (its unit; dates as day ordinals)
  results/chunk-00000.parquet sample, one column per KPI, error (null unless the sample failed)
  series/chunk-00000.parquet  sample, series, values (the kept subsample of time series)
  indices.csv  bands.csv  summary.json  plots/*.png
```

Every file is written to a temporary name in the same folder and renamed into place
(``os.replace``), so a crash or Ctrl-C leaves whole files or none. A chunk counts as finished
once its result shard is in place *and* the manifest lists it with the sha256 of its shards
and its sample ids (``shards``); ``--resume`` verifies both (:meth:`Store.verify`), recomputes
a chunk whose shard is missing, damaged or another chunk's, and removes stray ``*.tmp`` files.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..core.errors import BadInput, Problem
from ..outputs.atomic import file_mode, write_text

MANIFEST = "manifest.json"
FORMAT = "batsim-sweep/1"


def _sha(path: Path) -> str:
    """sha256 of a file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def scenario_fingerprint(scn: Any) -> dict[str, Any]:
    """sha256 of every file that decides the numbers: the scenario chain and the registry."""
    files = [{"path": str(Path(f).resolve()), "role": "scenario", "sha256": _sha(Path(f))} for f in scn.files]
    files += [{"path": str(Path(f).resolve()), "role": "registry", "sha256": _sha(Path(f))} for f in scn.registry.files]
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f['role']}\0{Path(f['path']).name}\0{f['sha256']}\n".encode())
    return {"id": scn.id, "files": files, "hash": h.hexdigest()}


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary sibling of ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, file_mode())      # mkstemp makes 0600; results follow the umask like any file
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_parquet(path: Path, columns: dict[str, Any]) -> None:
    """Write a table of columns (numpy arrays or lists) as one Parquet file, atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(columns)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def _now() -> str:
    """UTC time stamp for the manifest."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Store:
    """One sweep folder: its manifest and shards."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.manifest: dict[str, Any] = {}

    # ---- manifest --------------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self.folder / MANIFEST

    def exists(self) -> bool:
        return self.path.is_file()

    def read(self) -> dict[str, Any]:
        """Load the manifest (BadInput if it is not a sweep manifest)."""
        try:
            m = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BadInput([Problem(str(self.path), 1, 1, f"cannot read the sweep manifest: {exc}",
                                    "remove the folder to start the sweep again")]) from None
        if m.get("format") != FORMAT:
            raise BadInput([Problem(str(self.path), 1, 1, "not a batsim sweep manifest",
                                    "choose another --out, or remove the folder")])
        self.manifest = m
        return m

    def save(self) -> None:
        """Write the manifest atomically."""
        self.manifest["updated_utc"] = _now()
        write_text(self.path, json.dumps(self.manifest, indent=1, default=_json_default) + "\n")

    def create(self, manifest: dict[str, Any]) -> None:
        """Start a new sweep folder with ``manifest``; shards of an earlier attempt that finished nothing go."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for kind in ("design", "results", "series"):
            for f in (self.folder / kind).glob("chunk-*.parquet"):
                f.unlink()
        self.manifest = {"format": FORMAT, "created_utc": _now(), **manifest, "finished": [], "failures": 0,
                         "status": "running"}
        self.save()

    def finished(self) -> set[int]:
        """Chunks listed as finished whose result shard is in place."""
        return {i for i in self.manifest.get("finished", []) if self.shard("results", i).is_file()}

    def mark_done(self, index: int, failures: int, seconds: float, record: dict[str, Any] | None = None) -> None:
        """Record a finished chunk (after its shards are written), with its checksums and sample ids."""
        done = set(self.manifest.get("finished", []))
        done.add(int(index))
        self.manifest["finished"] = sorted(done)
        if record is not None:
            self.manifest.setdefault("shards", {})[str(int(index))] = record
        self.manifest["failures"] = int(self.manifest.get("failures", 0)) + int(failures)
        self.manifest["eval_seconds"] = float(self.manifest.get("eval_seconds", 0.0)) + float(seconds)
        self.save()

    # ---- shards ----------------------------------------------------------------------------------
    def shard(self, kind: str, index: int) -> Path:
        """Path of the ``kind`` shard (design, results, series) of chunk ``index``."""
        return self.folder / kind / f"chunk-{index:05d}.parquet"

    def write_design(self, index: int, start: int, values: np.ndarray, ids: list[str]) -> None:
        """The design rows of one chunk (its sha256 goes into the manifest's ``design_shards``)."""
        cols: dict[str, Any] = {"sample": np.arange(start, start + len(values), dtype=np.int64)}
        cols.update({pid: np.ascontiguousarray(values[:, j]) for j, pid in enumerate(ids)})
        write_parquet(self.shard("design", index), cols)
        self.manifest.setdefault("design_shards", {})[str(int(index))] = _sha(self.shard("design", index))

    def write_result(self, res: Any) -> dict[str, Any]:
        """The KPIs (and errors, and kept series) of one finished chunk; returns its manifest record."""
        import pyarrow as pa

        err: list[str | None] = [None] * res.n
        for row, msg in res.errors:
            err[row] = msg
        cols: dict[str, Any] = {"sample": np.arange(res.start, res.start + res.n, dtype=np.int64)}
        cols.update({k: np.asarray(v, dtype=float) for k, v in res.kpis.items()})
        cols["error"] = pa.array(err, type=pa.string())
        if res.series:
            names = sorted(res.series)
            T = res.series[names[0]].shape[1]
            flat = np.concatenate([res.series[k] for k in names], axis=0).astype(np.float32).ravel()
            vals = pa.FixedSizeListArray.from_arrays(pa.array(flat, type=pa.float32()), T)
            write_parquet(self.shard("series", res.index), {
                "sample": np.tile(res.start + res.keep.astype(np.int64), len(names)),
                "series": pa.array([k for k in names for _ in range(len(res.keep))], type=pa.string()),
                "values": vals})
        write_parquet(self.shard("results", res.index), cols)
        series = self.shard("series", res.index)
        return {"samples": [int(res.start), int(res.start + res.n)], "results": _sha(self.shard("results", res.index)),
                "series": _sha(series) if res.series else None}

    # ---- verification (resume) -------------------------------------------------------------------
    def clean_tmp(self) -> list[Path]:
        """Remove temporary files a killed writer left (``.*.tmp``); call with the folder's lock held."""
        gone = []
        for where in (self.folder, *(self.folder / k for k in ("design", "results", "series", "plots"))):
            for f in where.glob(".*.tmp") if where.is_dir() else ():
                with contextlib.suppress(FileNotFoundError):
                    f.unlink()
                    gone.append(f)
        return gone

    def _shard_problem(self, index: int, record: dict[str, Any] | None, expect: tuple[int, int]) -> str | None:
        """Why chunk ``index``'s result (and series) shard cannot be trusted, or None if it checks out."""
        import pyarrow.parquet as pq

        path = self.shard("results", index)
        if not path.is_file():
            return "its result shard is missing"
        if record is None:
            return "the manifest has no checksum for it (written by an older batsim)"
        if list(record.get("samples", [])) != list(expect):
            return f"the manifest lists samples {record.get('samples')} for it, expected {list(expect)}"
        if _sha(path) != record.get("results"):
            return "its result shard does not match its sha256 in the manifest (damaged or replaced)"
        if record.get("series") is not None:
            sp = self.shard("series", index)
            if not sp.is_file() or _sha(sp) != record["series"]:
                return "its series shard is missing or does not match its sha256"
        try:
            ids = pq.read_table(path, columns=["sample"]).column("sample").to_numpy()
        except Exception as exc:  # noqa: BLE001 - any unreadable Parquet
            return f"its result shard cannot be read ({exc.__class__.__name__})"
        if not np.array_equal(ids, np.arange(*expect)):
            return f"its result shard holds samples {ids[:1].tolist()}..{ids[-1:].tolist()}, not {expect[0]}..{expect[1] - 1}"
        return None

    def verify(self, chunk_size: int, evaluations: int, log: Callable[[str], None]) -> set[int]:
        """Check every finished chunk's shards against the manifest; drop (and delete) the ones that fail.

        Design shards that fail their checksum are deleted too, so that the caller rewrites them
        from the design. Returns the chunks that are really finished.
        """
        shards = self.manifest.get("shards", {})
        good: set[int] = set()
        for i in sorted(self.manifest.get("finished", [])):
            expect = (i * chunk_size, min((i + 1) * chunk_size, evaluations))
            why = self._shard_problem(i, shards.get(str(i)), expect)
            if why is None:
                good.add(i)
                continue
            log(f"resume: chunk {i} will be recomputed: {why}")
            for kind in ("results", "series"):
                with contextlib.suppress(FileNotFoundError):
                    self.shard(kind, i).unlink()
            shards.pop(str(i), None)
        self.manifest["finished"] = sorted(good)
        for key, sha in list(self.manifest.get("design_shards", {}).items()):
            p = self.shard("design", int(key))
            if p.is_file() and _sha(p) != sha:
                log(f"resume: design shard {p.name} does not match its sha256; rewriting it from the design")
                p.unlink()
        return good

    def read_results(self, chunks: int) -> tuple[dict[str, np.ndarray], list[str | None]]:
        """KPI arrays over all samples (in sample order) and the error of each sample."""
        import pyarrow.parquet as pq

        tables = [pq.read_table(self.shard("results", i)) for i in range(chunks)]
        names: list[str] = []
        for t in tables:
            names += [c for c in t.column_names if c not in ("sample", "error") and c not in names]
        kpis = {}
        for k in names:
            kpis[k] = np.concatenate([t.column(k).to_numpy(zero_copy_only=False) if k in t.column_names
                                      else np.full(t.num_rows, np.nan) for t in tables]).astype(float)
        errors: list[str | None] = []
        for t in tables:
            errors += t.column("error").to_pylist()
        return kpis, errors

    def read_series(self, chunks: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Kept series: name -> (sample ids (k,), values (k, T)), in sample order."""
        import pyarrow.parquet as pq

        acc: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        for i in range(chunks):
            p = self.shard("series", i)
            if not p.is_file():
                continue
            t = pq.read_table(p)
            vals = t.column("values").combine_chunks()
            T = vals.type.list_size
            mat = vals.flatten().to_numpy(zero_copy_only=False).reshape(-1, T)
            names = np.asarray(t.column("series").to_pylist())
            samples = t.column("sample").to_numpy()
            for k in dict.fromkeys(names):
                m = names == k
                acc.setdefault(str(k), []).append((samples[m], mat[m]))
        return {k: (np.concatenate([a for a, _ in v]), np.concatenate([b for _, b in v], axis=0))
                for k, v in acc.items()}

    def read_design(self, chunks: int) -> tuple[list[str], np.ndarray]:
        """Factor ids and the design matrix from the design shards."""
        import pyarrow.parquet as pq

        tables = [pq.read_table(self.shard("design", i)) for i in range(chunks)]
        ids = [c for c in tables[0].column_names if c != "sample"]
        return ids, np.concatenate([np.column_stack([t.column(c).to_numpy() for c in ids]) for t in tables])


def check_resume(old: dict[str, Any], new: dict[str, Any], folder: Path) -> None:
    """Refuse (BadInput, exit 2) to resume when the scenario files or the design changed."""
    problems: list[Problem] = []
    where = str(folder / MANIFEST)
    if old.get("scenario", {}).get("hash") != new.get("scenario", {}).get("hash"):
        before = {f["path"]: f["sha256"] for f in old.get("scenario", {}).get("files", [])}
        after = {f["path"]: f["sha256"] for f in new.get("scenario", {}).get("files", [])}
        changed = [p for p in sorted(set(before) | set(after)) if before.get(p) != after.get(p)]
        shown = ", ".join(Path(p).name for p in changed[:6]) + (" ..." if len(changed) > 6 else "")
        problems.append(Problem(where, 1, 1, f"cannot resume: the scenario or registry changed since the sweep "
                                             f"started ({shown or 'different scenario'})",
                                "results computed with the old inputs would be mixed with new ones; restore the "
                                "files, or start a new sweep with another --out (the finished chunks are kept)"))
    def setting(m: dict[str, Any], k: str) -> Any:
        v = m.get(k)
        return v.get("seed") if k == "seed" and isinstance(v, dict) else v

    diffs = [f"{k}: {setting(old, k)!r} -> {setting(new, k)!r}" for k in ("method", "samples", "seed", "chunk_size")
             if setting(old, k) != setting(new, k)]
    old_ids = [f["id"] for f in old.get("factors", [])]
    new_ids = [f["id"] for f in new.get("factors", [])]
    if old_ids != new_ids:
        diffs.append(f"params: {','.join(old_ids)} -> {','.join(new_ids)}")
    if old.get("design", {}).get("hash") != new.get("design", {}).get("hash"):
        if not diffs:
            diffs.append("parameter ranges or distributions")
        problems.append(Problem(where, 1, 1, "cannot resume: the design changed (" + "; ".join(diffs) + ")",
                                "rerun --resume with the settings the sweep started with (see the manifest), or "
                                "start a new sweep with another --out; nothing was changed"))
    elif diffs:
        problems.append(Problem(where, 1, 1, "cannot resume: " + "; ".join(diffs),
                                "resume with the settings the sweep started with; nothing was changed"))
    if problems:
        raise BadInput(problems)


def _json_default(v: Any) -> Any:
    """JSON for numpy scalars, arrays and dates."""
    if isinstance(v, (np.integer, np.floating)):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return str(v)
