"""Finding and loading lm-eval tasks by name: the built-in ones, the user's task folders, lm-eval's own.

lm-eval's `TaskManager` indexes a folder by parsing every task YAML in it. Our folders hold a handful of
files (milliseconds); lm-eval's own tree holds about 15,000 names and takes ~15 s to index on 2 cores. So
the full index is built only when a name is not ours, once per process, and the bare list of lm-eval's
names is cached on disk per lm-eval version, which keeps "unknown task" errors instant after first use.
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from mnpo_bench.errors import UserError, did_you_mean
from mnpo_bench.paths import cache_dir
from mnpo_bench.progress import Progress
from mnpo_bench.store import write_json

BUILTIN_TASK_DIR = Path(__file__).resolve().parent / "tasks"


@dataclass
class TaskSet:
    """Loaded lm-eval tasks, reusable across models: `loaded` is `TaskManager.load`'s dict
    ({"tasks": {name: Task}, "groups": {...}, "group_map": {...}}), `names` what the user asked for."""

    names: list[str]
    loaded: dict[str, Any]


@contextmanager
def lm_eval_quiet(enabled: bool = True) -> Iterator[None]:
    """Raise the `lm_eval` logger to ERROR inside the block (its INFO/WARNING lines are not for our users)."""
    logger = logging.getLogger("lm_eval")
    level = logger.level
    if enabled:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def task_dirs(extra: list[str]) -> list[Path]:
    """The built-in task folder followed by the user's `extra` folders (later folders win on a name clash)."""
    dirs = [BUILTIN_TASK_DIR]
    for entry in extra:
        path = Path(entry).expanduser()
        if not path.is_dir():
            raise UserError(f"task folder '{entry}' does not exist", where="bench.task_dirs",
                            fix="give a folder holding lm-eval task YAML files")
        dirs.append(path.resolve())
    return dirs


def _require_lm_eval() -> None:
    try:
        import lm_eval  # noqa: F401
    except ImportError:
        raise UserError("lm-evaluation-harness is not installed", where="bench",
                        fix="pip install 'mnpo-bench[benchmarks]', or set bench.enabled=false") from None


@lru_cache(maxsize=8)
def _manager(dirs: tuple[Path, ...], with_lm_eval: bool) -> Any:
    _require_lm_eval()
    from lm_eval.tasks import TaskManager

    with lm_eval_quiet():
        return TaskManager(include_path=[str(d) for d in dirs], include_defaults=with_lm_eval)


def local_task_names(dirs: list[Path]) -> list[str]:
    """Task, group and tag names defined in `dirs` (sorted)."""
    return list(_manager(tuple(dirs), False).all_tasks)


def lm_eval_task_names(dirs: list[Path], progress: Progress | None = None) -> list[str]:
    """Every task, group and tag name lm-eval ships (sorted), from the on-disk list when present. Indexing
    builds the full manager for `dirs`, which `load_tasks` then reuses."""
    import lm_eval

    cached = cache_dir() / "lm_eval_tasks" / f"{lm_eval.__version__}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    if progress is not None:
        progress.note("indexing lm-eval's task names (first use only, ~15 s)")
    index = _manager(tuple(dirs), True).task_index
    shipped = Path(lm_eval.__file__).resolve().parent / "tasks"
    names = sorted(name for name, entry in index.items()  # tags have no file of their own
                   if entry.yaml_path is None or shipped in Path(entry.yaml_path).resolve().parents)
    write_json(cached, names)
    return names


