"""The import contract of pyproject.toml covers the whole lessons' library: a new core module that
the contract does not list would escape the rule that the core imports no edition and no toolkit."""

import pkgutil
import tomllib
from pathlib import Path

import companion

ROOT = Path(__file__).resolve().parents[2]
EDITIONS_AND_TOOLKIT = ("torch", "tf", "book", "__main__")


def contracts() -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["importlinter"]["contracts"]


def test_every_core_module_is_bound_by_the_core_contract():
    core = {
        f"companion.{m.name}"
        for m in pkgutil.iter_modules(companion.__path__)
        if m.name not in EDITIONS_AND_TOOLKIT
    }
    listed = set(contracts()[0]["source_modules"])
    assert core == listed, f"add to / remove from the contract: {sorted(core ^ listed)}"


def test_the_core_contract_forbids_the_editions_the_toolkit_and_the_frameworks():
    forbidden = set(contracts()[0]["forbidden_modules"])
    assert {"companion.torch", "companion.tf", "companion.book"} <= forbidden
    assert {"torch", "tensorflow", "keras"} <= forbidden
    assert any(
        c["type"] == "independence" and set(c["modules"]) == {"companion.torch", "companion.tf"}
        for c in contracts()
    )
