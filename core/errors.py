"""Errors of the product. All derive from `LipSyncError`; the add-on and the
command lines turn them into a readable report or a non-zero exit code."""


class LipSyncError(Exception):
    """Base class of every error the product raises on purpose."""


class InputError(LipSyncError):
    """The user's input is wrong: the message says what and how to fix it."""


class AudioError(InputError):
    """An audio file or strip cannot be read or does not cover what is asked."""


class FrameError(InputError):
    """A frame image or frame folder cannot be read or written."""


class Cancelled(LipSyncError):
    """The user cancelled a long run; nothing half-written was left behind."""


class DamageError(LipSyncError):
    """An internal check found pixels changed outside a face's box: the run stops rather
    than report success over damaged frames (a bug to report, not a user's mistake)."""
