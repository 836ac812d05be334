"""Synthetic training-data factory: procedural characters and their exact part labels.

- `character`: `CharacterSpec` (seeded random characters), `build_character`,
  `set_viseme_weights`, `face_anchor`, `VISEMES`.
- `labels`: `label_colours`, `render_labels` (per-pixel class ids of a frame).

Everything here imports bpy; import the submodules, nothing runs at import time.
"""
