"""What every part of the lab shares: its error and its way of waiting."""
from .. import procs


class LabError(RuntimeError):
    def __init__(self, message, exit_code=1):
        super().__init__(message)
        self.exit_code = exit_code


def wait(predicate, timeout, what, interval=0.2):
    value = procs.poll(predicate, timeout, interval)
    if not value:
        raise LabError('timed out after %.0f s waiting for %s' % (timeout, what))
    return value
