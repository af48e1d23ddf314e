"""Packaging glue that pyproject.toml cannot say: ship folders that live outside the package.

The migrations stay in the top-level ``migrations/`` folder (Alembic's layout for developers, ``alembic.ini``)
and are installed as ``syncer/_migrations``; the demo's mirror repos (``mirror/repos``) and example catalog
(``config/catalog.toml``) are installed as ``syncer/_demo/repos`` and ``syncer/_demo/catalog.toml``.
In a checkout (editable install) the code finds them in their own folders; see ``syncer.resources``.
"""

from setuptools import find_packages, setup

packages = find_packages(include=["syncer", "syncer.*", "syncer_mirror", "syncer_mirror.*"])
mapped = {
    "syncer._migrations": "migrations",
    "syncer._migrations.versions": "migrations/versions",
    "syncer._demo": "config",
    "syncer._demo.repos": "mirror/repos",
}

setup(
    packages=[*packages, *mapped],
    package_dir=mapped,
    package_data={
        "syncer": ["py.typed"],
        "syncer_mirror": ["py.typed"],
        "syncer._migrations": ["script.py.mako"],
        "syncer._demo": ["catalog.toml"],
        "syncer._demo.repos": ["**/*"],
    },
    exclude_package_data={
        "syncer._migrations": ["__pycache__/*"],
        "syncer._migrations.versions": ["__pycache__/*"],
    },
)
