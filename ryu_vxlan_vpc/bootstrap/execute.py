"""Thin execution of a plan: observe the node, run each step whose check says so."""
import shlex
from dataclasses import dataclass

from .. import shell
from . import state

OBSERVE_TIMEOUT = 30


class NoSuchNamespace(RuntimeError):
    pass


@dataclass
class Result:
    ran: int = 0
    done: int = 0     # already as wanted / not there
    kept: int = 0     # teardown left it: it holds something bootstrap did not make

    def summary(self, verb):
        total = self.ran + self.done + self.kept
        if self.ran == 0 and self.kept == 0:
            return '%s: nothing to do, all %d steps already done' % (verb, total)
        text = '%s: %d steps: %d run, %d already done' % (verb, total, self.ran, self.done)
        return text + (', %d kept (see "!" above)' % self.kept if self.kept else '')


def print_plan(plan, out=print):
    """--dry-run: every command of the plan, one per line, in shell quoting; runs nothing."""
    for step in plan.steps:
        out(shlex.join(step.argv))


def read_ovs(target, run=shell.run, timeout=OBSERVE_TIMEOUT):
    """(bridges, ports) of the target's OVS database, in one ovs-vsctl call."""
    argv = list(target.vsctl('--format=json'))
    for table, columns in state.OVS_TABLES:
        argv += ['--', '--columns=' + columns, 'list', table]
    return state.parse_ovs(run(argv, timeout=timeout).stdout)


class Observer:
    """Reads the node's state; refreshes only the part a command can have changed."""

    def __init__(self, target, plan, run=shell.run):
        self.target, self.plan, self.run = target, plan, run
        self.obs = state.Observed()
        self.refresh_ovs()
        self.refresh_links()

    def refresh_ovs(self):
        self.obs.bridges, self.obs.ports = read_ovs(self.target, self.run)

    def refresh_links(self):
        t = self.target
        namespaces = state.parse_netns(
            self.run(['ip', '-j', 'netns', 'list'], timeout=OBSERVE_TIMEOUT).stdout)
        if t.netns and t.netns not in namespaces:
            raise NoSuchNamespace('network namespace %r does not exist' % t.netns)
        links = {t.netns: self._links(t.netns)}
        for ns in self.plan.namespaces:
            if ns in namespaces:
                links[ns] = self._links(ns)
        self.obs.namespaces, self.obs.links = namespaces, links

    def _links(self, netns):
        argv = ['ip'] + (['-n', netns] if netns else []) + ['-j', '-d', 'addr', 'show']
        return state.parse_links(self.run(argv, timeout=OBSERVE_TIMEOUT).stdout)

    def after(self, argv):
        if argv[0] == 'ovs-vsctl':
            self.refresh_ovs()
        else:
            self.refresh_links()


def apply(plan, target, verb='bootstrap', out=print, run=shell.run):
    """Run the steps not done yet; stop at the first failing command (CommandError)."""
    observer = Observer(target, plan, run)
    result = Result()
    for step in plan.steps:
        reason = step.check(observer.obs)
        if reason is None:
            out('  + ' + shlex.join(step.argv))
            run(list(step.argv))
            result.ran += 1
            observer.after(step.argv)
        elif reason.startswith('kept'):
            out('  ! %s: %s' % (step.what, reason))
            result.kept += 1
        else:
            out('  = %s: %s' % (step.what, reason))
            result.done += 1
    out(result.summary(verb))
    return result
