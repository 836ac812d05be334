"""The lip-sync pipeline (no bpy): frames + audio + fps (+ keypoints per character) -> frames.

- :mod:`.run`: `lipsync_frames`, the one entry point (streaming, atomic output);
- :mod:`.character`: per-character crops, passes and network runs;
- :mod:`.options`: `LipSyncOptions`, the job's options (quality, re-voicing, device...);
- :mod:`.crop`: mouth-centred crop boxes, smoothed over time, and the way back;
- :mod:`.pixels`: stored frame formats <-> display pixels;
- :mod:`.models`: the three trained networks, loaded together;
- :mod:`.region`: the feathered mouth region where generated pixels may go.

Mouth keypoints for frames that come without them: :mod:`lipsync.core.locator`.
"""
