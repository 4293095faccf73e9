"""ffmpeg's segment listing is read as it grows: each row once, a half-written row on the next
poll, and a poll costs the same on hour twelve as on minute one (it reads only what is new)."""

from __future__ import annotations

from server.ingest import _Listing, _NewRows


def test_each_row_is_read_once_and_a_half_written_row_waits(tmp_path):
    listing = tmp_path / "list.csv"
    rows = _NewRows(listing)
    assert rows() == [], "no listing yet"
    listing.write_text("seg_000000.ts,0.000000,10.000000\nseg_000001.ts,10.0000")
    assert rows() == [["seg_000000.ts", "0.000000", "10.000000"]]
    with listing.open("a") as f:
        f.write("00,20.000000\n")
    assert rows() == [["seg_000001.ts", "10.000000", "20.000000"]]
    assert rows() == []


def test_a_poll_reads_only_the_new_bytes_of_a_long_listing(tmp_path):
    listing = tmp_path / "list.csv"
    listing.write_text("".join(f"seg_{n:06d}.ts,{10 * n}.0,{10 * n + 10}.0\n" for n in range(4320)))  # 12 h
    rows = _NewRows(listing)
    assert len(rows()) == 4320
    listing.write_text("")  # had it read from the start, it would now find nothing, not fail
    with listing.open("a") as f:
        f.write("x" * 200_000)  # as long as what was read, then a new row
        f.write("\nseg_004320.ts,43200.0,43210.0\n")
    assert rows()[-1] == ["seg_004320.ts", "43200.0", "43210.0"]


def test_segments_carry_the_source_timestamp_that_ffmpeg_reported(tmp_path):
    listing = tmp_path / "list.csv"
    listing.write_text("seg_000007.ts,0.000000,10.023222\nseg_000008.ts,10.023222,20.023222\n")
    segments = _Listing(listing, offset_s=70.0, start_pts=lambda: 1001.376778).new_segments(tmp_path)
    assert [(s.seq, round(s.offset_s, 3), round(s.pts, 6)) for s in segments] == [
        (7, 70.0, 1001.376778),
        (8, 80.023, 1011.4),
    ]
