"""Helpers for the end-to-end engine tests (fixtures live in conftest.py)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ciorch.config import Fleet, load_fleet
from ciorch.engine.context import Engine, open_engine

ROOT = Path(__file__).parent.parent.parent
MASTER_IMAGE = "ciorch/master-emulator:latest"


@dataclass
class Controller:
    root: Path
    owner: str
    runtime_kind: str
    make_runtime: Any

    @property
    def config(self) -> Path:
        return self.root / "ciorch.yaml"

    def fleet(self) -> Fleet:
        return load_fleet([self.config])

    def engine(self) -> Engine:
        fleet = self.fleet()
        assert fleet.controller is not None
        return open_engine(fleet.controller, runtime=self.make_runtime())


def write_controller(root: Path, master_image: str) -> None:
    shutil.copytree(ROOT / "examples" / "teams", root / "teams")
    (root / "ciorch.yaml").write_text(
        "runtime:\n  kind: docker\n  docker:\n    master_ports: [18700, 18799]\n"
        "state:\n  path: state/ciorch.db\n"
        f"teams_dir: teams\ntemplates_dir: {ROOT / 'job_templates'}\n"
        f"defaults:\n  master_image: {master_image}\n"
    )
