"""Evaluation of the whole pipeline on held-out data (`run`), with the field's measures
(`metrics`), and its command line (`cli`)."""
