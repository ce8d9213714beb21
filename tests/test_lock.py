"""The lock file pins every dependency pyproject.toml asks for, at a version it allows (else: run `make lock`)."""

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def _pins() -> dict[str, list[Requirement]]:
    pins: dict[str, list[Requirement]] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            req = Requirement(line)
            pins.setdefault(canonicalize_name(req.name), []).append(req)
    return pins


def test_every_dependency_is_pinned_at_an_allowed_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]
    pins = _pins()
    stale = []
    for req in wanted:
        versions = [next(iter(pin.specifier)).version for pin in pins.get(canonicalize_name(req.name), [])]
        if not any(req.specifier.contains(v, prereleases=True) for v in versions):
            stale.append(str(req))
    assert not stale, f"requirements.lock does not satisfy {stale}: run `make lock` and commit requirements.lock"


def test_every_pin_is_exact():
    loose = [str(req) for reqs in _pins().values() for req in reqs
             if len(req.specifier) != 1 or next(iter(req.specifier)).operator != "=="]
    assert not loose, f"requirements.lock must pin exact versions: {loose}"
