"""Whose material a collected file is: an explicit custodian, a path-pattern map, the file's owner, or unassigned.

The rules are tried in that order and the one that decided is recorded on every item, so a reviewer can
see why a file was attributed to someone (and fix the map when it is wrong).

A map file has one rule a line, `PATTERN -> CUSTODIAN`, tried top to bottom:

    # home drives
    \\\\fs\\home$\\jsmith\\** -> Jane Smith
    \\\\fs\\foi-uploads\\{name}\\** -> {name}
    /mnt/share/home/jsmith/** -> Jane Smith

`**` matches any number of folders, `*` and `?` match within one name, `{name}` captures one folder name
and can be used in the custodian. UNC patterns (starting `\\\\` or `//`) match case-insensitively, as
Windows file servers do; local paths match exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

UNASSIGNED = "unassigned"
RULE_EXPLICIT = "explicit"
RULE_MAP = "map"
RULE_OWNER = "owner"

OwnerLookup = Callable[[str], "str | None"]

_CAPTURE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Attribution:
    """The custodian chosen for one file (None when unassigned) and the rule that chose it."""

    custodian: str | None
    rule: str  # explicit, map, owner, unassigned
    detail: str = ""  # the map line that matched, or the owner that was looked up

    @property
    def custodians(self) -> list[str]:
        return [self.custodian] if self.custodian else []


def _is_unc(text: str) -> bool:
    return text.startswith("\\\\") or text.startswith("//")


def normalised_path(path: str) -> str:
    """UNC paths with forward slashes (`//server/share/dir`); local paths as given."""
    if _is_unc(path):
        return "//" + path[2:].replace("\\", "/")
    return path


def _glob_regex(pattern: str) -> str:
    """Translate a path glob with `**`, `*`, `?` and `{name}` into a regular expression matching whole paths."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        if pattern.startswith("/**/", index):
            out.append("(?:/.*)?/")
            index += 4
        elif pattern.startswith("/**", index) and index + 3 == len(pattern):
            out.append("/.+")  # everything inside the folder, not the folder's own name
            index += 3
        elif pattern.startswith("**/", index) and index == 0:
            out.append("(?:.*/)?")
            index += 3
        elif pattern.startswith("**", index):
            out.append(".*")
            index += 2
        elif pattern[index] == "*":
            out.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            out.append("[^/]")
            index += 1
        elif (capture := _CAPTURE.match(pattern, index)) is not None:
            out.append(f"(?P<{capture.group(1)}>[^/]+)")
            index = capture.end()
        else:
            out.append(re.escape(pattern[index]))
            index += 1
    return "".join(out)


@dataclass(frozen=True)
class MapRule:
    pattern: str  # as written in the map file
    custodian: str  # may contain {name} placeholders
    regex: re.Pattern[str]
    line: int

    @classmethod
    def parse(cls, text: str, line: int) -> "MapRule":
        pattern, arrow, custodian = text.rpartition("->")
        pattern, custodian = pattern.strip(), custodian.strip()
        if not arrow or not pattern or not custodian:
            raise ValueError(f"custodian map line {line}: expected 'PATTERN -> CUSTODIAN', got {text.strip()!r}")
        captures = _CAPTURE.findall(pattern)
        if len(set(captures)) != len(captures):
            raise ValueError(f"custodian map line {line}: a capture name is used twice in {pattern!r}")
        unknown = set(_CAPTURE.findall(custodian)) - set(captures)
        if unknown:
            raise ValueError(f"custodian map line {line}: {{{sorted(unknown)[0]}}} is not captured by the pattern")
        flags = re.IGNORECASE if _is_unc(pattern) else 0
        regex = re.compile(_glob_regex(normalised_path(pattern)), flags)
        return cls(pattern=pattern, custodian=custodian, regex=regex, line=line)

    def custodian_for(self, path: str) -> str | None:
        match = self.regex.fullmatch(normalised_path(path))
        if match is None:
            return None
        name = _CAPTURE.sub(lambda m: match.group(m.group(1)), self.custodian).strip()
        return name or None


def map_rules_from_text(text: str) -> list[MapRule]:
    rules = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            rules.append(MapRule.parse(stripped, number))
    return rules


@dataclass
class CustodianRules:
    """The attribution rules for one collection, applied to each file in order."""

    explicit: str | None = None
    map_rules: list[MapRule] = field(default_factory=list)
    owner_lookup: OwnerLookup | None = None

    @classmethod
    def from_options(cls, custodian: str | None, map_file: Path | str | None, owner_lookup: OwnerLookup | None) -> "CustodianRules":
        """Rules from command options. A map file that cannot be read or parsed raises ValueError (bad input)."""
        rules: list[MapRule] = []
        if map_file is not None:
            try:
                text = Path(map_file).read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as error:
                raise ValueError(f"cannot read custodian map {map_file}: {error}") from None
            rules = map_rules_from_text(text)
        explicit = custodian.strip() if custodian and custodian.strip() else None
        return cls(explicit=explicit, map_rules=rules, owner_lookup=owner_lookup)

    @property
    def wants_owner(self) -> bool:
        """Whether a file's owner could decide its custodian (so it is worth asking the server)."""
        return self.explicit is None and self.owner_lookup is not None

    def attribute(self, path: str, owner: str | None = None) -> Attribution:
        """The custodian of the file at `path` (a UNC or local path) whose owner is `owner` (a SID or account)."""
        if self.explicit:
            return Attribution(self.explicit, RULE_EXPLICIT)
        for rule in self.map_rules:
            name = rule.custodian_for(path)
            if name:
                return Attribution(name, RULE_MAP, f"line {rule.line}: {rule.pattern} -> {rule.custodian}")
        if owner and self.owner_lookup is not None:
            name = self.owner_lookup(owner)
            if name:
                return Attribution(name, RULE_OWNER, owner)
        return Attribution(None, UNASSIGNED, owner or "")
