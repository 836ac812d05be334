"""The synthetic talking-character data set: its plan (clips, splits) and its sentences."""
