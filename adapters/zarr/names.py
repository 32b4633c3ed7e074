"""The names of a session's own files, shared by the format, its limits and its readers."""

META_NAME = "meta.json"
LABELS_NAME = "labels.jsonl"
DISCONTINUITIES_NAME = "discontinuities.jsonl"
