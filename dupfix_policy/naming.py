"""Naming conventions: the ordered candidate values `--suggest` may propose for a taken value.

Pure: a convention and a person's name in, candidate strings out, nothing looked up. Which
candidate is free is decided in `suggestions.py`, against every source and the rest of the plan.

A convention is an ordered list of patterns per attribute (`.dupfix.yaml` `naming:`; syntax in
docs/naming.md). Placeholders: `{given}`, `{sur}` (given name and surname, transliterated to ASCII
and lower-cased), `{g}`, `{s}` (their first letters), `{local}` (the taken value, or its local part
for an address), `{domain}` (the taken address's domain) and `{n}`: nothing first, then 2, 3, ...
("append the lowest free number"). With no convention, every attribute uses `{local}{n}`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from .errors import UserInputError
from .model import Location

PLACEHOLDERS = ("given", "sur", "g", "s", "local", "domain", "n")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# Attributes a convention can be written for; addresses (mail, smtp proxies) use `mail`.
CONVENTION_ATTRIBUTES = ("userPrincipalName", "mail", "mailNickname", "sAMAccountName")
CONFIG_NAMES = {"upn": "userPrincipalName", "mail": "mail", "mailNickname": "mailNickname", "sam": "sAMAccountName"}
DEFAULT_PATTERNS = {
    "userPrincipalName": ("{local}{n}@{domain}",),
    "mail": ("{local}{n}@{domain}",),
    "mailNickname": ("{local}{n}",),
    "sAMAccountName": ("{local}{n}",),
}
# Longest value each attribute takes (FMT001 checks the same): the local part of an address,
# an alias, and AD's pre-Windows 2000 logon name.
LIMITS = {"userPrincipalName": 64, "mail": 64, "mailNickname": 64, "sAMAccountName": 20}
# Letters NFKD does not split into a base letter and a mark: written out as German/Nordic
# directories do (`ø` -> `o`, `ß` -> `ss`).
TRANSLITERATION = {
    "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE",
    "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D",
    "ı": "i", "ŋ": "ng", "ĸ": "k",
}  # fmt: skip
# What may stay in a generated local part, alias or sAMAccountName (FMT002's safe subset).
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")

# Numbers tried in each batch: the first batch is asked of the sources up front, the second only
# for conflicts the first could not settle (suggestions.py: at most two extra round trips).
BATCHES: tuple[tuple[int, int], ...] = ((2, 9), (10, 60))


@dataclass(frozen=True)
class Convention:
    """Patterns per attribute (canonical attribute names) and extra transliterations."""

    patterns: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_PATTERNS))
    transliterate: Mapping[str, str] = field(default_factory=dict)

    def for_attribute(self, attribute: str) -> tuple[str, ...]:
        if attribute in ("proxyAddresses", "targetAddress"):
            attribute = "mail"
        return self.patterns.get(attribute) or DEFAULT_PATTERNS.get(attribute, ("{local}{n}",))


def transliterate(text: str, extra: Mapping[str, str] | None = None) -> str:
    """ASCII spelling of a name: the table above (and the config's), then diacritics dropped."""
    table = {**TRANSLITERATION, **(extra or {})}
    spelled = "".join(table.get(ch, ch) for ch in text)
    decomposed = unicodedata.normalize("NFKD", spelled)
    return "".join(c for c in decomposed if not unicodedata.combining(c) and ord(c) < 128)


def clean(text: str, extra: Mapping[str, str] | None = None) -> str:
    """A name part as it may appear in a value: ASCII, no spaces or apostrophes, no edge dots."""
    return _UNSAFE.sub("", transliterate(text, extra)).strip(".")


@dataclass(frozen=True)
class NameParts:
    """What a pattern can be filled with for one change."""

    local: str
    domain: str = ""
    given: str = ""
    sur: str = ""

    @classmethod
    def of(cls, attributes: Mapping[str, object], local: str, domain: str = "") -> NameParts:
        given = str(attributes.get("givenName") or "").strip()
        sur = str(attributes.get("surname") or attributes.get("sn") or "").strip()
        display = str(attributes.get("displayName") or attributes.get("cn") or "").strip()
        if (not given or not sur) and " " in display and "," not in display:
            first, _, last = display.rpartition(" ")
            given, sur = given or first.split(" ")[0], sur or last
        return cls(local=local, domain=domain, given=given, sur=sur)


def check_pattern(pattern: str, attribute: str, where: Location | None = None) -> None:
    """Refuse a pattern that could never make a value: unknown placeholders, a missing `@{domain}`."""
    names = _PLACEHOLDER.findall(pattern)
    unknown = [n for n in names if n not in PLACEHOLDERS]
    if unknown:
        raise UserInputError(
            f"naming pattern {pattern!r} uses unknown placeholder {{{unknown[0]}}}",
            location=where,
            field=f"naming.{attribute}",
            hint="placeholders: " + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS),
        )
    address = attribute in ("upn", "mail", "userPrincipalName")
    if address and "@" not in pattern:
        raise UserInputError(
            f"naming pattern {pattern!r} makes no address",
            location=where,
            field=f"naming.{attribute}",
            hint="end it with @{domain} (or a fixed domain such as @contoso.com)",
        )
    if not address and "@" in pattern:
        raise UserInputError(
            f"naming pattern {pattern!r}: an {attribute} has no @",
            location=where,
            field=f"naming.{attribute}",
            hint="drop the @ and what follows it",
        )


