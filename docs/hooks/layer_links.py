"""MkDocs hook: link the layer folders under build/typecheck/hexloop/ before the build.

mkdocstrings reads the sources as `hexloop.domain`, `hexloop.ports`, ... (the names they install
under), but the folders are `domain/`, `ports/`, ... at the repository root; `make typecheck`
and `make docs` make the same links. With this hook a plain `mkdocs build` or `mkdocs serve`
works too. It only creates symbolic links inside build/ (git-ignored).
"""

from __future__ import annotations

import os
from pathlib import Path

from mkdocs.plugins import event_priority

LAYERS = ("domain", "ports", "adapters", "application")


@event_priority(100)  # before mkdocstrings reads its handler's paths
def on_config(config, **kwargs):
    root = Path(config["config_file_path"]).resolve().parent
    package = root / "build" / "typecheck" / "hexloop"
    package.mkdir(parents=True, exist_ok=True)
    for layer in LAYERS:
        link = package / layer
        target = os.path.relpath(root / layer, package)
        if link.is_symlink() and os.readlink(link) == target:
            continue
        if link.is_symlink():
            link.unlink()
        link.symlink_to(target, target_is_directory=True)
    return config
