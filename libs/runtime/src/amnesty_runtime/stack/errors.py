"""The one error the local stack raises: something a person must fix, said plainly."""


class StackError(RuntimeError):
    """The local stack cannot start or stop; the message says why and what to do."""
