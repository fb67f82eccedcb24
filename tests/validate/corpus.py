"""A corpus of malformed inputs: configs, personas, panels, recipes, prompt files, battles and preference files.

Each case is a command (`{d}` stands for the case's own folder) with the files it needs, and the text that the
one error line must contain: the file or field at fault. Everything else about the input is valid, so the
case checks exactly one mistake. See harness.py for how an outcome is classified.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

CONFIG = "{d}/config.yaml"
RUN = ["run", CONFIG, "--out", "{d}/out"]
PERSONA = """name: p1
description: prefers short answers
version: 1
backend: rule
params:
  scorers: {length: -1.0}
"""
PANEL = """name: pan
description: one rule persona
aggregation: mean
personas:
  - {d}/persona.yaml
"""
RECIPE = """version: 1
method: mydpo
description: DPO for the corpus
loss: {name: dpo, beta: 0.5}
optim: {lr: 3.0e-4, schedule: cosine, warmup_ratio: 0.1, epochs: 1, batch_size: 8}
pairs: best_vs_worst
max_length: 160
"""
PROMPTS = "\n".join(json.dumps({"prompt": f"Say the number {i} twice."}) for i in range(10)) + "\n"
BATTLES = "\n".join(json.dumps({"model_a": a, "model_b": b, "winner": w}) for a, b, w in
                    [("m1", "m2", "model_a"), ("m2", "m3", "model_b"), ("m1", "m3", "tie"), ("m3", "m1", "model_a")] * 3)
PREFS = "\n".join(json.dumps({"prompt": f"Q{i}?", "chosen": f"answer {i}", "rejected": "no"}) for i in range(6)) + "\n"
NON_UTF8 = b"name: caf\xe9\n\xff\xfe\n"


@dataclass
class Case:
    id: str
    argv: list[str]
    expect: str  # must appear in the error line (file or field)
    files: dict[str, bytes | str] = field(default_factory=dict)
    group: str = "config"


CASES: list[Case] = []


def add(group: str, id: str, argv: list[str], expect: str, **files: bytes | str) -> None:
    """Add a case; a keyword `tasks__bad__yaml` is the file tasks/bad.yaml (`x__keep`: an empty folder x)."""
    names = {"/".join(k.split("__")[:-1]) + "." + k.split("__")[-1]: v for k, v in files.items()}
    CASES.append(Case(f"{group}-{id}", argv, expect, names, group))


# -- run config fields (--set on the embedded default) -----------------------------------------------------
SETS = [
    ("seed-negative", "seed=-1", "seed"), ("seed-2p32", "seed=4294967296", "seed"), ("seed-text", "seed=abc", "seed"),
    ("seed-float", "seed=1.5", "seed"), ("name-dotdot", "name=../x", "name"), ("name-empty", "name=", "name"),
    ("name-slash", "name=a/b", "name"), ("name-dot", "name=.", "name"), ("name-abs", "name=/tmp/x", "name"),
    ("policy-device-gpu0", "policy.device=gpu0", "policy.device"),
    ("policy-device-cuda", "policy.device=cuda", "policy.device"),
    ("policy-device-cuda7", "policy.device=cuda:7", "policy.device"),
    ("train-device-tpu", "train.device=tpu", "train.device"), ("train-device-cuda", "train.device=cuda", "train.device"),
    ("panel-device-tpu", "panel.device=tpu", "panel.device"), ("panel-device-cuda", "panel.device=cuda:0", "panel.device"),
    ("heads-3", "policy.tiny.num_heads=3", "policy.tiny.num_heads"), ("heads-0", "policy.tiny.num_heads=0", "num_heads"),
    ("heads-256", "policy.tiny.num_heads=256", "policy.tiny.num_heads"),
    ("hidden-10", "policy.tiny.hidden_size=10", "hidden_size"), ("vocab-small", "policy.tiny.vocab_size=5", "vocab_size"),
    ("dtype", "policy.dtype=float8", "policy.dtype"), ("threads-0", "policy.cpu_threads=0", "cpu_threads"),
    ("model-missing", "policy.model=/nonexistent/model", "policy.model"),
    ("bootstrap-huge", "leaderboard.bootstrap=10000000", "leaderboard.bootstrap"),
    ("bootstrap-negative", "leaderboard.bootstrap=-1", "leaderboard.bootstrap"),
    ("lb-reference-unknown", "leaderboard.reference=nobody", "leaderboard.reference"),
    ("lb-resample", "leaderboard.resample=rows", "leaderboard.resample"),
    ("publish-dir-file", "leaderboard.publish_dir={d}/config.yaml", "leaderboard.publish_dir"),
    ("n-train-huge", "prompts.n_train=100000000000", "prompts.n_train"),
    ("n-eval-huge", "prompts.n_eval=100000000000", "prompts.n_eval"),
    ("n-train-0", "prompts.n_train=0", "n_train"), ("n-eval-0", "prompts.n_eval=0", "n_eval"),
    ("families-empty", "prompts.families=[]", "prompts.families"),
    ("families-unknown", "prompts.families=[poetry]", "prompts.families"),
    ("source-missing", "prompts.source={d}/none.jsonl", "prompts.source"),
    ("source-dir", "prompts.source={d}", "prompts.source"), ("source-hf-empty", "prompts.source=hf:", "prompts.source"),
    ("temp-inf", "generation.temperature=.inf", "generation.temperature"),
    ("temp-nan", "generation.temperature=.nan", "generation.temperature"),
    ("temp-negative", "generation.temperature=-1", "generation.temperature"),
    ("top-p-0", "generation.top_p=0", "top_p"), ("top-p-2", "generation.top_p=2", "top_p"),
    ("backend", "generation.backend=bogus", "generation.backend"), ("max-new-0", "generation.max_new_tokens=0", "max_new_tokens"),
    ("gen-batch-0", "generation.batch_size=0", "batch_size"),
    ("vllm-mem", "generation.vllm_gpu_memory_utilization=1.5", "vllm_gpu_memory_utilization"),
    ("tournament-policies", "tournament.policies=bogus", "tournament.policies"),
    ("tournament-budget-negative", "tournament.budget=-5", "tournament.budget"),
    ("tournament-temp-inf", "tournament.temperature=.inf", "tournament.temperature"),
    ("tournament-schedule", "tournament.schedule=random", "tournament.schedule"),
    ("tournament-max-prompts", "tournament.max_prompts=0", "max_prompts"),
    ("tournament-extra-missing", "tournament.extra_policies=[x=/nonexistent/ckpt]", "tournament.extra_policies"),
    ("tournament-extra-dup", "tournament.extra_policies=[reference=/tmp]", "tournament.extra_policies"),
    ("lottery-width", "tournament.lottery_width=0", "lottery_width"),
    ("panel-preset", "panel.preset=bogus", "panel.preset"), ("panel-aggregation", "panel.aggregation=max", "aggregation"),
    ("panel-failure-rate", "panel.max_failure_rate=2", "max_failure_rate"), ("panel-chunk", "panel.chunk_size=0", "chunk_size"),
    ("panel-quality", "panel.shared_quality=0.5", "panel.shared_quality"),
    ("train-methods-unknown", "train.methods=[bogus]", "bogus"), ("train-methods-empty", "train.methods=[]", "train.methods"),
    ("train-iterations-0", "train.iterations=0", "iterations"), ("train-n-samples-1", "train.n_samples=1", "n_samples"),
    ("train-profile", "train.profile=huge", "train.profile"),
    ("train-prompt-split", "train.prompt_split=random", "train.prompt_split"),
    ("train-split-too-few", "prompts.n_train=2", "train.prompt_split=per_iteration"),
    ("train-overrides-method", "train.overrides={sppo: {optim: {lr: 1}}}", "train.overrides"),
    ("train-overrides-lr", "train.overrides={dpo: {optim: {lr: -1}}}", "lr"),
    ("train-overrides-key", "train.overrides={dpo: {optim: {learning_rate: 1}}}", "learning_rate"),
    ("bench-task-file-missing", "bench.tasks=[{d}/no_such_task.yaml]", "no_such_task.yaml"),
    ("bench-tasks-empty", "bench.tasks=[]", "bench.tasks"), ("bench-limit-0", "bench.limit=0", "limit"),
    ("bench-task-dir", "bench.task_dirs=[{d}/no_dir]", "no_dir"), ("bench-fewshot", "bench.num_fewshot=-1", "num_fewshot"),
    ("unknown-top", "colour=red", "colour"), ("unknown-nested", "policy.modle=x", "modle"),
    ("section-scalar", "policy=3", "policy"), ("override-no-equals", "seed", "--set"),
    ("chat-template-bad-jinja", "policy.chat_template={% for m in messages %}", "policy.chat_template"),
    ("chat-template-missing-file", "policy.chat_template={d}/none.jinja", "policy.chat_template"),
    ("chat-template-dir", "policy.chat_template={d}", "policy.chat_template"),
    ("report-to-unknown", "train.report_to=[comet]", "train.report_to"),
    ("report-to-scalar", "train.report_to=tensorboard", "train.report_to"),
]
for id, pair, expect in SETS:
    add("set", id, ["run", "--out", "{d}/out", "--set", pair], expect, config__yaml="name: c\n")
add("set", "chat-template-non-utf8", ["run", "--out", "{d}/out", "--set", "policy.chat_template={d}/t.jinja"],
    "policy.chat_template", config__yaml="name: c\n", t__jinja=NON_UTF8)

# -- run config files -------------------------------------------------------------------------------------
CONFIG_FILES = {
    "non-utf8": (NON_UTF8, "config.yaml"), "duplicate-key": ("name: a\nseed: 1\nseed: 2\n", "seed"),
    "duplicate-nested": ("prompts:\n  n_train: 8\n  n_train: 9\n", "n_train"),
    "list-top": ("- name: a\n", "config.yaml"), "scalar-top": ("just words\n", "config.yaml"),
    "bad-yaml": ("name: [a\n", "config.yaml"), "tab-indent": ("prompts:\n\tn_train: 8\n", "config.yaml"),
    "unknown-section": ("trainer: {methods: [dpo]}\n", "trainer"), "section-list": ("panel: [default]\n", "panel"),
    "name-traversal": ("name: ../../escape\n", "name"), "name-empty": ('name: ""\n', "name"),
    "seed-huge": ("seed: 99999999999999\n", "seed"), "temp-inf": ("generation: {temperature: .inf}\n", "temperature"),
    "policies-bogus": ("tournament: {policies: bogus}\n", "tournament.policies"),
    "runs-dir-file": ("runs_dir: {d}/config.yaml\n", "runs_dir"),
    "duplicate-deep": ("generation:\n  top_p: 0.9\n  temperature: 1.0\n  top_p: 0.8\n", "top_p"),
    "null-section": ("policy: null\n", "policy"), "bool-seed": ("seed: yes\n", "seed"),
}
for id, (text, expect) in CONFIG_FILES.items():
    add("config", id, RUN, expect, config__yaml=text)
add("config", "directory", ["run", "{d}/cfgdir", "--out", "{d}/out"], "cfgdir", cfgdir__keep="")
add("config", "missing", ["run", "{d}/nope.yaml", "--out", "{d}/out"], "nope.yaml")
add("config", "validate-directory", ["validate", "{d}/cfgdir"], "cfgdir", cfgdir__keep="")
add("config", "validate-non-utf8", ["validate", CONFIG], "config.yaml", config__yaml=NON_UTF8)
add("config", "bench-task-yaml-broken", RUN, "broken_task.yaml", config__yaml="bench: {tasks: ['{d}/broken_task.yaml']}\n",
    broken_task__yaml="task: [unclosed\n")
add("config", "bench-task-yaml-no-task", RUN, "nameless.yaml", config__yaml="bench: {tasks: ['{d}/nameless.yaml']}\n",
    nameless__yaml="dataset_path: x\noutput_type: multiple_choice\n")
add("config", "bench-task-dir-broken", RUN, "bad.yaml", config__yaml="bench: {task_dirs: ['{d}/tasks'], tasks: [mine]}\n",
    tasks__bad__yaml="task: mine\ndoc_to_text: [\n")

# -- personas (seated by a panel the config names) -----------------------------------------------------------
def persona(id: str, text: str | bytes, expect: str = "persona.yaml", **extra) -> None:
    add("persona", id, RUN, expect, config__yaml="panel: {preset: '{d}/panel.yaml'}\n", panel__yaml=PANEL,
        persona__yaml=text, **extra)


persona("non-utf8", NON_UTF8)
persona("bad-yaml", "name: p1\n  description: [x\n")
persona("list-top", "- name: p1\n")
persona("missing-name", PERSONA.replace("name: p1\n", ""), "name")
persona("bad-name", PERSONA.replace("name: p1", "name: 'p 1/x'"), "name")
persona("missing-description", PERSONA.replace("description: prefers short answers\n", ""), "description")
persona("missing-version", PERSONA.replace("version: 1\n", ""), "version")
persona("backend-unknown", PERSONA.replace("backend: rule", "backend: oracle"), "backend")
persona("params-unknown", PERSONA + "  weight: 3\n", "weight")
persona("scorer-unknown", PERSONA.replace("length: -1.0", "beauty: 1.0"), "beauty")
persona("scorer-text", PERSONA.replace("length: -1.0", "length: lots"), "length")
persona("bias-position", PERSONA + "biases: {position: 100}\n", "position")
persona("bias-noise", PERSONA + "biases: {noise: 2}\n", "noise")
persona("bias-unknown", PERSONA + "biases: {colour: 1}\n", "colour")
persona("temperature", PERSONA + "temperature: -1\n", "temperature")
persona("temperature-inf", PERSONA + "temperature: .inf\n", "temperature")
persona("tie-margin", PERSONA + "tie_margin: 0.5\n", "tie_margin")
persona("include-missing", PERSONA + "include: {d}/nothing.yaml\n", "include")
persona("include-self", PERSONA + "include: {d}/persona.yaml\n", "include")
persona("include-number", PERSONA + "include: 3\n", "include")
persona("duplicate-key", PERSONA + "version: 2\n", "version")
persona("extra-key", PERSONA + "colour: blue\n", "colour")
OPENAI = """name: p1
description: a judge on a local endpoint
version: 1
backend: openai
params:
  model: m
  base_url: http://127.0.0.1:9/v1
  api_key_env: null
  template: "Q {prompt} A {response_a} B {response_b}"
  parser: letter
