"""Token usage and what it costs.

:class:`~.tokens.Usage` (one call's token counts), :class:`~.rates.ModelPrice` (one model's
rates), :class:`~.prices.PriceTable` (the built-in table, ``prices.json``, and model-name
lookup), :mod:`.price_files` (users' TOML / JSON / LiteLLM price files).
"""
