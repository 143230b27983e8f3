"""Recognise streamed chunks by shape: which carry output, and what usage and model they report.

:func:`analyze_chunks` (a finished stream) and :class:`ChunkClassifier` (a stream as it arrives),
in :mod:`.classify`, tell each chunk's family and hand it to the family's rules: :mod:`.openai`
(Chat Completions, Responses), :mod:`.anthropic` (Messages), :mod:`.gemini`; :mod:`.facts` holds
the result types and the readers they share.
"""

from .classify import ChunkClassifier, analyze_chunks
from .facts import StreamFacts, StreamTotals, TokenSource

__all__ = ["ChunkClassifier", "StreamFacts", "StreamTotals", "TokenSource", "analyze_chunks"]
