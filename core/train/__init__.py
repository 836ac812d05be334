"""Training of the networks (pure Python + torch, no bpy).

- :mod:`.loop`: the shared loop (seed, progress, held-out evaluation, checkpoints, resume,
  export to safetensors + a JSON record).
- :mod:`.sync`, :mod:`.generator`, :mod:`.parser`: the three stages.
- :mod:`.cli`: ``python -m lipsync train {sync,generator,parser}``.
"""
