"""The game lab: the trainer's update rules on tabular softmax policies over a preference matrix.

`matrices` builds the matrix (planted games, a CSV, or a run's panel on one prompt), `updates` holds each
method's exact population update, `lab` runs them and measures exploitability, `report` writes the files.
"""
