"""Typed application settings, stored as one TOML file under the platformdirs config directory.

Each section is a dataclass. An unknown key is ignored with a warning that names it. A value of
the wrong type falls back to the default with a warning that names the key and the value
found. So a hand-edited file cannot stop the application from starting.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

logger = logging.getLogger(__name__)

APP_NAME = "mammo-workstation"
SETTINGS_FILE_NAME = "settings.toml"


def config_dir() -> Path:
    """Return the user config folder, or ``MAMMO_WORKSTATION_CONFIG_DIR`` when set (tests, kiosks)."""
    override = os.environ.get("MAMMO_WORKSTATION_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME))


def cache_dir() -> Path:
    """Return the user cache folder, or ``MAMMO_WORKSTATION_CACHE_DIR`` when set."""
    override = os.environ.get("MAMMO_WORKSTATION_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME))


def site_config_dir() -> Path:
    """Return the site-wide config folder, or ``MAMMO_WORKSTATION_SITE_DIR`` when set."""
    override = os.environ.get("MAMMO_WORKSTATION_SITE_DIR")
    return Path(override) if override else Path(platformdirs.site_config_dir(APP_NAME))


@dataclass
class DisplaySettings:
    """Screen calibration and rendering choices."""

    # True-size correction: the length a ruler measures on screen for a line the viewer shows
    # as 100 mm, divided by 100. The operating system's physical screen size is often wrong on
    # medical displays; measure once and enter the factor here.
    true_size_calibration: float = 1.0
    # Use the numpy renderer even when OpenGL works (for diagnosing driver problems).
    force_software_rendering: bool = False


@dataclass
class RemoteNode:
    """A remote DICOM application entity (a PACS) that we query and retrieve from."""

    name: str = ""
    ae_title: str = ""
    host: str = ""
    port: int = 104
    # "C-MOVE" sends the images to our Storage SCP on a second association; "C-GET" returns
    # them on the query association, so no firewall opening or AE registration is needed.
    retrieve_method: str = "C-MOVE"
    tls: bool = False
    # PEM files; empty means the system trust store (CA) and no client certificate.
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""


@dataclass
class LocalAE:
    """Our own application entity: the calling AE title and the Storage SCP that receives."""

    ae_title: str = "MAMMOWS"
    # Port of the Storage SCP that receives C-MOVE sub-operations; 0 leaves it off, so a fresh
    # install opens no listening socket until the user enables it (C-GET works without it).
    port: int = 0
    bind_address: str = "0.0.0.0"
    # Calling AE titles the Storage SCP accepts; empty accepts any.
    allowed_calling_ae_titles: list[str] = field(default_factory=list)


@dataclass
class PacsSettings:
    """Remote nodes, the local AE and the local cache of retrieved studies."""

    nodes: list[RemoteNode] = field(default_factory=list, metadata={"item_type": RemoteNode})
    local: LocalAE = field(default_factory=LocalAE)
    # Size quota of the local cache in MB; least recently used studies are evicted above it.
    cache_quota_mb: int = 20000
    # Seconds to wait for a peer to connect or answer a message.
    network_timeout_s: float = 30.0


@dataclass
class Settings:
    display: DisplaySettings = field(default_factory=DisplaySettings)
    pacs: PacsSettings = field(default_factory=PacsSettings)

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        path = path or config_dir() / SETTINGS_FILE_NAME
        if not path.exists():
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            logger.warning("Using default settings: cannot read %s (%s)", path, error)
            return cls()
        return _from_dict(cls, data, str(path))

    def save(self, path: Path | None = None) -> None:
        """Write the settings atomically (temporary file, then rename)."""
        path = path or config_dir() / SETTINGS_FILE_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(to_toml(dataclasses.asdict(self)), encoding="utf-8")
        os.replace(temporary, path)


def _from_dict(cls: Any, data: dict[str, Any], where: str) -> Any:
    values: dict[str, Any] = {}
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in data.items():
        if key not in known:
            logger.warning("Ignored unknown setting %s.%s", where, key)
            continue
        default = getattr(cls(), key)
        if dataclasses.is_dataclass(default):
            if isinstance(value, dict):
                values[key] = _from_dict(type(default), value, f"{where}:{key}")
            else:
                logger.warning("Ignored setting %s:%s: expected a table", where, key)
        elif isinstance(default, list):
            values[key] = _list_from(default, known[key], value, f"{where}:{key}")
        elif _type_matches(default, value):
            values[key] = type(default)(value) if isinstance(default, float) else value
        else:
            logger.warning(
                "Ignored setting %s:%s = %r: expected %s",
                where, key, value, type(default).__name__,
            )
    return cls(**values)


def _list_from(default: list[Any], spec: dataclasses.Field[Any], value: Any, where: str) -> Any:
    item_type = getattr(spec, "metadata", {}).get("item_type")
    if not isinstance(value, list):
        logger.warning("Ignored setting %s: expected a list", where)
        return default
    if item_type is None:
        return value
    return [_from_dict(item_type, item, where) for item in value if isinstance(item, dict)]


def _type_matches(default: Any, value: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, type(default))


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """Serialise nested dicts of str, int, float, bool and lists of tables as TOML."""
    scalars, tables, arrays = [], [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            arrays.append((key, value))
        else:
            scalars.append(f"{key} = {_toml_value(value)}")
    parts = ["\n".join(scalars)] if scalars else []
    for key, value in tables:
        name = f"{prefix}{key}"
        parts.append(f"[{name}]\n" + to_toml(value, f"{name}."))
    for key, items in arrays:
        name = f"{prefix}{key}"
        for item in items:
            parts.append(f"[[{name}]]\n" + to_toml(item, f"{name}."))
    return "\n\n".join(part.strip("\n") for part in parts if part.strip()) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
