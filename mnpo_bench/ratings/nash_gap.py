"""The Nash gap (exploitability) of each policy on the panel's aggregated preference, and its answer diversity.

On prompt p, policy m plays a mixed strategy pi_m: the share of its answers that are each distinct answer.
The pool Y_p holds every entrant's answers on p. The panel's aggregated preference P(y > x) between two
answers is the mean score of y over all battles between them (every annotator, both orders); an answer
against itself (identical text) is 1/2. The Nash gap of m on p is

    gap_p(m) = max(1/2, max_{y in Y_p} sum_x pi_m(x) P(y > x)) - 1/2,

how much the best single answer from the pool beats m's mixture (0: no answer in the pool beats it). Only
cross-policy pairs are judged, so a candidate y counts only where P(y > x) was judged for every x that m
plays (answers with identical text are one answer, so a text another policy also wrote links them). The
floor 1/2 is not a convention: y drawn from pi_m itself scores exactly 1/2 on average, so the maximum over
a pool holding m's answers is at least 1/2. A prompt with no eligible y outside m's answers has no value
(NaN) and is left out. nash_gap is the mean over prompts; nash_gap_lo/hi are 2.5/97.5% percentiles of a
cluster bootstrap over prompts (each drawn prompt counts as often as drawn).

Diversity (answers known by text, from the run's responses table): `diversity` is the mean over prompts of
the share of distinct texts among the policy's answers (1/k: always the same answer, 1: all different);
`length_entropy` the mean over prompts of the Shannon entropy, in bits, of its answers over length classes
(floor(log2(characters + 1)): the attribute the concise/thorough personas score). Both are NaN without texts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from mnpo_bench.ratings.battles import Battles
from mnpo_bench.ratings.resample import bootstrap_mean

COLUMNS = ("nash_gap", "nash_gap_lo", "nash_gap_hi", "nash_gap_prompts", "diversity", "length_entropy")


def answers_of(battles: Battles, responses: pd.DataFrame | None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(answers, answer_a, answer_b): `answers` has one row per response seen in a valid battle (prompt,
    model, answer, length in characters or NaN), answer codes dense per (prompt, distinct answer) and
    numbered prompt by prompt; answer_a/answer_b (V,) the answer code of each side of the valid battles.
    An answer is a text where `responses` (response_id, text) names it, else a response id where battles
    carry them, else the model (one answer per model and prompt, as in AlpacaEval)."""
    valid = battles.valid
    prompt = valid["prompt_id"].cat.codes.to_numpy().astype(np.int64)
    prompt = np.where(prompt < 0, 0, prompt)  # battles without prompt ids: one prompt
    prompt = np.concatenate([prompt, prompt])  # (2V,) side a, then side b
    model = np.concatenate([valid["a"].to_numpy(), valid["b"].to_numpy()])
    ids = [valid[f"response_{s}_id"] if f"response_{s}_id" in valid else None for s in "ab"]
    length = np.full(len(model), np.nan)
    if ids[0] is None or ids[0].isna().any() or ids[1].isna().any():
        response = key = model.astype(np.int64)  # the model is the answer
    else:
        names = pd.concat([ids[0].astype(str), ids[1].astype(str)], ignore_index=True)
        response, uniques = pd.factorize(names)
        key = response
        if responses is not None:
            text = responses.drop_duplicates("response_id").set_index("response_id")["text"].astype(str)
            texts = pd.Series(uniques).map(text)  # one text per distinct response id (NaN: unknown)
            known = texts.notna().to_numpy()
            text_code = pd.factorize(texts.where(known, "\0id:" + pd.Series(uniques)))[0]
            key = text_code[response]
            length = np.where(known, texts.str.len().to_numpy(dtype=float, na_value=np.nan), np.nan)[response]
    answer = _codes(prompt, key)
    first = ~pd.Index(_codes(prompt, response)).duplicated()  # the first side showing each response
    answers = pd.DataFrame({"prompt": prompt[first], "model": model[first], "answer": answer[first],
                            "length": length[first]})
    half = len(valid)
    return answers, answer[:half], answer[half:]


