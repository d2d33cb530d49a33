"""Package-level guarantees: light import, public names, documented settings and keys."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import chemearth
from chemearth.ingest import descriptor

ROOT = Path(__file__).resolve().parents[1]


def test_import_is_light() -> None:
    code = (
        "import sys, chemearth; heavy = [m for m in ('fastapi', 'dask', 'duckdb', 'pandas',"
        " 'pyproj', 'geopandas', 'shapely', 'xarray', 'rasterio', 'distributed')"
        " if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names() -> None:
    assert sorted(chemearth.__all__) == sorted(set(chemearth.__all__))
    for name in chemearth.__all__:
        assert getattr(chemearth, name) is not None


def test_errors_subclass_builtins() -> None:
    from chemearth import errors

    assert issubclass(errors.DescriptorError, ValueError)
    assert issubclass(errors.UnknownElementError, KeyError)
    assert issubclass(errors.StoreError, RuntimeError)
    for name in errors.__all__:
        cls = getattr(errors, name)
        if name != "ChemearthWarning":
            assert issubclass(cls, errors.ChemearthError), name
            assert name in (errors.__doc__ or ""), f"{name} missing from the error tree"


def _subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _subclasses(sub)
    return out


def test_every_error_is_in_the_documented_tree() -> None:
    import importlib
    import pkgutil

    from chemearth import errors

    for mod in pkgutil.walk_packages(chemearth.__path__, "chemearth."):
        if not mod.name.endswith("__main__"):
            importlib.import_module(mod.name)
    tree = errors.__doc__ or ""
    for cls in _subclasses(errors.ChemearthError) | _subclasses(errors.ChemearthWarning):
        if cls.__module__.startswith("chemearth."):
            assert re.search(rf"\b{cls.__name__}\b", tree), (
                f"{cls.__module__}.{cls.__name__} is missing from the error tree in "
                "chemearth.errors"
            )
            for base in cls.__bases__:
                if base.__module__ == "builtins" and base is not Exception:
                    assert re.search(rf"{cls.__name__}\({base.__name__}\)|also {base.__name__}",
                                     tree), f"{cls.__name__}: its {base.__name__} is not said"


def _descriptor_keys() -> dict[str, set[str]]:
    """Every key parse_descriptor accepts, read from the dataclasses it fills."""
    from dataclasses import fields

    return {
        "dataset": {f.name for f in fields(descriptor.DatasetMeta)},
        "source": {f.name for f in fields(descriptor.Source)},
        "coordinates": {f.name for f in fields(descriptor.Coordinates)},
        "sample": {f.name for f in fields(descriptor.SampleSpec)},
        "censoring": {f.name for f in fields(descriptor.Censoring)},
        "columns": {f.name for f in fields(descriptor.ColumnSpec)} - {"column"},
    }


def test_every_descriptor_key_is_documented() -> None:
    doc = (ROOT / "docs" / "descriptors.md").read_text()
    documented = set(re.findall(r"`([a-z_]+)`", doc))
    missing = {
        f"[{s}] {k}" for s, keys in _descriptor_keys().items() for k in keys if k not in documented
    }
    assert not missing, f"undocumented descriptor keys: {sorted(missing)}"


def test_every_setting_is_documented() -> None:
    from chemearth import config

    src = Path(config.__file__).read_text()
    readme = (ROOT / "README.md").read_text()
    for var in set(re.findall(r"CHEMEARTH_[A-Z]+", src)):
        assert var in readme, f"{var} is not documented in README.md"


def test_only_config_reads_the_environment() -> None:
    src = Path(chemearth.__file__).parent
    reads = re.compile(r"os\.getenv\(|os\.environ\.get\(|os\.environ\[[^\]]+\](?!\s*=[^=])"
                       r"|environ\.copy\(")
    found = [
        f"{p.relative_to(src)}:{n}"
        for p in sorted(src.rglob("*.py"))
        if p.name != "config.py"
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if reads.search(line)
    ]
    assert found == [], "read settings through chemearth.config"


def test_shipped_descriptors_parse_and_name_their_file() -> None:
    from chemearth.ingest.shipped import shipped_descriptors

    paths = shipped_descriptors()
    assert len(paths) >= 20
    for p in paths:
        d = descriptor.load_descriptor(p)
        assert d.dataset.id == p.stem
        assert d.source.path
        assert not Path(d.source.path).is_absolute()
        assert d.dataset.citation, p.name
        assert d.dataset.licence, p.name


def test_readme_commands_are_the_ci_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make demo" in readme
    assert "make test" in readme
    assert re.search(r"^make test$", ci, re.M)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["chemearth"] == "chemearth.cli:main"
