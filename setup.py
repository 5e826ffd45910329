"""Ship the checkout's calibration/ and scenarios/ folders as package data under sim/_data/.

The repository keeps them at the top level (their documented home); an installed batsim finds
its copy through sim.paths. Everything else is configured in pyproject.toml.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
DATA_DIRS = ("calibration", "scenarios")
SUFFIXES = {".yaml", ".json", ".txt", ".md"}


class BuildWithData(build_py):
    """build_py that also copies the shipped data folders into the built package."""

    def run(self) -> None:
        super().run()
        for name in DATA_DIRS:
            src = HERE / name
            dst = Path(self.build_lib) / "sim" / "_data" / name
            if dst.exists():
                shutil.rmtree(dst)
            for f in sorted(src.rglob("*")):
                if f.is_file() and f.suffix in SUFFIXES:
                    out = dst / f.relative_to(src)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(f, out)


setup(cmdclass={"build_py": BuildWithData})