def _codes(prompt: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Dense codes (N,) of the (prompt, key) pairs of int arrays `prompt`, `key`, numbered in (prompt, key)
    order. A small key space is ranked by counting (O(N)); a large one by hashing (pd.factorize) and sorting
    only the distinct pairs: np.unique would sort all 2M sides of a million battles, 5x slower."""
    key = np.asarray(key, dtype=np.int64)
    combined = prompt.astype(np.int64) * (int(key.max()) + 1) + key
    space = int(combined.max()) + 1
    if space <= 4 * len(combined) + 1_000_000:
        seen = np.bincount(combined, minlength=space) > 0
        return (np.cumsum(seen) - 1)[combined]
    codes, uniques = pd.factorize(combined)
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[np.argsort(uniques, kind="stable")] = np.arange(len(uniques))
    return rank[codes]


@dataclass
class Pool:
    """Every prompt's pool of answers, and each model's mixture over it (from `answers_of`)."""

    prompt_of: np.ndarray  # (Y,) prompt of each answer
    local: np.ndarray  # (Y,) index of each answer within its prompt's pool
    width: int  # most answers on one prompt
    pi: np.ndarray  # (K, n, width) share of model m's responses on prompt k that are answer x
    present: np.ndarray  # (K, width) bool, pool slots holding an answer
    rows: tuple[np.ndarray, np.ndarray]  # (R,) prompt and slot of each nonzero pi entry, grouped by (k, m)
    mix: sparse.csr_matrix  # (G, R) pi's weight of each entry in its (k, m) group
    groups: tuple[np.ndarray, np.ndarray]  # (G,) prompt and model of each group
    candidates: np.ndarray  # (G, width) bool: a pool slot holding an answer
    unplayed: np.ndarray  # (G, width) bool: a slot holding an answer the group's model does not play

    @classmethod
    def build(cls, answers: pd.DataFrame, n: int) -> "Pool":
        prompt_of = answers.groupby("answer")["prompt"].first().sort_index().to_numpy()
        k_prompts = int(prompt_of.max()) + 1
        first = np.searchsorted(prompt_of, np.arange(k_prompts))  # answers are numbered prompt by prompt
        local = np.arange(len(prompt_of)) - first[prompt_of]
        width = int(local.max()) + 1
        slot = (answers["prompt"].to_numpy() * n + answers["model"].to_numpy()) * width + local[answers["answer"].to_numpy()]
        weight = np.bincount(slot, minlength=k_prompts * n * width).reshape(k_prompts, n, width).astype(float)
        total = weight.sum(-1, keepdims=True)
        pi = np.divide(weight, total, out=np.zeros_like(weight), where=total > 0)
        present = np.zeros((k_prompts, width), bool)
        present[prompt_of, local] = True
        k, m, x = np.nonzero(pi)  # row-major: grouped by (k, m)
        group = k * n + m
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        member = np.cumsum(np.r_[True, group[1:] != group[:-1]]) - 1  # (R,) group of each entry
        mix = sparse.csr_matrix((pi[k, m, x], (member, np.arange(len(k)))), shape=(len(starts), len(k)))
        gk, gm = k[starts], m[starts]
        candidates = present[gk]
        return cls(prompt_of, local, width, pi, present, (k, x), mix, (gk, gm), candidates,
                   candidates & (pi[gk, gm] == 0))

    def mixed(self, rows: np.ndarray) -> np.ndarray:
        """(G, width): per (prompt, model) group, its pi-weighted sum of `rows` (R, width), one per played
        answer. Where every model plays a single answer (one answer per model and prompt), that is `rows`."""
        if self.mix.shape[0] == self.mix.shape[1]:  # G == R: one entry per group, of weight 1
            return rows
        return self.mix @ rows


def tally_answers(pool: Pool, score: np.ndarray, answer_a: np.ndarray, answer_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(won, met), each (K * width * width,): for prompt k and answers x, y of its pool (flat (k, x, y)), the
    summed score of y against x and their battles, from battles between answers `answer_a`, `answer_b` (V,)
    with the score of answer_a `score` (V,). Tallies add: the panel's is the sum of its annotators'."""
    k_prompts, _, width = pool.pi.shape
    differ = answer_a != answer_b  # identical answers on both sides are 1/2 by definition
    u, v, s = answer_a[differ], answer_b[differ], score[differ]
    k = pool.prompt_of[u]
    flat_uv = (k * width + pool.local[u]) * width + pool.local[v]
    flat_vu = (k * width + pool.local[v]) * width + pool.local[u]
    size = k_prompts * width * width
    # laid out by the answer x a model plays (Q[k, x, y] = P(y beats x)), so gathering its rows is contiguous
    won = np.bincount(flat_vu, s, size) + np.bincount(flat_uv, 1 - s, size)
    met = np.bincount(flat_uv, minlength=size) + np.bincount(flat_vu, minlength=size)
    return won, met


def per_prompt_gaps(pool: Pool, won: np.ndarray, met: np.ndarray) -> np.ndarray:
    """(K, n) Nash gap of each model on each prompt (NaN where undefined), in score units (0 to 1/2), from
    the tally (`tally_answers`) of the battles between answers."""
    k_prompts, n, width = pool.pi.shape
    Q = (won / np.maximum(met, 1)).reshape(k_prompts, width, width)  # 0 where unmet (won is 0 there too)
    known = (met > 0).reshape(k_prompts, width, width)  # symmetric
    diag = np.arange(width)
    Q[:, diag, diag], known[:, diag, diag] = 0.5, True
    # value[k, m, y] = sum_x pi[k, m, x] Q[k, x, y], over the few x each model plays (sparse, not K dense matmuls)
    rk, rx = pool.rows
    value_g = pool.mixed(Q[rk, rx])  # (G, width)
    unknown_g = pool.mixed(~known[rk, rx]) > 0  # (G, width): y unjudged against some x the model plays
    gk, gm = pool.groups
    eligible = ~unknown_g & pool.candidates  # (G, width)
    best = np.max(value_g, axis=-1, where=eligible, initial=-np.inf)
    outside = (~unknown_g & pool.unplayed).any(-1)  # an eligible answer the model does not play
    gap = np.full((k_prompts, n), np.nan)
    gap[gk, gm] = np.where(outside, np.maximum(best, 0.5) - 0.5, np.nan)
    return gap


def diversity(answers: pd.DataFrame, n: int) -> tuple[np.ndarray, np.ndarray]:
    """((n,) share of distinct answers, (n,) length-class entropy in bits), each a mean over prompts; NaN
    for a model whose answers have no texts."""
    known = answers[answers["length"].notna()]
    share, entropy = np.full(n, np.nan), np.full(n, np.nan)
    if known.empty:
        return share, entropy
    groups = known.groupby(["model", "prompt"])
    per = pd.DataFrame({"distinct": groups["answer"].nunique() / groups["answer"].size()})
    length_class = np.floor(np.log2(known["length"].to_numpy() + 1.0))
    classes = known.assign(cls=length_class).groupby(["model", "prompt", "cls"]).size()
    q = classes / classes.groupby(level=[0, 1]).transform("sum")
    per["entropy"] = (-(q * np.log2(q))).groupby(level=[0, 1]).sum() + 0.0
    means = per.groupby(level=0).mean()
    share[means.index.to_numpy()] = means["distinct"].to_numpy()
    entropy[means.index.to_numpy()] = means["entropy"].to_numpy()
    return share, entropy


def nash_table(battles: Battles, responses: pd.DataFrame | None, rounds: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per model: COLUMNS, indexed like battles.models; long per annotator: annotator, model, nash_gap,
    nash_gap_prompts). The bootstrap is seeded by `seed` (a stream of its own)."""
    answers, answer_a, answer_b = answers_of(battles, responses)
    n = len(battles.models)
    pool = Pool.build(answers, n)
    score = battles.valid["score_a"].to_numpy()
    codes, names = battles.valid["annotator"].cat.codes.to_numpy(), battles.valid["annotator"].cat.categories
    tallies = {}
    for code in sorted(np.unique(codes[codes >= 0]), key=lambda c: str(names[c])):
        mine = codes == code  # small integer codes, not a million strings
        tallies[str(names[code])] = tally_answers(pool, score[mine], answer_a[mine], answer_b[mine])
    won, met = (sum(t[part] for t in tallies.values()) for part in (0, 1))
    gaps = per_prompt_gaps(pool, won, met)
    mean, lo, hi, count = bootstrap_mean(gaps, rounds, np.random.default_rng([seed, 0x6E617368]))
    share, entropy = diversity(answers, n)
    table = pd.DataFrame({"nash_gap": mean, "nash_gap_lo": lo, "nash_gap_hi": hi, "nash_gap_prompts": count,
                          "diversity": share, "length_entropy": entropy})
    rows = []
    for name, tally in tallies.items():
        own = per_prompt_gaps(pool, *tally)
        own_mean, _, _, own_count = bootstrap_mean(own, 0, np.random.default_rng(0))
        rows.append(pd.DataFrame({"annotator": name, "model": battles.models, "nash_gap": own_mean,
                                  "nash_gap_prompts": own_count}))
    return table, pd.concat(rows, ignore_index=True)
