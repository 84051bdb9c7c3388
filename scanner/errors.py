"""kaic's exceptions. The CLI turns every `KaicError` into one stderr line and exit code 2."""


class KaicError(Exception):
    """Base of every expected failure: bad input, bad policy, unreachable cluster."""


class InputError(KaicError):
    """An input could not be read or parsed; the message starts with `FILE[:LINE]:`."""


class PolicyError(KaicError):
    """A policy, its metadata or a profile is invalid; the message names the file."""


class EngineError(KaicError):
    """The Rego engine failed in a way that is not one check's runtime error."""


class ReportError(KaicError):
    """An output could not be written."""
