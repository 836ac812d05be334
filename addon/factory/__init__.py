"""Synthetic training-data factory: procedural characters and their exact part labels.

- `character_spec`: `CharacterSpec` (seeded random characters, plain data, no bpy).
- `head_geometry`: a spec's head, face parts and viseme shapes as numpy maths (no bpy).
- `character`: `build_character`, `set_viseme_weights`, `face_anchor` (into Blender).
- `labels`: `label_colours`, `render_labels` (per-pixel class ids of a frame).
- `face_parts`: mesh building blocks shared by the characters and the demo's head.
- `talking_head`: the demo's procedural talking head.
- `clip`, `shot`, `dataset`: one rendered clip, its camera and lights, the data set.
- `import_character`, `import_clip`, `import_dataset`: a character made elsewhere (.blend,
  .glb/.gltf, .vrm) talking through its own mouth controls, its clips, `dataset import`.

Everything else imports bpy; import the submodules, nothing runs at import time.
"""
