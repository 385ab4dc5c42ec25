"""The deliver pass: what is due in the outbox goes out, each channel URL on its own.

A sender claims each delivery with a compare-and-set before sending (a `check` beside the daemon
never sends it too); more than `DIGEST_AFTER` alerts due at once for one URL go out as one digest
message; a failed attempt is retried with exponential backoff and full jitter until the give-up
deadline, after which it is reported through another channel.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from alertd import lifecycle
from alertd.config import SEVERITIES, Config
from alertd.model import Message
from alertd.store import Store
from alertd.store.outbox import Delivery

log = logging.getLogger("alertd.cycle")

CLAIM_LEASE = timedelta(seconds=30)  # longer than any one attempt (Apprise times out at 15 s)
DIGEST_AFTER = 3  # more alerts than this due for one URL at once go out as one message
RETRY_FIRST = 5.0  # seconds; doubled per attempt, full jitter
RETRY_CAP = 600.0


@dataclass
class Deliveries:
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, sent | failed | gave_up)

    def count(self, outcome: str) -> int:
        return sum(n for (_, o), n in self.outcomes.items() if o == outcome)

    @property
    def sent(self) -> int:
        return self.count("sent")

    @property
    def failed(self) -> int:
        """Attempts that failed this time, to be retried."""
        return self.count("failed")

    @property
    def gave_up(self) -> int:
        return self.count("gave_up")


def deliver(config: Config, store: Store, now: datetime) -> Deliveries:
    """Send what is due in the outbox, each channel URL on its own; more than `DIGEST_AFTER`
    alerts due for one URL at once go out as one digest message."""
    counts = Deliveries()
    groups: dict[tuple[str, int], list[Delivery]] = {}
    for item in store.outbox.due(now):
        if lifecycle.stop_requested():
            break  # what is left stays due for the next start
        if not store.outbox.claim(item.id, now, CLAIM_LEASE):
            continue  # another alertd process (a `check` beside the daemon) has it
        if item.target >= len(config.channels.get(item.channel, ())):
            store.outbox.mark_failed(
                item.id, datetime.now(UTC), f"channel {item.channel!r} is no longer configured", None
            )
            counts.outcomes[item.channel, "gave_up"] += 1
            continue
        groups.setdefault((item.channel, item.target), []).append(item)
    work = [
        (config.channels[channel][target].get_secret_value(), batch)
        for (channel, target), items in groups.items()
        for batch in ([items] if len(items) > DIGEST_AFTER else [[item] for item in items])
    ]
    if not work:
        return counts
    # Apprise takes a third of a second to import: only once there is something to send.
    from alertd.notify.deliver import DEFAULT_TIMEOUT

    tried = 0
    try:
        for url, batch in work:
            if lifecycle.stop_requested():
                break
            lifecycle.beat(allow=DEFAULT_TIMEOUT)  # Apprise's own limit on one attempt
            tried += 1
            _send(config, store, url, batch, now, counts)
    finally:
        # Cut short by a stop: what was not tried goes out at the next start, without waiting for its lease.
        store.outbox.unclaim([item.id for _, rest in work[tried:] for item in rest], now, CLAIM_LEASE)
        store.outbox.forget_pictures()
    return counts


def _send(config: Config, store: Store, url: str, items: list[Delivery], now: datetime, counts: Deliveries) -> None:
    """One message to one URL (one alert, or a digest of several), and its outcome for each."""
    from alertd.notify.deliver import deliver as deliver_one
    from alertd.notify.render import render_digest
    from alertd.notify.templates import Template, apply

    first = items[0]
    if len(items) == 1:
        message = first.message
        spec = config.templates.get(first.channel)
        if spec is not None:
            message = apply(Template(spec.title, spec.body), message, first.facts)
    else:
        message = render_digest([(i.severity, i.message.title) for i in items])
    told: list[int] = []
    if config.delivery.report_failures:
        failures = store.outbox.untold_failures(other_than=first.channel)
        message, told = _with_failures(message, failures), [f[0] for f in failures]
    severity = max((i.severity for i in items), key=SEVERITIES.index)
    with lifecycle.cuttable(grace=True):  # cut only a send still hanging after a stop's grace
        outcome = deliver_one(url, message, severity=severity, picture=first.picture if len(items) == 1 else None)
    # The log keeps when this send ended (a cycle's sends can take minutes); retries and giving up go
    # by the cycle's clock, `now`. One log line per message, not per alert in a digest.
    tried_at = datetime.now(UTC)
    what = first.message.title if len(items) == 1 else f"a digest of {len(items)} alerts"
    where = f"{first.channel} ({first.target_masked})"
    if outcome.ok:
        for item in items:
            store.outbox.mark_sent(item.id, tried_at, told)
        counts.outcomes[first.channel, "sent"] += len(items)
        log.info("delivered %s to %s", what, where)
        return
    error = outcome.error or "delivery failed"
    retrying = []
    for item in items:
        if now - item.alert_created >= config.delivery.give_up_after:
            store.outbox.mark_failed(item.id, tried_at, error, None)
            counts.outcomes[item.channel, "gave_up"] += 1
            log.error("gave up delivering %s to %s: %s", item.message.title, where, error)
            continue
        delay = random.uniform(0, min(RETRY_CAP, RETRY_FIRST * 2**item.attempts))
        # The last try falls on the give-up deadline, not up to a backoff after it.
        deadline = item.alert_created + config.delivery.give_up_after
        store.outbox.mark_failed(item.id, tried_at, error, min(now + timedelta(seconds=max(1.0, delay)), deadline))
        retrying.append(item)
    counts.outcomes[first.channel, "failed"] += len(retrying)
    if retrying:
        what = retrying[0].message.title if len(retrying) == 1 else f"{len(retrying)} alerts"
        log.warning("delivery of %s to %s failed, will retry: %s", what, where, error)


def _with_failures(message: Message, failures: list[tuple[int, str, str, str, str]]) -> Message:
    """The message with a note on alerts that could not be delivered to other channels."""
    from alertd.notify.layout import append_section

    if not failures:
        return message
    lines = [f"{title} → {channel} ({url}): {error}" for _, title, channel, url, error in failures]
    return append_section(message, f"Could not be delivered elsewhere ({len(lines)}), given up", lines)
