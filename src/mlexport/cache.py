"""Where mlexport keeps what it builds once (compiled Java helpers, the Go and
Java JSON scorers): ``$MLEXPORT_CACHE`` (or ``$MLEXPORT_CACHE_DIR``), else
``$XDG_CACHE_HOME/mlexport``, else ``~/.cache/mlexport``."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    for var in ("MLEXPORT_CACHE", "MLEXPORT_CACHE_DIR"):
        value = os.environ.get(var)
        if value:
            return Path(value)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "mlexport"


def work_dir(prefix: str) -> tuple[Path, Path]:
    """(root, fresh temporary directory inside it) for building something to
    rename into ``root`` atomically. When the cache root cannot be written, a
    per-user directory under the system temp dir serves instead."""
    import tempfile

    root = cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        return root, Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    except OSError:
        uid = os.getuid() if hasattr(os, "getuid") else "user"
        root = Path(tempfile.gettempdir()) / f"mlexport-{uid}"
        root.mkdir(parents=True, exist_ok=True)
        return root, Path(tempfile.mkdtemp(prefix=prefix, dir=root))
