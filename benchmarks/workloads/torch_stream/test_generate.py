"""Streamed generation of 24 tokens from prompts of three lengths, timed with perf.stream."""

import pytest


@pytest.mark.parametrize(("length", "seed"), [(48, 1), (64, 2), (96, 3)])
def test_generate(perf, generator, generations, length, seed):
    ids = generator.prompt(length, seed)

    def answer():
        pieces = []
        for _ in range(generations):
            pieces = list(perf.stream(generator.stream, ids))
        return "".join(pieces)

    text = perf(answer)

    assert len(text.split()) >= 20  # the streamer holds back the last word until the end
