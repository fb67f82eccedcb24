"""Two tiny Llama checkpoints for the bench tests: one taught the built-in tasks' answers, one untaught.

Both share a tokenizer trained on the task texts, so the only difference the bench can see is what the
weights know. Built once per session in about 6 s on 2 cores.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
import torch

from mnpo_bench.prompts.families import FAMILIES

from .tiny_models import build_model, build_tokenizer, save, task_dialogues, teach


@pytest.fixture(autouse=True)
def _one_thread():
    """The bench tests' models are ~0.1M parameters: one thread beats two busy ones by a wide margin."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    """{"naive": path, "taught": path} of save_pretrained checkpoints (taught: SFT on every task answer)."""
    root = tmp_path_factory.mktemp("bench_models")
    pairs = task_dialogues()
    rng = random.Random(0)
    texts = [f"{q} {a}" for q, a in pairs] + [FAMILIES[f](rng).prompt for f in sorted(FAMILIES) for _ in range(50)]
    tokenizer = build_tokenizer(texts)
    naive = save(build_model(tokenizer, seed=0), tokenizer, root / "naive")
    model = build_model(tokenizer, seed=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # session fixtures run before the per-test `_one_thread`
    try:
        loss = teach(model, tokenizer, pairs)
    finally:
        torch.set_num_threads(threads)
    assert loss < 0.1, f"the taught model did not learn its answers (loss {loss:.3f})"
    taught = save(model, tokenizer, root / "taught")
    return {"naive": naive, "taught": taught}


@pytest.fixture
def task_folder(tmp_path) -> Path:
    """A local lm-eval task folder: a copy of the built-in yes/no task renamed `my_yesno`, with its data and utils."""
    from mnpo_bench.bench import tasks as builtin

    folder = tmp_path / "mytasks"
    folder.mkdir()
    source = Path(builtin.__file__).parent
    for name in ("utils.py", "mnpo_yesno_mc.jsonl"):
        shutil.copy(source / name, folder / name)
    text = (source / "mnpo_yesno_mc.yaml").read_text().replace("task: mnpo_yesno_mc", "task: my_yesno")
    (folder / "my_yesno.yaml").write_text(text)
    return folder
