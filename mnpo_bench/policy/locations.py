"""Policy locations as a run stores them (policies.json, reference.json), so a copied run still opens.

A checkpoint inside the run is stored relative to the run; the embedded tiny model as `tiny:<cache key>`
(its cache directory's name, which the tiny config determines); anything else (a hub id, a checkpoint
elsewhere) as given. `resolve_location` turns a stored value back into a loadable location on this machine,
building the tiny model from the run's config.yaml when this machine's cache does not hold it yet. Runs
written before this stored absolute paths; those still read. `policy.load.location_identity` is what a stage's
input hash holds for a policy, so a copied run, or a moved cache, re-runs nothing.
"""

from __future__ import annotations

from pathlib import Path

from mnpo_bench.errors import UserError

TINY_PREFIX = "tiny:"


def portable_location(location: str, root: Path) -> str:
    """What the run at `root` stores for the checkpoint at `location`: a run-relative path, `tiny:<key>` for
    the tiny model's cache directory, or `location` unchanged."""
    from mnpo_bench.paths import cache_dir

    path = Path(location)
    if not path.is_absolute():
        return location
    resolved, run = path.resolve(), Path(root).resolve()
    if resolved.is_relative_to(run):
        return str(resolved.relative_to(run))
    if resolved.parent == (cache_dir() / "tiny").resolve():
        return TINY_PREFIX + resolved.name
    return location


def resolve_location(stored: str, root: Path) -> str:
    """The loadable location of a value stored by the run at `root` (see `portable_location`): an absolute
    path, or a hub id as given. A `tiny:<key>` missing from this machine's cache is built from the run's
    config.yaml; a UserError when that config builds another model."""
    if stored.startswith(TINY_PREFIX):
        return _tiny(stored.removeprefix(TINY_PREFIX), Path(root))
    local = Path(stored).expanduser()
    candidate = local if local.is_absolute() else Path(root) / local
    return str(candidate.resolve()) if candidate.exists() else stored


def _tiny(key: str, root: Path) -> str:
    from mnpo_bench.paths import cache_dir

    cached = cache_dir() / "tiny" / key
    if (cached / "config.json").exists():
        return str(cached)
    from mnpo_bench.config import load_config
    from mnpo_bench.policy.tiny import build_tiny, tiny_model_dir

    config_path = root / "config.yaml"
    tiny = load_config(config_path if config_path.exists() else None, []).policy.tiny
    if tiny_model_dir(tiny).name != key:
        raise UserError(f"the tiny model {key} is not in this machine's cache and the run's config builds another",
                        where=str(config_path), fix="copy the cache entry to "
                        f"{cached} or rebuild it with the config the run was made with")
    return str(build_tiny(tiny))
