"""What one sync did, as data: the log line, REST, metrics and benchmarks read this."""
import time
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class SyncReport:
    dpid: int
    flows: int        # pipeline flows the switch holds after the sync
    added: int        # added or replaced in place
    removed: int      # ours, no longer wanted
    forgotten: int    # deletions of stale learned flows (each may remove many)
    unchanged: int
    how: str          # 'in one atomic bundle', 'N messages one by one', 'nothing to send'
    seconds: float
    finished: float   # time.time() when it was done
    repaired: int = 0  # of added + removed: undoing changes made behind our back (drift)
    # Where the seconds went: reading the switch's flows back (and the learned flows and
    # port ages when ports changed), building the pipeline and the difference, encoding
    # and sending it until the switch confirmed (barrier, bundle commit). The switch
    # dumps its flows while the pipeline is built: the read includes that.
    read_seconds: float = 0.0
    plan_seconds: float = 0.0
    send_seconds: float = 0.0
    # The read: flows of ours read back and decoded, and rows (l2population's entries,
    # ARP answers) recognised by their bytes alone (ofp.rows_read).
    read_decoded: int = 0
    read_recognised: int = 0

    @classmethod
    def of(cls, dpid, plan, how, seconds, now=None, phases=(0.0, 0.0, 0.0), read=(0, 0)):
        return cls(dpid=dpid, flows=plan.unchanged + len(plan.add), added=len(plan.add),
                   removed=len(plan.delete), forgotten=len(plan.forget),
                   unchanged=plan.unchanged, how=how, seconds=round(seconds, 6),
                   finished=time.time() if now is None else now,
                   repaired=len(plan.repaired),
                   read_seconds=round(phases[0], 6), plan_seconds=round(phases[1], 6),
                   send_seconds=round(phases[2], 6),
                   read_decoded=read[0], read_recognised=read[1])

    def as_dict(self):
        d = asdict(self)
        d['dpid'] = '%016x' % self.dpid
        return d
