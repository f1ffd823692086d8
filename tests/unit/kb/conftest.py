"""A tiny knowledge base on disk, for the command line and folder-loading tests."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY_ARTICLES = {
    "raid-passes": """---
title: Raid passes
url: https://help.example.com/raid-passes
tags: [raids, raid pass]
---

# Raid passes

A raid pass lets you join a raid battle at an arena. You get one free raid pass a day by
spinning an arena's photo disc. If a raid fails, the pass is refunded within a day.
""",
    "refunds": """---
title: Purchases and refunds
url: https://help.example.com/refunds
tags: [purchases, refunds]
---

Purchases are made through the App Store or Google Play, so the store decides refunds. Ask the
store for a refund from your purchase history.
""",
    "language": """---
title: Changing the language
url: https://help.example.com/language
tags: [language, settings]
---

Open Settings, tap Language and pick one from the list. Restart the game when asked.
""",
}


@pytest.fixture
def tiny_kb(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    for stem, text in TINY_ARTICLES.items():
        (folder / f"{stem}.md").write_text(text, encoding="utf-8")
    return folder
