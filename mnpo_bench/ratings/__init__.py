"""Ratings and leaderboards: battles in, ratings that survive cycles out.

`build_leaderboard(battles, out_dir, ...)` (leaderboard.py) turns a battles table (FastChat's schema,
`model_a, model_b, winner`) into ratings.csv, matrix.csv, diagnostics.json, annotators.csv and report.md.
Pieces: battles.py (read and check), tally.py (aggregate and bootstrap), bradley_terry.py, equilibria.py
(maximal lottery, Nash averaging), length_control.py (pooled GLM) and length_control_alpaca.py (AlpacaEval 2's
per-model GLM), diagnostics.py, annotators.py, importers.py (AlpacaEval annotations, Chatbot-Arena logs),
exporters.py (battles as AlpacaEval annotations), report.py, stage.py (pipeline), cli.py (`leaderboard` verb).
"""
