"""What made a derived file: config hashes, the code version and stage manifests.

Every stage of :mod:`mocap.pipeline` writes its outputs into ``derived/<stage>/`` of a take and,
last, a manifest ``derived/<stage>/stage.toml``::

    schema_version = 1
    stage = "triangulate"
    key = "3f9c..."                 # cache key: config hash + input keys + package version
    config_hash = "a41b..."         # sha256 of the stage config (canonical JSON)
    code_version = "0.1.0+g1a2b3c4" # package version and git commit when run from a checkout
    created = "2025-01-31T14:02:11+01:00"
    seconds = 1.25
    [config]                        # the stage config itself
    [inputs]                        # upstream stage -> its key
    [[outputs]]
    file = "poses3d.npz"
    sha256 = "..."
    bytes = 123456

The manifest is written atomically after the outputs, so its presence with matching file hashes
means the stage finished; a stage interrupted half-way has no manifest and runs again. Exports
(``exports/``) are listed in the manifest of the ``export`` stage the same way.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import tomli_w

from calibration.files import write_text_atomic
from mocap import __version__
from mocap.errors import FileFormatError

MANIFEST_NAME = "stage.toml"
MANIFEST_SCHEMA_VERSION = 1
_REPO_ROOT = Path(__file__).resolve().parents[2]


def now_iso() -> str:
    """The local time now, ISO 8601 with offset, to the second."""
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def _git_commit(root: Path) -> str | None:
    """The commit of a git checkout at ``root`` read from ``.git`` (no subprocess), or None."""
    git = root / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = head[5:]
            ref_file = git / ref
            if ref_file.is_file():
                return ref_file.read_text().strip()
            packed = git / "packed-refs"
            for line in packed.read_text().splitlines() if packed.is_file() else []:
                if line.endswith(" " + ref):
                    return line.split()[0]
            return None
        return head
    except OSError:
        return None


@lru_cache(maxsize=1)
def code_version() -> str:
    """``mocap.__version__``, plus ``+g<commit>`` when running from a git checkout."""
    commit = _git_commit(_REPO_ROOT)
    return f"{__version__}+g{commit[:10]}" if commit else __version__


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal configs give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def config_hash(config: Mapping[str, Any]) -> str:
    """sha256 (hex) of a config's canonical JSON."""
    return hashlib.sha256(canonical_json(dict(config)).encode("utf-8")).hexdigest()


def stage_key(stage: str, config: Mapping[str, Any], inputs: Mapping[str, str]) -> str:
    """Cache key of a stage run: its name, config, upstream keys and the package version.

    The package version (not the commit) is part of the key, so a release invalidates caches
    while day-to-day work in a checkout reuses them; the commit is recorded in the manifest.
    """
    payload = {"stage": stage, "config": config_hash(config), "inputs": dict(inputs), "version": __version__}
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class OutputRecord:
    """One file a stage wrote: path relative to the take folder, its hash and size."""

    file: str
    sha256: str
    bytes: int


@dataclass(frozen=True)
class StageManifest:
    """The manifest of a finished stage (see the module docstring)."""

    stage: str
    key: str
    config_hash: str
    code_version: str
    created: str
    seconds: float
    config: Mapping[str, Any]
    inputs: Mapping[str, str]
    outputs: tuple[OutputRecord, ...]

    def to_toml(self) -> str:
        document = {
            "schema_version": MANIFEST_SCHEMA_VERSION,
            "stage": self.stage,
            "key": self.key,
            "config_hash": self.config_hash,
            "code_version": self.code_version,
            "created": self.created,
            "seconds": round(self.seconds, 4),
            "config": _toml_safe(self.config),
            "inputs": dict(self.inputs),
            "outputs": [{"file": o.file, "sha256": o.sha256, "bytes": o.bytes} for o in self.outputs],
        }
        return tomli_w.dumps(document)


def _toml_safe(value: Any) -> Any:
    """Config values TOML can hold: None dropped, tuples as lists, paths as strings."""
    if isinstance(value, Mapping):
        return {str(k): _toml_safe(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_toml_safe(v) for v in value if v is not None]
    if isinstance(value, Path):
        return str(value)
    return value


def record_outputs(take_dir: Path, files: list[Path]) -> tuple[OutputRecord, ...]:
    """Hash ``files`` (inside ``take_dir``) for a manifest."""
    return tuple(
        OutputRecord(str(f.resolve().relative_to(take_dir.resolve())), file_sha256(f), f.stat().st_size) for f in files
    )


def write_manifest(path: Path, manifest: StageManifest) -> Path:
    """Write a manifest atomically."""
    return write_text_atomic(path, manifest.to_toml())


def read_manifest(path: Path) -> StageManifest:
    """Read a manifest.

    Raises:
        FileFormatError: unreadable TOML or a missing field (with the file named).
    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FileFormatError(path, "", f"not a readable stage manifest ({exc})") from None
    try:
        if int(document["schema_version"]) > MANIFEST_SCHEMA_VERSION:
            raise FileFormatError(path, "schema_version", "written by a newer mocap-studio; upgrade to read it")
        return StageManifest(
            stage=str(document["stage"]),
            key=str(document["key"]),
            config_hash=str(document["config_hash"]),
            code_version=str(document["code_version"]),
            created=str(document["created"]),
            seconds=float(document["seconds"]),
            config=dict(document.get("config", {})),
            inputs={str(k): str(v) for k, v in document.get("inputs", {}).items()},
            outputs=tuple(
                OutputRecord(str(o["file"]), str(o["sha256"]), int(o["bytes"])) for o in document.get("outputs", [])
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise FileFormatError(path, str(exc).strip("'"), "missing or malformed in the stage manifest") from None


def outputs_intact(take_dir: Path, manifest: StageManifest) -> bool:
    """True when every output of ``manifest`` exists with the recorded size and hash."""
    for output in manifest.outputs:
        path = take_dir / output.file
        if not path.is_file() or path.stat().st_size != output.bytes or file_sha256(path) != output.sha256:
            return False
    return True
