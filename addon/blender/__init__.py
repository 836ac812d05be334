"""Adapters between Blender data and the core: renders, camera projection of the mouth,
sound strips, sequencer strips and the mp4 preview. Nothing here runs a pipeline."""
