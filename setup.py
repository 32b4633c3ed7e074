"""Maps the four layer folders at the root into the `hexloop` namespace (`domain/` -> hexloop.domain).

Metadata lives in pyproject.toml; this file only lists the packages, found by walking the layers,
so a new subpackage needs no edit here.
"""

import os

from setuptools import setup

LAYERS = ("domain", "ports", "adapters", "application")

packages = [
    "hexloop." + root.replace(os.sep, ".")
    for layer in LAYERS
    for root, _dirs, files in os.walk(layer)
    if "__init__.py" in files
]
setup(packages=packages, package_dir={f"hexloop.{layer}": layer for layer in LAYERS})
