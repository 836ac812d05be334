"""Re-voicing modes (light: the command lines and the add-on read them without torch).

'auto' re-voices a character whose lips already move as in speech, 'on' always, 'off'
never; see `character` for what re-voicing does.
"""

from __future__ import annotations

from ..errors import InputError

REVOICE_MODES = ("auto", "on", "off")


def revoice_mode(value: str | bool) -> str:
    """`value` as one of REVOICE_MODES (True and False mean 'on' and 'off')."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if value not in REVOICE_MODES:
        raise InputError(f"revoice {value!r}: use one of {', '.join(REVOICE_MODES)} (or true "
                         "for on, false for off)")
    return value