def convention_from_config(raw: Mapping[str, object] | None, where: Location | None = None) -> Convention:
    """`.dupfix.yaml` `naming:` (already schema-valid) -> Convention, patterns checked."""
    if not raw:
        return Convention()
    patterns: dict[str, tuple[str, ...]] = dict(DEFAULT_PATTERNS)
    for name, attribute in CONFIG_NAMES.items():
        given = raw.get(name)
        if given:
            for p in given:  # type: ignore[attr-defined]
                check_pattern(str(p), name, where)
            patterns[attribute] = tuple(str(p) for p in given)  # type: ignore[attr-defined]
    if "upn" in raw and "mail" not in raw:
        patterns["mail"] = patterns["userPrincipalName"]
    extra = raw.get("transliterate") or {}
    return Convention(patterns, {str(k): str(v) for k, v in extra.items()})  # type: ignore[attr-defined]


def _render(pattern: str, parts: NameParts, number: str, limit: int, extra: Mapping[str, str]) -> str | None:
    values = {
        "given": clean(parts.given, extra).lower(),
        "sur": clean(parts.sur, extra).lower(),
        "g": clean(parts.given, extra)[:1].lower(),
        "s": clean(parts.sur, extra)[:1].lower(),
        "local": clean(parts.local, extra),
        "domain": parts.domain,
    }
    needed = [n for n in _PLACEHOLDER.findall(pattern) if n in values]
    if any(not values[n] for n in needed):
        return None  # the change has no given name (say): this pattern does not apply

    def fill(text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), text)

    local_pattern, at, domain_pattern = pattern.partition("@")
    head, has_n, tail = local_pattern.partition("{n}")
    head_text, tail_text = fill(head), fill(tail) if has_n else ""
    room = limit - len(number) - len(tail_text)
    local = (head_text[:room].rstrip(".") + number + tail_text) if has_n else head_text[:limit]
    if not local or local.startswith("."):
        return None
    return local + (at + fill(domain_pattern) if at else "")


def candidates(
    convention: Convention, attribute: str, parts: NameParts, numbers: tuple[int, int], *, first: bool
) -> Iterator[str]:
    """Candidate values in convention order for one batch of numbers (`first`: with no number)."""
    extra = convention.transliterate
    limit = LIMITS.get("mail" if attribute == "proxyAddresses" else attribute, 64)
    low, high = numbers
    seen: set[str] = set()
    for pattern in convention.for_attribute(attribute):
        tried: list[str] = [""] if first else []
        if "{n}" in pattern:
            tried += [str(n) for n in range(low, high + 1)]
        for number in tried:
            value = _render(pattern, parts, number, limit, extra)
            if value is not None and value.casefold() not in seen:
                seen.add(value.casefold())
                yield value


def schema_patterns() -> Sequence[str]:
    return tuple(CONFIG_NAMES)
