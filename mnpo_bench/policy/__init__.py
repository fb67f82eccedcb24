"""Policies: the chat template, the embedded tiny model and loading of any causal LM."""
