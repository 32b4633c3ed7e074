"""Maps the four layer folders at the root into the `hexloop` namespace (`domain/` -> hexloop.domain).

Metadata lives in pyproject.toml; this file only lists the packages, found by walking the layers,
so a new subpackage needs no edit here.
"""

import logging
import os
import warnings

from setuptools import setup
from setuptools.warnings import InformationOnly

# Mapping the layer folders into the namespace makes `pip install -e .` use setuptools' meta
# path finder, which announces itself with a warning and an "InformationOnly" banner about folders
# named like the package; both are expected for this layout (there is no `hexloop/` folder to
# shadow it), so the editable install stays quiet (tests/test_frictions.py checks it).
warnings.simplefilter("ignore", InformationOnly)
logging.getLogger("setuptools.command.editable_wheel").setLevel(logging.ERROR)

LAYERS = ("domain", "ports", "adapters", "application")

packages = [
    "hexloop." + root.replace(os.sep, ".")
    for layer in LAYERS
    for root, _dirs, files in os.walk(layer)
    if "__init__.py" in files
]
setup(packages=packages, package_dir={f"hexloop.{layer}": layer for layer in LAYERS})
