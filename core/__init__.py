"""Pure-Python core of the lip-sync extension: no bpy here, ever.

Everything Blender-specific comes in as arguments and callbacks (frames, audio
samples, keypoints, progress, cancel). Submodules are imported on demand so
that `import lipsync.core` stays cheap.
"""