"""
persona("openai-template-missing-b", OPENAI.replace(" B {response_b}", ""), "template")
persona("openai-template-unknown-field", OPENAI.replace("{prompt}", "{question}"), "template")
persona("openai-template-file", OPENAI.replace('"Q {prompt} A {response_a} B {response_b}"', "nothere.txt"), "template")
persona("openai-template-braces", OPENAI.replace("{prompt}", "{prompt"), "template")
persona("openai-parser", OPENAI.replace("parser: letter", "parser: vibes"), "parser")
persona("openai-key-in-env-field", OPENAI.replace("api_key_env: null", "api_key_env: sk-abcdefghijklmnopqrstuvwxyz123456"), "api_key_env")
persona("openai-concurrency", OPENAI + "  concurrency: 0\n", "concurrency")
persona("openai-timeout", OPENAI + "  timeout_s: -1\n", "timeout_s")
persona("openai-base-url", OPENAI.replace("http://127.0.0.1:9/v1", "not a url"), "base_url")
persona("openai-model-missing", OPENAI.replace("  model: m\n", ""), "model")
persona("openai-decoding", OPENAI + "  decoding: {temperature: .inf}\n", "temperature")
persona("openai-retries", OPENAI + "  max_retries: -1\n", "max_retries")
persona("openai-template-non-utf8-file", OPENAI.replace('"Q {prompt} A {response_a} B {response_b}"', "t.txt"), "t.txt",
        t__txt=b"Q {prompt}\xff {response_a} {response_b}")

# -- panels ----------------------------------------------------------------------------------------------
def panel(id: str, text: str | bytes, expect: str = "panel.yaml") -> None:
    add("panel", id, RUN, expect, config__yaml="panel: {preset: '{d}/panel.yaml'}\n", panel__yaml=text,
        persona__yaml=PERSONA)


panel("non-utf8", NON_UTF8)
panel("bad-yaml", "name: pan\npersonas: [\n")
panel("personas-missing", "name: pan\ndescription: x\n", "personas")
panel("personas-empty", PANEL.split("personas:")[0] + "personas: []\n", "personas")
panel("persona-unknown", PANEL.replace("{d}/persona.yaml", "nobody_here"), "nobody_here")
panel("persona-path-missing", PANEL.replace("{d}/persona.yaml", "{d}/gone.yaml"), "gone.yaml")
panel("weight-0", PANEL.replace("- {d}/persona.yaml", "- {persona: '{d}/persona.yaml', weight: 0}"), "weight")
panel("weight-negative", PANEL.replace("- {d}/persona.yaml", "- {persona: '{d}/persona.yaml', weight: -2}"), "weight")
panel("weight-inf", PANEL.replace("- {d}/persona.yaml", "- {persona: '{d}/persona.yaml', weight: .inf}"), "weight")
panel("aggregation", PANEL.replace("aggregation: mean", "aggregation: median"), "aggregation")
panel("shared-quality", PANEL + "shared_quality: 2\n", "shared_quality")
panel("quality-missing", PANEL + "shared_quality: 0.3\n", "quality_persona")
panel("quality-unknown", PANEL + "shared_quality: 0.3\nquality_persona: ghost\n", "ghost")
panel("seated-twice", PANEL + "  - {d}/persona.yaml\n", "personas")
panel("duplicate-key", PANEL + "aggregation: vote\n", "aggregation")
panel("list-top", "- pan\n")
panel("bad-name", PANEL.replace("name: pan", "name: '../pan'"), "name")
panel("extra-key", PANEL + "judges: 3\n", "judges")
panel("seat-number", PANEL.replace("- {d}/persona.yaml", "- 42"), "personas")

# -- recipes ---------------------------------------------------------------------------------------------
def recipe(id: str, text: str | bytes, expect: str = "recipe.yaml") -> None:
    add("recipe", id, RUN, expect, config__yaml="train: {methods: ['{d}/recipe.yaml']}\n", recipe__yaml=text)


recipe("non-utf8", NON_UTF8)
recipe("bad-yaml", "method: x\nloss: {name: dpo\n")
recipe("list-top", "- dpo\n")
recipe("method-missing", RECIPE.replace("method: mydpo\n", ""), "method")
recipe("loss-missing", RECIPE.replace("loss: {name: dpo, beta: 0.5}\n", ""), "loss")
recipe("loss-unknown", RECIPE.replace("name: dpo", "name: ppo"), "ppo")
recipe("beta-negative", RECIPE.replace("beta: 0.5", "beta: -1"), "beta")
recipe("beta-inf", RECIPE.replace("beta: 0.5", "beta: .inf"), "beta")
recipe("lr-0", RECIPE.replace("lr: 3.0e-4", "lr: 0"), "lr")
recipe("lr-nan", RECIPE.replace("lr: 3.0e-4", "lr: .nan"), "lr")
recipe("epochs-0", RECIPE.replace("epochs: 1", "epochs: 0"), "epochs")
recipe("batch-0", RECIPE.replace("batch_size: 8", "batch_size: 0"), "batch_size")
recipe("schedule", RECIPE.replace("schedule: cosine", "schedule: step"), "schedule")
recipe("warmup", RECIPE.replace("warmup_ratio: 0.1", "warmup_ratio: 1.5"), "warmup_ratio")
recipe("pairs", RECIPE.replace("pairs: best_vs_worst", "pairs: some"), "pairs")
recipe("max-length", RECIPE.replace("max_length: 160", "max_length: 0"), "max_length")
recipe("unknown-key", RECIPE + "learning_rate: 1\n", "learning_rate")
recipe("paper-unknown", RECIPE + "paper: {optim: {lrr: 1}}\n", "lrr")
recipe("duplicate-key", RECIPE + "max_length: 200\n", "max_length")
recipe("population", RECIPE + "opponents: {population: crowd}\n", "population")
recipe("opponents-k", RECIPE + "opponents: {population: td, k: -1}\n", "k")
recipe("min-prob", RECIPE + "min_prob: 0.2\n", "min_prob")
recipe("mixed-precision", RECIPE + "mixed_precision: fp8\n", "mixed_precision")
recipe("version-text", RECIPE.replace("version: 1", "version: one"), "version")
add("recipe", "missing-file", RUN, "nothere.yaml", config__yaml="train: {methods: ['{d}/nothere.yaml']}\n")

# -- prompt files ----------------------------------------------------------------------------------------
def prompts(id: str, text: str | bytes, expect: str = "prompts.jsonl", n: tuple[int, int] = (4, 2)) -> None:
    add("prompts", id, RUN, expect, config__yaml=f"prompts: {{source: '{{d}}/prompts.jsonl', n_train: {n[0]}, n_eval: {n[1]}}}\n",
        prompts__jsonl=text)


prompts("non-utf8", b'{"prompt": "caf\xe9"}\n')
prompts("not-json", PROMPTS + "{prompt: oops}\n")
prompts("array-line", PROMPTS + "[1, 2]\n")
prompts("missing-prompt", PROMPTS + '{"text": "hi"}\n')
prompts("empty-prompt", PROMPTS + '{"prompt": "   "}\n')
prompts("prompt-number", PROMPTS + '{"prompt": 42}\n')
prompts("split-bogus", PROMPTS + '{"prompt": "x", "split": "test"}\n')
prompts("meta-list", PROMPTS + '{"prompt": "x", "meta": [1]}\n')
prompts("duplicate-id", '{"prompt": "a", "prompt_id": "1"}\n{"prompt": "b", "prompt_id": "1"}\n' + PROMPTS)
prompts("empty-file", "")
prompts("blank-lines", "\n\n\n")
prompts("too-few", PROMPTS, "n_train", n=(20, 10))
prompts("both-splits", '{"prompt": "a", "split": "train"}\n{"prompt": "a", "split": "eval"}\n')
prompts("truncated-line", PROMPTS + '{"prompt": "half')
prompts("null-byte", PROMPTS + '{"prompt": "x\x00y"}\n')
prompts("gold-object", PROMPTS + '{"prompt": "x", "gold": {"a": 1}}\n', "gold")

# -- battles files (mnpo-bench leaderboard) ----------------------------------------------------------------
LB = ["leaderboard", "{d}/battles.jsonl", "--out", "{d}/out"]


def battles(id: str, text: str | bytes, expect: str = "battles", argv: list[str] = LB, **extra) -> None:
    add("battles", id, argv, expect, battles__jsonl=text, **extra)


battles("non-utf8", b'{"model_a": "m\xe91", "model_b": "m2", "winner": "model_a"}\n')
battles("not-json", BATTLES + "\n{oops}\n")
battles("missing-winner-column", BATTLES.replace('"winner"', '"result"'), "winner")
battles("missing-model-b", BATTLES.replace('"model_b"', '"model_c"'), "model_b")
battles("winner-unknown", BATTLES.replace('"tie"', '"draw"'), "winner")
battles("model-empty", BATTLES + '\n{"model_a": null, "model_b": "m2", "winner": "tie"}', "model_a")
battles("self-battle", BATTLES + '\n{"model_a": "m1", "model_b": "m1", "winner": "tie"}', "model_a")
battles("prob-range", BATTLES + '\n{"model_a": "m1", "model_b": "m2", "winner": "model_a", "prob_a": 1.5}', "prob_a")
battles("prob-text", BATTLES + '\n{"model_a": "m1", "model_b": "m2", "winner": "model_a", "prob_a": "high"}', "prob_a")
battles("prob-nan-inf", BATTLES + '\n{"model_a": "m1", "model_b": "m2", "winner": "model_a", "prob_a": Infinity}', "prob_a")
battles("len-text", BATTLES + '\n{"model_a": "m1", "model_b": "m2", "winner": "model_a", "len_a": "long"}', "len_a")
battles("all-failed", BATTLES.replace('"model_a"}', '""}').replace('"model_b"}', '""}').replace('"tie"}', '""}'), "battles")
battles("empty", "")
battles("scalar-json", "42\n")
battles("reference-unknown", BATTLES, "reference", LB + ["--reference", "m9"])
battles("bootstrap-huge", BATTLES, "bootstrap", LB + ["--bootstrap", "10000000"])
battles("one-model", '{"model_a": "m1", "model_b": "m1", "winner": "tie"}\n', "model_a")
add("battles", "missing-file", ["leaderboard", "{d}/none.parquet", "--out", "{d}/out"], "none.parquet")
add("battles", "directory", ["leaderboard", "{d}/bdir", "--out", "{d}/out"], "bdir", bdir__keep="")
add("battles", "suffix", ["leaderboard", "{d}/b.txt", "--out", "{d}/out"], "b.txt", b__txt=BATTLES)
add("battles", "broken-parquet", ["leaderboard", "{d}/b.parquet", "--out", "{d}/out"], "b.parquet", b__parquet=b"PAR1 not really")
add("battles", "csv-header", ["leaderboard", "{d}/b.csv", "--out", "{d}/out"], "b.csv", b__csv="a,b,c\n1,2,3\n")
add("battles", "csv-non-utf8", ["leaderboard", "{d}/b.csv", "--out", "{d}/out"], "b.csv",
    b__csv=b"model_a,model_b,winner\nm\xe91,m2,model_a\n")
add("battles", "out-is-file", ["leaderboard", "{d}/battles.jsonl", "--out", "{d}/battles.jsonl"], "--out", battles__jsonl=BATTLES)
add("battles", "alpaca-missing-dir", ["leaderboard", "{d}/nothing", "--from", "alpaca-eval", "--out", "{d}/out"], "nothing")
add("battles", "from-unknown", ["leaderboard", "{d}/battles.jsonl", "--from", "lmsys", "--out", "{d}/out"], "--from",
    battles__jsonl=BATTLES)
add("battles", "bench-missing", LB + ["--bench", "{d}/nobench.parquet"], "nobench.parquet", battles__jsonl=BATTLES)

# -- preference files (mnpo-bench train) ------------------------------------------------------------------------
TRAIN = ["train", "dpo", "--data", "{d}/prefs.jsonl", "--out", "{d}/out"]


def prefs(id: str, text: str | bytes, expect: str = "prefs.jsonl", argv: list[str] = TRAIN, **extra) -> None:
    add("prefs", id, argv, expect, prefs__jsonl=text, **extra)


prefs("non-utf8", b'{"prompt": "caf\xe9", "chosen": "a", "rejected": "b"}\n')
prefs("not-json", PREFS + "{oops\n")
prefs("missing-rejected", PREFS.replace('"rejected"', '"worse"'), "rejected")
prefs("empty", "")
prefs("prompt-number", PREFS + '{"prompt": 3, "chosen": "a", "rejected": "b"}\n', "prompt")
prefs("chosen-dict", PREFS + '{"prompt": "q", "chosen": {"x": 1}, "rejected": "b"}\n', "chosen")
prefs("prob-range", PREFS + '{"prompt": "q", "chosen": "a", "rejected": "b", "prob": 2}\n', "prob")
prefs("prob-text", PREFS + '{"prompt": "q", "chosen": "a", "rejected": "b", "prob": "sure"}\n', "prob")
prefs("chosen-equals-rejected", PREFS + '{"prompt": "q", "chosen": "same", "rejected": "same"}\n', "chosen")
prefs("messages-no-role", PREFS + '{"prompt": [{"content": "q"}], "chosen": "a", "rejected": "b"}\n', "prompt")
prefs("all-empty", '{"prompt": "q", "chosen": "", "rejected": ""}\n', "chosen")
prefs("persona-column-non-ht", PREFS, "--persona-column", TRAIN + ["--persona-column", "persona"])
prefs("recipe-unknown", PREFS, "RECIPE", ["train", "dpp", "--data", "{d}/prefs.jsonl", "--out", "{d}/out"])
prefs("ht-no-column", PREFS, "--persona-column", ["train", "ht_mnpo", "--data", "{d}/prefs.jsonl", "--out", "{d}/out"])
prefs("ht-one-persona", PREFS.replace('"rejected": "no"}', '"rejected": "no", "persona": "p"}'), "persona",
      ["train", "ht_mnpo", "--data", "{d}/prefs.jsonl", "--out", "{d}/out", "--persona-column", "persona"])
prefs("set-unknown", PREFS, "lrr", TRAIN + ["--set", "optim.lrr=1"])
prefs("set-lr-negative", PREFS, "lr", TRAIN + ["--set", "optim.lr=-1"])
prefs("device", PREFS, "--device", TRAIN + ["--device", "tpu"])
prefs("seed-negative", PREFS, "--seed", TRAIN + ["--seed", "-3"])
add("prefs", "missing-file", ["train", "dpo", "--data", "{d}/none.jsonl", "--out", "{d}/out"], "none.jsonl")
add("prefs", "suffix", ["train", "dpo", "--data", "{d}/p.csv", "--out", "{d}/out"], "p.csv", p__csv="prompt,chosen,rejected\n")
add("prefs", "broken-parquet", ["train", "dpo", "--data", "{d}/p.parquet", "--out", "{d}/out"], "p.parquet",
    p__parquet=b"PAR1 nope")
add("prefs", "json-object", ["train", "dpo", "--data", "{d}/p.json", "--out", "{d}/out"], "p.json", p__json='{"prompt": 1}')
add("prefs", "json-scalar", ["train", "dpo", "--data", "{d}/p.json", "--out", "{d}/out"], "p.json", p__json="7")

# -- tournament and annotate verbs -------------------------------------------------------------------------------
add("tournament", "duplicate-names", ["tournament", "x={d}/ckpt", "x={d}/ckpt", "--out", "{d}/out"], "x",
    ckpt__config__json="{}")
add("tournament", "missing-checkpoint", ["tournament", "a={d}/nothing", "--out", "{d}/out"], "nothing")
add("tournament", "no-config-json", ["tournament", "a={d}/empty", "--out", "{d}/out"], "empty", empty__keep="")
add("tournament", "empty-name", ["tournament", "={d}/ckpt", "--out", "{d}/out"], "policy", ckpt__config__json="{}")
add("tournament", "no-policies-new-dir", ["tournament", "--out", "{d}/out"], "out")
add("tournament", "config-non-utf8", ["tournament", "a={d}/ckpt", "--config", CONFIG, "--out", "{d}/out"], "config.yaml",
    ckpt__config__json="{}", config__yaml=NON_UTF8)
add("tournament", "set-bad", ["tournament", "a={d}/ckpt", "--set", "tournament.policies=bogus", "--out", "{d}/out"],
    "tournament.policies", ckpt__config__json="{}")
add("tournament", "replay-missing", ["tournament", "a={d}/ckpt", "--replay", "{d}/none.parquet", "--out", "{d}/out"],
    "none.parquet", ckpt__config__json="{}")
add("annotate", "missing-run", ["annotate", "{d}/norun"], "norun")
add("annotate", "set-bad", ["annotate", "{d}/run", "--set", "panel.preset=bogus"], "panel.preset",
    run__config__yaml="name: run\n")
