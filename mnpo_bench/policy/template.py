"""policy.chat_template: the reference policy with another chat template, as a checkpoint inside the run.

The policy stage writes `<run>/policy/reference/`: the checkpoint's tokenizer saved with the configured
template, and every other file of the checkpoint hard-linked (copied across file systems). Generation,
training, judging and benchmarks then load it like any checkpoint, and every trained iterate saves the same
template with its weights, so one setting reaches every place a prompt is rendered.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mnpo_bench.errors import UserError
from mnpo_bench.progress import hf_progress_hidden
from mnpo_bench.store import atomic_dir

# the source checkpoint's own template files: the tokenizer saved with the new template replaces them
_TEMPLATE_FILES = {"chat_template.jinja", "chat_template.json"}


def checkpoint_dir(location: str) -> Path:
    """The local directory of `location`: itself, or a hub id's snapshot in the local Hugging Face cache."""
    if Path(location).is_dir():
        return Path(location)
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(location, local_files_only=True))


def check_template(tokenizer, template: str):
    """`tokenizer` with `template` as its chat template, after rendering one user turn with it; a UserError
    naming policy.chat_template when it does not render."""
    from mnpo_bench.policy.chat import render_prompt

    tokenizer.chat_template = template
    try:
        render_prompt(tokenizer, "Hello")
    except Exception as exc:  # noqa: BLE001 - Jinja raises many types (undefined names, raise_exception(...))
        raise UserError(f"the template does not render a user turn ({type(exc).__name__}: {exc})",
                        where="policy.chat_template",
                        fix="give a template that renders `messages` with add_generation_prompt") from None
    return tokenizer


@hf_progress_hidden
def with_chat_template(location: str, template: str, out: Path) -> Path:
    """`out`, written atomically: the checkpoint at `location` (a directory or a cached hub id) with its
    tokenizer's chat template replaced by `template` (Jinja text). Returns `out`."""
    from transformers import AutoTokenizer

    source = checkpoint_dir(location)
    tokenizer = check_template(AutoTokenizer.from_pretrained(source), template)
    with atomic_dir(out) as scratch:
        tokenizer.save_pretrained(scratch)  # written first: a linked source file is never opened for writing
        for file in sorted(source.rglob("*")):
            target = scratch / file.relative_to(source)
            if not file.is_file() or file.name in _TEMPLATE_FILES or target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(file, target)  # weights are not copied: the run holds a second name for the same bytes
            except OSError:  # another file system
                shutil.copy2(file, target)
    return Path(out)
