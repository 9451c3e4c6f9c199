"""What the documentation promises is there: docs/deployment.md lists every setting."""

from __future__ import annotations

from pathlib import Path

from service.config import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_setting_is_in_the_deployment_guide():
    guide = (DOCS / "deployment.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`KOSHQON_{name.upper()}`" not in guide]
    assert not missing, f"docs/deployment.md lacks {missing}"
