"""The provisioned model reproduces multilingual-e5-small's published Chinese STS figures."""

import pytest

from app.settings import Settings
from eval.data_sources import PUBLISHED_STS, SHARED_DATA
from eval.sts import sts_spearman
from retrieval.encoder import EncoderLoadError, load_encoder
from retrieval.model import is_installed

pytestmark = pytest.mark.skipif(not (SHARED_DATA / "lcqmc_test.tsv").is_file(), reason="../shared/data not present")
PAIRS = 3000
PUBLISHED = PUBLISHED_STS["multilingual-e5-small"]


def test_model_is_provisioned_offline():
    settings = Settings()
    assert is_installed(settings.model_dir)
    assert (settings.model_dir / "huashu_model.json").is_file()


@pytest.fixture(scope="module")
def fp32_onnx():
    settings = Settings()
    return load_encoder(settings.model_dir, "onnx", settings.query_prefix, settings.max_seq_length)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["LCQMC", "AFQMC"])
def test_converted_model_reproduces_published_spearman(fp32_onnx, name):
    ours = sts_spearman(fp32_onnx, name, PAIRS)
    assert abs(ours - PUBLISHED[name]) <= 1.0, f"{name}: ours {ours:.2f} vs published {PUBLISHED[name]}"


@pytest.mark.slow
def test_int8_stays_within_one_point_of_fp32_on_lcqmc(encoder):
    settings = Settings()
    reference = load_encoder(settings.model_dir, "torch", settings.query_prefix, settings.max_seq_length)
    fp32 = sts_spearman(reference, "LCQMC", 1500)
    int8 = sts_spearman(encoder, "LCQMC", 1500)
    assert abs(fp32 - int8) <= 1.0, f"fp32 {fp32:.2f} vs int8 {int8:.2f}"


def test_missing_model_dir_gives_an_actionable_error(tmp_path):
    with pytest.raises(EncoderLoadError, match=r"retrieval\.model install"):
        load_encoder(tmp_path / "nowhere", "onnx-int8")
