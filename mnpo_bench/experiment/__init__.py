"""Experiments: a grid of ordinary runs (cells x seeds) and the statistics across them.

`config.py` reads EXPERIMENT.yaml and expands its grid into (cell, seed) run configs, `launch.py` runs them
(local processes, submitit or Ray), `stats.py` pools the runs into summaries and paired effects and
`report.py` writes summary.csv, effects.csv and report.md.
"""
