"""The streaming pass keeps only what can be in a conflict, and never loses one
(dupfix_policy/audit/collect.py): its answer equals judging every object in memory."""

from __future__ import annotations

import io
import random

import pytest

from dupfix_policy.audit.collect import Progress, collect
from dupfix_policy.audit.conflicts import find_conflicts
from dupfix_policy.testing import MemorySource, ad_user, entra_obj, entra_user, synced_pair


def tenant(seed: int, size: int = 300) -> list:
    """A small tenant with synced pairs, cloud-only users, groups, soft-deleted users, quarantined
    values and planted duplicates of every kind, shuffled so that twins arrive in any order."""
    rng = random.Random(seed)
    shared = [f"shared{n}@contoso.com" for n in range(8)]
    objects = []
    for n in range(size):
        pick = rng.random()
        extra = (f"smtp:{rng.choice(shared)}",) if rng.random() < 0.1 else ()
        if pick < 0.4:
            ad, entra = synced_pair(f"user{n}@contoso.com", proxyAddresses=(f"SMTP:user{n}@contoso.com", *extra),
                                    mailNickname=f"user{n % 97}")  # fmt: skip
            objects += [ad, entra]
        elif pick < 0.7:
            state = "soft-deleted" if rng.random() < 0.1 else "active"
            quarantined = [("ProxyAddress", f"smtp:{rng.choice(shared)}")] if rng.random() < 0.05 else []
            objects.append(entra_user(f"cloud{n}@contoso.com", state=state, quarantined=quarantined,
                                      proxyAddresses=(f"SMTP:cloud{n}@contoso.com", *extra)))  # fmt: skip
        elif pick < 0.85:
            objects.append(entra_obj("group", f"g{n}", mailEnabled=True, mailNickname=f"g{n % 50}",
                                     proxyAddresses=(f"SMTP:g{n}@contoso.com", *extra)))  # fmt: skip
        else:
            objects.append(ad_user(f"onprem{n}@contoso.com", sAMAccountName=f"op{n % 60}",
                                   proxyAddresses=(f"SMTP:onprem{n}@contoso.com", *extra)))  # fmt: skip
    rng.shuffle(objects)
    return objects


def judged(conflicts) -> list:
    """What a conflict says, without the index's internal identity numbers."""
    return [(c.code, c.key, c.holder_ids, [h.holds for h in c.holders], c.quarantine) for c in conflicts]


def streamed(sources, workers: int | None = None) -> list:
    got = collect(sources, workers=workers)
    return judged(find_conflicts(got.objects, got.keys))


@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "forked-counter"])
def test_streaming_finds_exactly_what_judging_every_object_finds(workers):
    for seed in range(5):
        objects = tenant(seed)
        expected = judged(find_conflicts(objects))
        assert expected and streamed([MemorySource(objects, ("entra", "ad"))], workers) == expected


def test_twins_split_over_two_sources_are_still_one_identity_in_either_order():
    objects = tenant(7)
    ad = [o for o in objects if o.directory == "ad"]
    entra = [o for o in objects if o.directory == "entra"]
    expected = judged(find_conflicts(objects))
    assert streamed([MemorySource(ad, ("ad",)), MemorySource(entra, ("entra",))]) == expected
    assert streamed([MemorySource(entra, ("entra",)), MemorySource(ad, ("ad",))]) == expected


def test_only_objects_in_conflicts_and_their_twins_are_kept():
    ad, nora = synced_pair(
        "nora@contoso.com", proxyAddresses=("SMTP:nora@contoso.com", "smtp:events@contoso.com")
    )
    owen = entra_user("owen@contoso.com", proxyAddresses=("SMTP:owen@contoso.com", "smtp:events@contoso.com"))
    bystanders = [
        entra_user(f"b{n}@contoso.com", proxyAddresses=(f"SMTP:b{n}@contoso.com",)) for n in range(50)
    ]
    got = collect([MemorySource([ad, *bystanders, nora, owen], ("entra", "ad"))])
    assert got.scanned == 53
    assert {o.id for o in got.objects} == {ad.id, nora.id, owen.id}
    assert got.keys == {"proxy:smtp:events@contoso.com"}


def test_an_object_two_sources_return_counts_once():
    a = entra_user("a@contoso.com", proxyAddresses=("SMTP:a@contoso.com",))
    got = collect([MemorySource([a]), MemorySource([a])])
    assert (got.scanned, got.repeated, got.objects) == (1, 1, [])


def test_objects_come_back_from_the_spool_as_they_were_read():
    odd = entra_user("zoë@contoso.com", displayName="Zoë “quoted”", accountEnabled=True,
                     proxyAddresses=("SMTP:zoë@contoso.com", "smtp:dup@contoso.com"),
                     quarantined=[("ProxyAddress", "smtp:q@contoso.com")], extensionAttribute1=1.5)  # fmt: skip
    other = entra_user("y@contoso.com", proxyAddresses=("SMTP:y@contoso.com", "smtp:dup@contoso.com"))
    got = collect([MemorySource([odd, other])])
    back = {o.id: o for o in got.objects}
    assert back[odd.id] == odd and back[other.id] == other


def test_progress_is_drawn_on_a_terminal_and_silent_elsewhere():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    objects = [entra_user(f"u{n}@contoso.com") for n in range(3000)]
    terminal, pipe = Tty(), io.StringIO()
    collect([MemorySource(objects)], Progress.for_terminal(quiet=False, stream=terminal))
    collect([MemorySource(objects)], Progress.for_terminal(quiet=False, stream=pipe))
    quiet = Tty()
    collect([MemorySource(objects)], Progress.for_terminal(quiet=True, stream=quiet))
    assert "audit: 3,000 objects read from memory:" in terminal.getvalue()
    assert pipe.getvalue() == "" and quiet.getvalue() == ""


@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "forked-counter"])
def test_a_source_that_fails_mid_scan_fails_the_audit(workers):
    from dupfix_policy.errors import StateUnavailableError

    class Throttled(MemorySource):
        def scan(self):
            yield from self.objects
            raise StateUnavailableError("Graph throttled past the time budget")

    objects = [entra_user(f"u{n}@contoso.com") for n in range(5000)]
    with pytest.raises(StateUnavailableError):
        collect([Throttled(objects)], workers=workers)


@pytest.mark.parametrize("order", [0, 1, 2])
def test_an_ad_object_taking_another_ones_anchor_is_collected_whatever_the_order(order):
    from dupfix_policy.addresses import guid_to_immutable_id

    olga = ad_user("olga@contoso.com")
    twin = entra_user("olga@contoso.com", onPremisesImmutableId=guid_to_immutable_id(olga.id))
    taker = ad_user("max@contoso.com", **{"mS-DS-ConsistencyGuid": olga.id})
    objects = [olga, twin, taker]
    objects = objects[order:] + objects[:order]
    expected = judged(find_conflicts(objects))
    assert [c[0] for c in expected] == ["DUP008"]
    assert streamed([MemorySource(objects, ("entra", "ad"))], workers=1) == expected
