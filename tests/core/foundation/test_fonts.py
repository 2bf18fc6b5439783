"""Chinese drawn into images is Chinese (issue 39): with Debian's fonts-noto-cjk (.ci/run
installs it) each character has its own glyph; without a CJK font a Chinese text gets one
clear warning, not silent boxes."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from resnet_core import fonts, i18n
from resnet_core.analysis.attribution import Attribution, render_panel

needs_font = pytest.mark.skipif(fonts.cjk_font_file() is None and not os.environ.get("REQUIRE_FONTS"),
                                reason="no CJK font here (apt-get install fonts-noto-cjk)")


@needs_font
def test_chinese_characters_draw_as_their_own_glyphs():
    font = fonts.pil_font(24, "残差")
    shapes = [np.asarray(font.getmask(c)) for c in "残差网络"]
    assert all(s.sum() > 0 for s in shapes)
    assert len({s.tobytes() for s in shapes}) == 4  # boxes would all be one shape


@needs_font
def test_the_explain_panel_draws_a_chinese_caption_in_ink(tmp_path):
    image = torch.zeros(1, 8, 8, dtype=torch.uint8)
    attribution = Attribution("integrated_gradients", 7, torch.rand(1, 8, 8), torch.rand(8, 8) - 0.5)
    with i18n.speaking("zh-CN"):
        panel = render_panel(image, attribution, "显著图：测试集 #0，真实 7，预测 7")
    caption = np.asarray(panel.convert("L"))[:28, :400]
    assert (caption < 128).sum() > 300  # the caption's strokes, not an empty strip


def test_a_missing_cjk_font_is_one_clear_warning(monkeypatch):
    monkeypatch.setattr(fonts, "cjk_font_file", lambda: None)
    with pytest.warns(UserWarning, match="install Debian's fonts-noto-cjk"):
        assert fonts.warn_if_missing("残差网络") is False
    assert fonts.warn_if_missing("residual network") is True  # Latin needs no CJK font
