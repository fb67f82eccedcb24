"""lm-eval task files of the built-in benchmarks (YAML + JSONL); a package so they ship in the wheel."""
