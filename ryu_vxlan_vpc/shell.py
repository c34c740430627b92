"""Running system commands: argument lists only, never a shell, errors that show the command."""
import os
import shlex
import subprocess


class CommandError(RuntimeError):
    def __init__(self, argv, returncode, stderr):
        self.argv, self.returncode, self.stderr = list(argv), returncode, stderr
        super().__init__('command failed (exit %s): %s\n%s' % (
            returncode, shlex.join(self.argv), (stderr or '').strip()))


def in_netns(netns, argv):
    """The argument list that runs ``argv`` inside network namespace ``netns`` (or as is)."""
    return ['ip', 'netns', 'exec', netns] + list(argv) if netns else list(argv)


def run(argv, netns=None, env=None, check=True, timeout=60, input=None):
    """Run ``argv`` (a list) and return CompletedProcess with text output.

    ``env`` entries are added to this process's environment. A non-zero exit raises
    CommandError carrying the command line and its stderr unless ``check`` is false.
    """
    if isinstance(argv, str):
        raise TypeError('argv must be a list, never a shell string')
    full_env = dict(os.environ, **env) if env else None
    argv = in_netns(netns, argv)
    try:
        proc = subprocess.run(argv, env=full_env, capture_output=True, text=True,
                              timeout=timeout, input=input)
    except FileNotFoundError as exc:
        raise CommandError(argv, 127, str(exc)) from None
    except subprocess.TimeoutExpired:
        raise CommandError(argv, 'timeout', 'no answer within %ss' % timeout) from None
    if check and proc.returncode != 0:
        raise CommandError(argv, proc.returncode, proc.stderr)
    return proc
