"""mnpo-bench: heterogeneous-annotator benchmarking for Nash preference optimization."""
__version__ = "0.1.0"
