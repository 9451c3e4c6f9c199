"""Write README.md's example /search response from the code as it is.

    .venv/bin/python docs/readme_example.py

Ingests the sample documents of corpus/ into a temporary data directory with the configured
model (rebuilt into, or read from, the usual model cache: KOSHQON_MODELS_DIR, else
DATA_DIR/models), asks GET /search the README's query through the HTTP app, and replaces the
JSON between the README's ``<!-- search-example -->`` markers with the response: passage
texts cut at a space within TEXT_CHARS characters and marked " …", everything else as
returned.
tests/test_readme.py fails when the README no longer matches (``took_ms`` ignored, numbers
compared to 4 decimals).
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CORPUS = ROOT / "corpus"
COMMAND = ".venv/bin/python docs/readme_example.py"
PARAMS = {"q": "who are kandas", "lang": "kk,ru", "k": 1}
TEXT_CHARS = 120
BLOCK = re.compile(
    r"(<!-- search-example -->\n```json\n)(.*?)(\n```\n<!-- /search-example -->)", re.DOTALL
)


def shortened(text: str) -> str:
    """The text up to its last space within TEXT_CHARS characters, then " …"."""
    return text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS].rsplit(" ", 1)[0] + " …"


def example(client) -> dict:
    """The README's query through GET /search, passage texts shortened."""
    response = client.get("/search", params=PARAMS)
    response.raise_for_status()
    body = response.json()
    for hit in body["results"]:
        hit["text"] = shortened(hit["text"])
        for version in hit["parallel"]:
            version["text"] = shortened(version["text"])
    return body


def shown(readme: str) -> dict:
    """The example the README shows now."""
    found = BLOCK.search(readme)
    if found is None:
        raise ValueError("README.md has no <!-- search-example --> ```json … ``` block")
    return json.loads(found.group(2))


def with_example(readme: str, body: dict) -> str:
    text = json.dumps(body, ensure_ascii=False, indent=2)
    if BLOCK.search(readme) is None:
        raise ValueError("README.md has no <!-- search-example --> ```json … ``` block")
    return BLOCK.sub(lambda m: m.group(1) + text + m.group(3), readme, count=1)


def same(a, b, places: int = 4) -> bool:
    """Equal but for ``took_ms`` and float noise beyond ``places`` decimals."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = (a.keys() | b.keys()) - {"took_ms"}
        return all(k in a and k in b and same(a[k], b[k], places) for k in keys)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, places) for x, y in zip(a, b, strict=True))
    if isinstance(a, float | int) and isinstance(b, float | int):
        if isinstance(a, bool) or isinstance(b, bool):
            return a is b
        return math.isclose(a, b, rel_tol=0, abs_tol=10**-places)
    return a == b


def main() -> None:
    from fastapi.testclient import TestClient

    from service.api.app import create_app
    from service.config import Settings
    from service.core import Koshqon, files_to_ingest

    models = Settings().model_cache
    with tempfile.TemporaryDirectory(prefix="koshqon-readme-") as scratch:
        settings = Settings(data_dir=Path(scratch), models_dir=models)
        koshqon = Koshqon(settings)
        outcomes = list(koshqon.ingest(files_to_ingest([CORPUS])))
        koshqon.close()
        failed = [o for o in outcomes if o.status == "failed"]
        if failed:
            raise SystemExit(f"ingesting corpus/ failed: {failed}")
        with TestClient(create_app(settings), base_url="http://localhost") as client:
            body = example(client)
    README.write_text(with_example(README.read_text(encoding="utf-8"), body), encoding="utf-8")
    print(f"Wrote the /search example into {README.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
