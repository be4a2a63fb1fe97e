"""A screenshot is dated by the moment it shows: EXIF first, then its file name, then its modified time."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from indexer.dates import screenshot_date

LONDON = "Europe/London"
COPIED_AT = datetime(2024, 6, 1, 9, 0, tzinfo=timezone.utc)  # when it was saved to the network drive


def _png(**exif_tags: str) -> bytes:
    image = Image.new("RGB", (8, 8), "white")
    exif = Image.Exif()
    sub = exif.get_ifd(0x8769)
    if "original" in exif_tags:
        sub[0x9003] = exif_tags["original"]
    if "offset" in exif_tags:
        sub[0x9011] = exif_tags["offset"]
    if "datetime" in exif_tags:
        exif[0x0132] = exif_tags["datetime"]
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_exif_original_with_its_offset_wins_over_name_and_mtime(tmp_path: Path) -> None:
    path = tmp_path / "Screenshot_20190101-000000.jpg"
    path.write_bytes(_png(original="2021:03:03 14:05:12", offset="+05:30"))
    dated = screenshot_date(path.name, path, COPIED_AT, LONDON)
    assert dated.source == "exif"
    assert dated.moment == datetime(2021, 3, 3, 14, 5, 12, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert "OffsetTimeOriginal" in dated.detail


def test_exif_without_offset_is_local_time_in_the_case_timezone() -> None:
    dated = screenshot_date("upload.jpg", _png(original="2021:07:01 14:05:12"), COPIED_AT, LONDON)
    assert dated.source == "exif"
    assert dated.moment.utcoffset() == timedelta(hours=1)  # British Summer Time in July
    assert dated.moment.astimezone(timezone.utc) == datetime(2021, 7, 1, 13, 5, 12, tzinfo=timezone.utc)


def test_exif_datetime_is_used_when_there_is_no_original() -> None:
    dated = screenshot_date("upload.jpg", _png(datetime="2020:12:25 08:00:00"), COPIED_AT, LONDON)
    assert dated.source == "exif" and dated.moment.replace(tzinfo=None) == datetime(2020, 12, 25, 8, 0, 0)


def test_implausible_exif_falls_through_to_the_name() -> None:
    dated = screenshot_date("IMG_20210303_140512.jpg", _png(original="0000:00:00 00:00:00"), COPIED_AT, LONDON)
    assert dated.source == "filename"


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("Screenshot_20210303-140512.png", datetime(2021, 3, 3, 14, 5, 12)),
        ("Screenshot_2021-03-03-14-05-12-123_com.whatsapp.jpg", datetime(2021, 3, 3, 14, 5, 12)),
        ("Screenshot 2021-03-03 at 14.05.12.png", datetime(2021, 3, 3, 14, 5, 12)),
        ("Screen Shot 2021-03-03 at 2.05.12 PM.png", datetime(2021, 3, 3, 14, 5, 12)),
        ("Screen Shot 2021-03-03 at 12.05.12\u202fAM.png", datetime(2021, 3, 3, 0, 5, 12)),
        ("Screenshot 2021-03-03 140512.png", datetime(2021, 3, 3, 14, 5, 12)),
        ("WhatsApp Image 2021-03-03 at 14.05.12.jpeg", datetime(2021, 3, 3, 14, 5, 12)),
        ("WhatsApp Image 2021-03-03 at 2.05.12 PM.jpeg", datetime(2021, 3, 3, 14, 5, 12)),
        ("IMG_20210303_140512.jpg", datetime(2021, 3, 3, 14, 5, 12)),
        ("IMG-20210303-WA0001.jpg", datetime(2021, 3, 3, 0, 0, 0)),
        ("PXL_20210303_140512123.jpg", datetime(2021, 3, 3, 14, 5, 12)),
        ("signal-2021-03-03-140512.jpg", datetime(2021, 3, 3, 14, 5, 12)),
        ("photo_2021-03-03_14-05-12.jpg", datetime(2021, 3, 3, 14, 5, 12)),
        ("Screenshot from 2021-03-03 14-05-12.png", datetime(2021, 3, 3, 14, 5, 12)),
        ("20210303_140512.jpg", datetime(2021, 3, 3, 14, 5, 12)),
    ],
)
def test_file_name_patterns_give_the_local_moment(filename: str, expected: datetime) -> None:
    dated = screenshot_date(filename, None, COPIED_AT, LONDON)
    assert dated is not None and dated.source == "filename", filename
    assert dated.moment.replace(tzinfo=None) == expected
    assert dated.moment.utcoffset() == timedelta(0)  # 3 March is GMT in London


def test_name_date_is_read_in_the_case_timezone() -> None:
    dated = screenshot_date("Screenshot_20210703-140512.png", None, COPIED_AT, LONDON)
    assert dated.moment.astimezone(timezone.utc).hour == 13


def test_modified_time_is_the_last_resort_and_is_recorded_as_such(tmp_path: Path) -> None:
    path = tmp_path / "IMG_1234.png"
    Image.new("RGB", (4, 4)).save(path)  # no EXIF, and a number that is not a date
    dated = screenshot_date(path.name, path, COPIED_AT, LONDON)
    assert dated.source == "mtime" and dated.moment == COPIED_AT


def test_naive_modified_time_is_taken_as_utc_and_nothing_gives_none() -> None:
    assert screenshot_date("image.png", b"not an image", datetime(2022, 1, 1, 12), LONDON).moment == datetime(2022, 1, 1, 12, tzinfo=timezone.utc)
    assert screenshot_date("image.png", None, None, LONDON) is None
    assert screenshot_date("Screenshot_20990101-000000.png", None, None, LONDON) is None  # a future date is not believed
