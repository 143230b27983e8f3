"""Recognise streamed chunks by shape: which carry output, and what usage and model they report.

:func:`analyze_chunks` (in :mod:`.classify`) tells each chunk's family and hands it to the
family's rules: :mod:`.openai` (Chat Completions, Responses), :mod:`.anthropic` (Messages),
:mod:`.gemini`; :mod:`.facts` holds the result type and the readers they share.
"""

from .classify import analyze_chunks
from .facts import StreamFacts, TokenSource

__all__ = ["StreamFacts", "TokenSource", "analyze_chunks"]
