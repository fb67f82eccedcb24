"""The trainer: preference losses (losses.py, chosen by name in objectives.py), the one sequence log-prob
path (logprobs.py), reference/opponent precompute (precompute.py), opponent populations (population.py),
the accelerate step loop (loop.py), one online iteration (iteration.py), the pipeline stage (stage.py),
recipes (recipes.py, trainer/*.yaml) and `mnpo-bench train` (offline.py, cli.py)."""
