"""When a screenshot or saved photo was taken: EXIF, then the name phones and desktops give it, then its modified time.

Copying a screenshot onto a network drive gives it a new modified time; the moment it shows is in its
EXIF data or its file name. Which of the three was used is recorded (`DatedMoment.source`).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image, UnidentifiedImageError

EXIF_IFD = 0x8769
DATETIME_ORIGINAL = 0x9003
OFFSET_TIME_ORIGINAL = 0x9011
DATETIME = 0x0132  # when the file was last written by the camera or app; used only if DateTimeOriginal is absent
EARLIEST_PLAUSIBLE = datetime(1990, 1, 1)
MAX_EXIF_READ = 64 * 1024 * 1024


@dataclass(frozen=True)
class DatedMoment:
    moment: datetime  # timezone-aware
    source: str  # exif, filename, mtime
    detail: str  # the EXIF tag or file-name pattern used


def _plausible(moment: datetime) -> bool:
    naive = moment.replace(tzinfo=None)
    return EARLIEST_PLAUSIBLE <= naive <= datetime.now() + timedelta(days=2)


# -- EXIF -----------------------------------------------------------------------------------------
def _offset(text: str) -> dt_timezone | None:
    match = re.fullmatch(r"\s*([+-])(\d{2}):?(\d{2})\s*", text or "")
    if not match:
        return None
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    return dt_timezone(timedelta(minutes=minutes if match.group(1) == "+" else -minutes))


def _exif_moment(image: Path | bytes, zone: ZoneInfo) -> DatedMoment | None:
    try:
        handle = Image.open(io.BytesIO(image) if isinstance(image, bytes) else image)
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    with handle:
        try:
            exif = handle.getexif()
            sub = exif.get_ifd(EXIF_IFD)
        except Exception:  # noqa: BLE001  (corrupt EXIF is common; the file name or mtime still dates it)
            return None
        for tag, name, table in ((DATETIME_ORIGINAL, "DateTimeOriginal", sub), (DATETIME, "DateTime", exif)):
            raw = table.get(tag)
            if not isinstance(raw, str):
                continue
            try:
                naive = datetime.strptime(raw.strip().rstrip("\x00")[:19], "%Y:%m:%d %H:%M:%S")
            except ValueError:
                continue
            if not _plausible(naive):
                continue
            offset = _offset(str(sub.get(OFFSET_TIME_ORIGINAL, ""))) if tag == DATETIME_ORIGINAL else None
            if offset is not None:
                return DatedMoment(naive.replace(tzinfo=offset), "exif", f"{name} + OffsetTimeOriginal")
            return DatedMoment(naive.replace(tzinfo=zone), "exif", f"{name} (local time, {zone.key})")
    return None


# -- file names -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class NamePattern:
    name: str
    regex: re.Pattern[str]


def _pattern(name: str, regex: str) -> NamePattern:
    return NamePattern(name, re.compile(regex, re.IGNORECASE))


_D = r"(?P<Y>(?:19|20)\d{2})[-_.]?(?P<m>\d{2})[-_.]?(?P<d>\d{2})"
_T_COMPACT = r"(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})"
_T_SEPARATED = r"(?P<H>\d{1,2})[.:_-](?P<M>\d{2})[.:_-](?P<S>\d{2})"
_AMPM = r"(?:\s*(?P<ampm>[AP]\.?M\.?))?"

# Most specific first; every one anchors on a date so a name like "IMG_1234.jpg" is never misread.
NAME_PATTERNS: list[NamePattern] = [
    # Screenshot 2021-03-03 at 14.05.12.png / Screen Shot 2021-03-03 at 2.05.12 PM.png (macOS)
    # WhatsApp Image 2021-03-03 at 14.05.12.jpeg / ... at 2.05.12 PM.jpeg
    _pattern("date at time", _D + r"\s+at\s+" + _T_SEPARATED + _AMPM),
    # Screenshot_2021-03-03-14-05-12-123_com.whatsapp.jpg, photo_2021-03-03_14-05-12.jpg (Telegram),
    # Screenshot from 2021-03-03 14-05-12.png (GNOME), Screenshot (2021-03-03 14:05:12)
    _pattern("date time separated", r"(?P<Y>(?:19|20)\d{2})-(?P<m>\d{2})-(?P<d>\d{2})[ _T-]" + _T_SEPARATED),
    # Screenshot_20210303-140512.png, IMG_20210303_140512.jpg, PXL_20210303_140512123.jpg, VID_…, 20210303_140512.jpg
    # signal-2021-03-03-140512.jpg, Screenshot 2021-03-03 140512.png (Windows Snipping Tool)
    _pattern("date time compact", _D + r"[ _T-]?" + _T_COMPACT),
    # IMG-20210303-WA0001.jpg (WhatsApp on Android: the day only)
    _pattern("WhatsApp day", _D + r"-WA\d+"),
    # any other name with an ISO date (2021-03-03.png); day-first or month-first dates are ambiguous, so not trusted
    _pattern("date only", r"(?<!\d)(?P<Y>(?:19|20)\d{2})-(?P<m>\d{2})-(?P<d>\d{2})(?!\d)"),
]


def _from_groups(groups: dict[str, str | None]) -> datetime | None:
    try:
        hour = int(groups.get("H") or 0)
        ampm = (groups.get("ampm") or "").replace(".", "").upper()
        if ampm == "PM" and hour < 12:
            hour += 12
        elif ampm == "AM" and hour == 12:
            hour = 0
        return datetime(
            int(groups["Y"] or 0), int(groups["m"] or 0), int(groups["d"] or 0),
            hour, int(groups.get("M") or 0), int(groups.get("S") or 0),
        )
    except (ValueError, TypeError, KeyError):
        return None


def filename_moment(filename: str, zone: ZoneInfo) -> DatedMoment | None:
    """The local time a phone or desktop wrote into the file name, in `zone`; None when the name has none."""
    stem = Path(filename).name
    for pattern in NAME_PATTERNS:
        for match in pattern.regex.finditer(stem):
            naive = _from_groups(match.groupdict())
            if naive is not None and _plausible(naive):
                return DatedMoment(naive.replace(tzinfo=zone), "filename", pattern.name)
    return None


# -- the rule -------------------------------------------------------------------------------------
def screenshot_date(
    filename: str,
    image: Path | bytes | None,
    modified: datetime | None,
    timezone: str = "Europe/London",
) -> DatedMoment | None:
    """The moment a screenshot or saved photo shows: EXIF DateTimeOriginal (with its offset, else local time in
    `timezone`), then a date in its file name, then its modified time. None only when there is none of the three."""
    zone = ZoneInfo(timezone)
    if image is not None and (isinstance(image, bytes) or _small_enough(image)):
        found = _exif_moment(image, zone)
        if found is not None:
            return found
    found = filename_moment(filename, zone)
    if found is not None:
        return found
    if modified is not None:
        aware = modified if modified.tzinfo else modified.replace(tzinfo=dt_timezone.utc)
        return DatedMoment(aware, "mtime", "file modified time")
    return None


def _small_enough(path: Path) -> bool:
    try:
        return path.stat().st_size <= MAX_EXIF_READ
    except OSError:
        return False

