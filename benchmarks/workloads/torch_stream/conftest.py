"""Real CPU inference for benchmarks/gate_calibration.py: a tiny randomly initialised GPT-2.

Nothing is downloaded: the model is built from a config object with a fixed seed, and the
tokenizer is a word-level vocabulary ``w0 .. w511`` made in memory. Generation runs in a
thread and streams its text through transformers' ``TextIteratorStreamer``, as a local model
server would. ``PERFBASELINE_CALIB_VARIANT`` picks what the calibration compares:

- ``base``: greedy generation with the KV cache (the baseline, and the A/A sessions);
- ``nocache``: the same generation with ``use_cache=False``, so every step recomputes the
  whole prefix (about 2-3x slower per round at these prompt lengths; the benchmark prints the
  ratio it measured);
- ``x10``: ten generations per round instead of one: ten times the work, an honest 10x.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    PreTrainedTokenizerFast,
    TextIteratorStreamer,
)

VARIANT = os.environ.get("PERFBASELINE_CALIB_VARIANT", "base")
VOCAB = 512
NEW_TOKENS = 24


class Generator:
    """Generates ``NEW_TOKENS`` tokens for a prompt, streamed as text pieces."""

    def __init__(self) -> None:
        torch.set_num_threads(1)  # one core: the other is the machine's (and the streamer's)
        torch.manual_seed(0)
        vocab = {f"w{i}": i for i in range(VOCAB)}
        raw = Tokenizer(models.WordLevel(vocab=vocab, unk_token="w0"))
        raw.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        raw.decoder = decoders.WordPiece()  # joins words with spaces
        self.tokenizer = PreTrainedTokenizerFast(
            tokenizer_object=raw, unk_token="w0", pad_token="w1", eos_token="w2"
        )
        config = GPT2Config(
            vocab_size=VOCAB,
            n_positions=256,
            n_embd=128,
            n_layer=2,
            n_head=4,
            bos_token_id=2,
            eos_token_id=2,
        )
        self.model = GPT2LMHeadModel(config).eval()

    def prompt(self, length: int, seed: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return torch.randint(3, VOCAB, (1, length), generator=generator)

    def stream(self, ids: torch.Tensor) -> Iterator[str]:
        """Start generating in a thread; yield the text as the streamer hands it over."""
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True)  # type: ignore[arg-type]
        kwargs: dict[str, Any] = {
            "input_ids": ids,
            "attention_mask": torch.ones_like(ids),
            "max_new_tokens": NEW_TOKENS,
            "min_new_tokens": NEW_TOKENS,  # a random model may emit its end token early
            "do_sample": False,
            "use_cache": VARIANT != "nocache",
            "pad_token_id": 1,
            "streamer": streamer,
        }
        thread = threading.Thread(target=self.model.generate, kwargs=kwargs)
        thread.start()
        try:
            yield from streamer
        finally:
            thread.join()


@pytest.fixture(scope="session")
def generator() -> Generator:
    """The model and tokenizer, built once per session."""
    return Generator()


@pytest.fixture
def generations() -> int:
    """Generations per round: 10 for the ``x10`` variant, else 1."""
    return 10 if VARIANT == "x10" else 1