def check_task_files(names: list[str], dirs: list[Path], where: str = "bench.tasks") -> None:
    """Parse every task YAML the user gave (paths in `names`, files in the non-built-in `dirs`) with lm-eval's
    own loader; a UserError naming the first file that is not a task (lm-eval itself skips such a file with a
    log line, and the task is then merely "unknown")."""
    _require_lm_eval()
    from lm_eval.tasks._yaml_loader import load_yaml

    files = [Path(n).expanduser() for n in names if _is_path(n)]
    files += [p for d in dirs if d != BUILTIN_TASK_DIR for p in sorted(d.rglob("*.y*ml"))]
    for path in files:
        try:
            config = load_yaml(str(path), resolve_func=False, recursive=False)
        except Exception as exc:  # noqa: BLE001 - YAML, Unicode and include errors all mean "not a task file"
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise UserError(f"task YAML cannot be read ({type(exc).__name__}: {first})", where=str(path),
                            fix="fix the YAML (lm-eval's task format)") from None
        if not isinstance(config, dict) or not ({"task", "group", "tag", "include"} & set(config)):
            raise UserError("not an lm-eval task: no 'task', 'group' or 'include' key", where=str(path),
                            fix="name the task with `task: <name>`")


def _is_path(name: str) -> bool:
    return name.endswith((".yaml", ".yml"))


def check_task_names(names: list[str], dirs: list[Path], progress: Progress | None = None,
                     where: str = "bench.tasks") -> bool:
    """Raise a UserError for the first name that is neither ours, lm-eval's, nor an existing YAML file;
    returns True when some name needs lm-eval's own task index."""
    local = set(local_task_names(dirs))
    for name in names:
        if _is_path(name) and not Path(name).expanduser().is_file():
            raise UserError(f"task file '{name}' does not exist", where=where, fix="check the path")
    foreign = [n for n in names if not _is_path(n) and n not in local]
    if not foreign:
        return False
    known = set(lm_eval_task_names(dirs, progress))
    for name in foreign:
        if name not in known:
            hint = did_you_mean(name, local | known)
            raise UserError(f"unknown task '{name}'", where=where,
                            fix=f"{hint} (`mnpo-bench ls tasks` lists the built-in ones)")
    return True


def load_tasks(names: list[str], dirs: list[Path], num_fewshot: int | None, seed: int,
               progress: Progress | None = None, where: str = "bench.tasks") -> TaskSet:
    """The tasks `names` loaded once (documents read, fewshot settled), ready for `evaluate_model`;
    `where` names the setting in error messages."""
    needs_lm_eval = check_task_names(names, dirs, progress, where)
    manager = _manager(tuple(dirs), needs_lm_eval)
    specs = [str(Path(n).expanduser().resolve()) if _is_path(n) else n for n in names]
    fix = ("a hub task needs its dataset in the local HF cache when HF_HUB_OFFLINE=1" if needs_lm_eval
           else "check the task YAML and the data files it names")
    with lm_eval_quiet():
        try:
            loaded = manager.load(specs)
        except Exception as exc:  # noqa: BLE001 - dataset loading raises anything from OSError to HF errors
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise UserError(f"cannot load tasks {', '.join(names)} ({type(exc).__name__}: {first})",
                            where=where, fix=fix) from None
    for task in loaded["tasks"].values():
        own = task.get_config("num_fewshot")
        if num_fewshot is not None and own != 0:
            task.set_config(key="num_fewshot", value=num_fewshot)
        elif own is None:
            task.set_config(key="num_fewshot", value=0)
        task.set_fewshot_seed(seed=seed)
    return TaskSet(names=list(names), loaded=loaded)


def describe_tasks(dirs: list[Path]) -> list[dict[str, Any]]:
    """One dict per task defined in `dirs`: name, output_type, version, docs (count of JSONL lines or None)."""
    from lm_eval.tasks._yaml_loader import load_yaml

    rows = []
    manager = _manager(tuple(dirs), False)
    for name in manager.all_subtasks:
        entry = manager.task_index[name]
        config = load_yaml(entry.yaml_path, resolve_func=False, recursive=True) if entry.yaml_path else {}
        data = (config.get("dataset_kwargs") or {}).get("data_files")
        data_path = entry.yaml_path.parent / data if entry.yaml_path and isinstance(data, str) else None
        docs = sum(1 for line in data_path.read_text().splitlines() if line.strip()) if data_path and data_path.is_file() else None
        rows.append({"name": name, "output_type": config.get("output_type", "generate_until"),
                     "version": (config.get("metadata") or {}).get("version"), "docs": docs,
                     "path": str(entry.yaml_path)})
    return rows
