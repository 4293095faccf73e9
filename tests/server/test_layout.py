"""The geometry of vertical and square clips: pure arithmetic, no video needed."""

from __future__ import annotations

import pytest

from server.layout import Rect, plan_layout

# The seed gameplay clip: 284x160 with the streamer's cam near its top right corner.
SOURCE = (284, 160)
CAM = Rect(223, 52, 57, 40)


def test_vertical_puts_the_face_cam_on_top_and_the_gameplay_below_filling_1080x1920():
    plan = plan_layout(*SOURCE, "vertical", CAM)
    top, bottom = plan.panels
    assert (plan.width, plan.height, plan.blurred_fill) == (1080, 1920, False)
    assert top.target == Rect(0, 0, 1080, top.target.h)
    assert bottom.target == Rect(0, top.target.h, 1080, 1920 - top.target.h)
    assert 0.25 * 1920 <= top.target.h <= 0.45 * 1920


def test_every_crop_has_the_shape_of_the_place_it_is_scaled_into():
    for layout in ("vertical", "square"):
        for panel in plan_layout(*SOURCE, layout, CAM).panels:
            crop, target = panel.crop, panel.target
            # within one source pixel of the target's aspect: nothing is stretched
            assert abs(crop.w - crop.h * target.w / target.h) <= 1.0, (layout, panel)


def test_the_top_band_shows_only_the_face_cam():
    top = plan_layout(*SOURCE, "vertical", CAM).panels[0].crop
    assert CAM.x <= top.x and top.right <= CAM.right
    assert CAM.y <= top.y and top.bottom <= CAM.bottom


def test_the_gameplay_crop_follows_the_action_and_stays_inside_the_frame():
    centre = plan_layout(*SOURCE, "vertical", CAM, focus_x=0.5).panels[1].crop
    left = plan_layout(*SOURCE, "vertical", CAM, focus_x=0.2).panels[1].crop
    far_right = plan_layout(*SOURCE, "vertical", CAM, focus_x=1.0).panels[1].crop
    assert abs(centre.x + centre.w / 2 - 142) <= 1
    assert left.x < centre.x
    assert far_right.right == 284 and far_right.h == 160


def test_without_a_face_cam_the_whole_frame_sits_centred_over_a_blurred_fill():
    plan = plan_layout(*SOURCE, "vertical", None)
    (panel,) = plan.panels
    assert plan.blurred_fill
    assert panel.crop == Rect(0, 0, 284, 160)
    assert panel.target.w == 1080 and panel.target.h == 608  # 1080 * 160 / 284, even
    assert panel.target.y == (1920 - 608) // 2


def test_square_is_1080_by_1080_with_the_gameplay_nearly_uncropped():
    plan = plan_layout(*SOURCE, "square", CAM)
    top, bottom = plan.panels
    assert (plan.width, plan.height) == (1080, 1080)
    assert top.target.h + bottom.target.h == 1080
    assert bottom.crop.w >= 0.95 * 284


def test_every_output_dimension_is_even_for_yuv420p():
    for layout in ("vertical", "square"):
        for cam in (CAM, Rect(0, 0, 31, 17), None):
            for panel in plan_layout(301, 171, layout, cam).panels:
                assert panel.target.w % 2 == 0 and panel.target.h % 2 == 0 and panel.target.y % 2 == 0


def test_an_unknown_layout_or_an_empty_source_is_refused():
    with pytest.raises(ValueError, match="unknown layout 'wide'"):
        plan_layout(*SOURCE, "wide", CAM)
    with pytest.raises(ValueError, match="no picture"):
        plan_layout(0, 160, "vertical", None)


def test_a_face_cam_reaching_past_the_frame_is_clamped_to_it():
    top = plan_layout(*SOURCE, "vertical", Rect(250, 140, 80, 60)).panels[0].crop
    assert top.right <= 284 and top.bottom <= 160 and top.w >= 2 and top.h >= 2
