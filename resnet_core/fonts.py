"""The fonts images are drawn with (issue 39): text the core draws into a PNG (``explain
--out``'s caption, ``lr-find``'s axes) must show Chinese as Chinese, not as boxes.

Debian's ``fonts-noto-cjk`` (Noto Sans CJK) covers Latin and Chinese alike, so where it is
installed every image text uses it. Where it is not, Latin text draws with the default font
and Chinese text gets one clear warning naming the package to install.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import warnings
from pathlib import Path

# Where Debian and Ubuntu put it (fonts-noto-cjk), then what fontconfig finds under the name.
CJK_FILES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
             "/usr/share/fonts/opentype/noto-cjk/NotoSansCJK-Regular.ttc",
             "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc")
CJK_FAMILY = "Noto Sans CJK SC"
MISSING = ("no CJK font found, so Chinese text in images would show as boxes; install Debian's "
           "fonts-noto-cjk (apt-get install fonts-noto-cjk)")
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")


def needs_cjk(text: str) -> bool:
    """Whether ``text`` has Chinese (or full-width) characters a Latin font cannot draw."""
    return bool(_CJK.search(text))


@functools.lru_cache(maxsize=1)
def cjk_font_file() -> Path | None:
    """The Noto Sans CJK file on this machine, or None."""
    for name in CJK_FILES:
        if Path(name).is_file():
            return Path(name)
    if shutil.which("fc-match"):
        try:
            found = subprocess.run(["fc-match", "-f", "%{file}", f"{CJK_FAMILY}:lang=zh-cn"],
                                   capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
        if found and "CJK" in found and Path(found).is_file():
            return Path(found)
    return None


def warn_if_missing(*texts: str) -> bool:
    """True when the texts can be drawn; else one warning (MISSING) and False."""
    if any(needs_cjk(t) for t in texts) and cjk_font_file() is None:
        warnings.warn(MISSING, stacklevel=3)
        return False
    return True


def pil_font(size: int, *texts: str):
    """A PIL font of ``size`` px for ``texts``: Noto Sans CJK where installed, else PIL's default
    (with the warning when a text needs CJK)."""
    from PIL import ImageFont

    warn_if_missing(*texts)
    path = cjk_font_file()
    return ImageFont.truetype(str(path), size) if path else ImageFont.load_default(size)


def matplotlib_fonts(*texts: str) -> dict:
    """rcParams for a matplotlib figure with ``texts``: Noto Sans CJK first where installed."""
    warn_if_missing(*texts)
    path = cjk_font_file()
    if path is None:
        return {}
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(path))
    return {"font.family": "sans-serif", "font.sans-serif": [CJK_FAMILY, "DejaVu Sans"]}
