"""The real ``openai`` and ``anthropic`` SDKs, over real HTTP, through ``perf.stream``.

A loopback server (``llm_server.py``) streams each API's wire format with known delays and a
known usage block, and the SDKs parse it into their own event objects. What perf records is
then checked against what the server is known to have sent: token counts (from the usage
block, normalised by ``Usage``), the cost from the built-in price table, one API call per
stream, a TTFT no shorter than the server's first-token delay, and one inter-token gap per
content event after the first (which catches double counting by the SDK stream helpers).

Wall-clock times are only ever bounded from below: the server cannot send a token before its
delay has passed, but a busy machine can deliver it arbitrarily late.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest
from llm_server import CHAT, MESSAGES, RESPONSES, LLMServer, Scenario, serve

from pytest_perfbaseline import Perf
from pytest_perfbaseline.measure.perf import Measurement, UnpricedModelWarning
from pytest_perfbaseline.usage.prices import ModelPrice, PriceTable

# Small delays: every stream takes ~0.1 s; rounds are few. The server waits HEADERS_DELAY_S
# before its response headers (so the SDK call itself blocks that long: perf.stream must start
# the clock before making the call), then FIRST_TOKEN_DELAY_S before the first token.
HEADERS_DELAY_S = 0.02
FIRST_TOKEN_DELAY_S = 0.03
INTER_TOKEN_DELAY_S = 0.01
TOKENS = ("The", " answer", " is", " four", ".")
ROUNDS = 2
MESSAGES_IN = [{"role": "user", "content": "What is 2 + 2?"}]


# -- what the server reports, and what perf should make of it -----------------------------------


@dataclass(frozen=True)
class Billing:
    """A model, the usage the server reports for it, and the expected normalised usage/cost."""

    model: str
    rates: ModelPrice
    """The built-in table's rates the cost below was computed with (checked by the test)."""
    wire: Mapping[str, int]
    """Scenario fields: the usage as the provider itself reports it."""
    input_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    output_tokens: int
    cost_usd: float


# OpenAI Chat Completions, gpt-4o-mini: 0.15 input, 0.60 output, 0.075 cached input, cache
# writes at the input rate (USD per 1M tokens). prompt_tokens includes the cached tokens.
#   uncached = 1200 - 1024 = 176
#   cost = (176 * 0.15 + 1024 * 0.075 + 20 * 0.60) / 1e6 = (26.4 + 76.8 + 12.0) / 1e6
#        = 115.2e-6 USD
CHAT_BILLING = Billing(
    model="gpt-4o-mini",
    rates=ModelPrice(input=0.15, output=0.60, cached_input=0.075, cache_write=0.15),
    wire={"input_tokens": 1200, "cached_tokens": 1024, "output_tokens": 20},
    input_tokens=1200,
    cached_input_tokens=1024,
    cache_write_tokens=0,
    reasoning_tokens=0,
    output_tokens=20,
    cost_usd=115.2e-6,
)

# OpenAI Responses, gpt-6.1-terra: 1.00 input, 5.00 output, 0.05 cached input, 1.25 cache
# write. input_tokens includes cached and cache-written tokens; output_tokens includes the
# reasoning tokens, which bill as output.
#   uncached = 2000 - 1536 - 128 = 336
#   cost = (336 * 1.00 + 1536 * 0.05 + 128 * 1.25 + 300 * 5.00) / 1e6
#        = (336 + 76.8 + 160 + 1500) / 1e6 = 2072.8e-6 USD
RESPONSES_BILLING = Billing(
    model="gpt-6.1-terra",
    rates=ModelPrice(input=1.00, output=5.00, cached_input=0.05, cache_write=1.25),
    wire={
        "input_tokens": 2000,
        "cached_tokens": 1536,
        "cache_write_tokens": 128,
        "output_tokens": 300,
        "reasoning_tokens": 256,
    },
    input_tokens=2000,
    cached_input_tokens=1536,
    cache_write_tokens=128,
    reasoning_tokens=256,
    output_tokens=300,
    cost_usd=2072.8e-6,
)

# Anthropic Messages, claude-haiku-4-5: 1.00 input, 5.00 output, 0.10 cache read, 1.25 cache
# write. Anthropic's input_tokens EXCLUDES cache reads and writes; our Usage includes them:
#   input_tokens = 50 + 2000 + 400 = 2450
#   cost = (50 * 1.00 + 2000 * 0.10 + 400 * 1.25 + 120 * 5.00) / 1e6
#        = (50 + 200 + 500 + 600) / 1e6 = 1350e-6 USD
# message_start reports output_tokens=1 and message_delta the cumulative 120: the total is
# 120 (last value wins), not 121.
MESSAGES_BILLING = Billing(
    model="claude-haiku-4-5",
    rates=ModelPrice(input=1.00, output=5.00, cached_input=0.10, cache_write=1.25),
    wire={
        "input_tokens": 50,
        "cached_tokens": 2000,
        "cache_write_tokens": 400,
        "output_tokens": 120,
    },
    input_tokens=2450,
    cached_input_tokens=2000,
    cache_write_tokens=400,
    reasoning_tokens=0,
    output_tokens=120,
    cost_usd=1350e-6,
)


def _chat_text(chunk: Any) -> str:
    return (chunk.choices[0].delta.content or "") if chunk.choices else ""


def _event_text(kind: str, attribute: str) -> Callable[[Any], str]:
    def text(event: Any) -> str:
        return str(getattr(event, attribute)) if event.type == kind else ""

    return text


def _anthropic_delta_text(event: Any) -> str:
    return event.delta.text if event.type == "content_block_delta" else ""


@dataclass(frozen=True)
class Case:
    """One way of streaming through an SDK."""

    id: str
    sdk: str
    endpoint: str
    method: str
    """Dotted path of the client method handed to perf.stream."""
    billing: Billing
    text_of: Callable[[Any], str]
    """Picks the text out of one yielded item (to check the items arrive unchanged)."""
    kwargs: Mapping[str, Any] = field(default_factory=dict)


CASES = [
    Case(
        "chat.completions.create",
        "openai",
        CHAT,
        "chat.completions.create",
        CHAT_BILLING,
        _chat_text,
        {"stream": True, "stream_options": {"include_usage": True}, "messages": MESSAGES_IN},
    ),
    Case(
        # the helper yields ChunkEvent("chunk") and a derived ContentDeltaEvent per token
        "chat.completions.stream",
        "openai",
        CHAT,
        "chat.completions.stream",
        CHAT_BILLING,
        _event_text("content.delta", "delta"),
        {"stream_options": {"include_usage": True}, "messages": MESSAGES_IN},
    ),
    Case(
        "responses.create",
        "openai",
        RESPONSES,
        "responses.create",
        RESPONSES_BILLING,
        _event_text("response.output_text.delta", "delta"),
        {"stream": True, "input": "What is 2 + 2?"},
    ),
    Case(
        "responses.stream",
        "openai",
        RESPONSES,
        "responses.stream",
        RESPONSES_BILLING,
        _event_text("response.output_text.delta", "delta"),
        {"input": "What is 2 + 2?"},
    ),
    Case(
        "messages.create",
        "anthropic",
        MESSAGES,
        "messages.create",
        MESSAGES_BILLING,
        _anthropic_delta_text,
        {"stream": True, "max_tokens": 256, "messages": MESSAGES_IN},
    ),
    Case(
        # MessageStream yields each raw content_block_delta AND a derived "text" event
        "messages.stream",
        "anthropic",
        MESSAGES,
        "messages.stream",
        MESSAGES_BILLING,
        _event_text("text", "text"),
        {"max_tokens": 256, "messages": MESSAGES_IN},
    ),
]


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def running_server() -> Iterator[LLMServer]:
    with serve() as server:
        yield server


@pytest.fixture
def llm_server(running_server: LLMServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[LLMServer]:
    """The module's server, reset to this module's timing and tokens, no requests seen."""
    for name in ("NO_PROXY", "no_proxy"):  # never send loopback traffic through a proxy
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    running_server.reset()
    running_server.configure(
        tokens=TOKENS,
        headers_delay_s=HEADERS_DELAY_S,
        first_token_delay_s=FIRST_TOKEN_DELAY_S,
        inter_token_delay_s=INTER_TOKEN_DELAY_S,
    )
    yield running_server
    assert not running_server.errors, "\n".join(running_server.errors)


def sdk(name: str) -> ModuleType:
    return pytest.importorskip(name)


def make_client(name: str, server: LLMServer, *, asynchronous: bool) -> Any:
    module = sdk(name)
    if name == "openai":
        cls = module.AsyncOpenAI if asynchronous else module.OpenAI
        return cls(base_url=server.openai_base_url, api_key="test", max_retries=0)
    cls = module.AsyncAnthropic if asynchronous else module.Anthropic
    return cls(base_url=server.base_url, api_key="test", max_retries=0)


def method_of(client: Any, dotted: str) -> Callable[..., Any]:
    return functools.reduce(getattr, dotted.split("."), client)  # type: ignore[no-any-return]


def prepare(server: LLMServer, case: Case) -> Scenario:
    rates = PriceTable.builtin().lookup(case.billing.model)
    assert rates == case.billing.rates, (
        f"the built-in price of {case.billing.model} changed; update the hand-computed "
        "cost in this test"
    )
    return server.configure(endpoint=case.endpoint, **case.billing.wire)


# -- checks ---------------------------------------------------------------------------------


def check_measurement(measurement: Measurement, scenario: Scenario, billing: Billing) -> None:
    """Every round holds one stream of ``billing``'s model, as the server sent it."""
    assert len(measurement.rounds) == measurement.rounds_requested
    model = billing.model
    for values in measurement.rounds:
        # tokens: from the usage block, not counted from chunks, normalised
        assert values["output_tokens"] == billing.output_tokens
        assert values["input_tokens"] == billing.input_tokens
        assert values["cached_input_tokens"] == billing.cached_input_tokens
        assert values["cache_write_tokens"] == billing.cache_write_tokens
        assert values["reasoning_tokens"] == billing.reasoning_tokens
        assert values["api_calls"] == 1
        assert values[f"model.{model}.api_calls"] == 1
        assert values[f"model.{model}.input_tokens"] == billing.input_tokens
        assert values[f"model.{model}.output_tokens"] == billing.output_tokens
        # cost: the hand-computed figure
        assert values[f"model.{model}.cost_usd"] == pytest.approx(billing.cost_usd)
        assert values["cost_usd"] == pytest.approx(billing.cost_usd)
        # time: lower bounds only. The first token cannot arrive before the server's delays
        # (a TTFT taken at the role chunk / message_start / response.created would miss the
        # first-token delay; a clock started after the SDK call returned, the headers delay),
        # and the last one not before every inter-token delay has passed as well.
        assert values["ttft_s"] >= scenario.earliest_first_token_s
        assert values["e2e_s"] >= scenario.earliest_last_token_s
        assert values["round_s"] >= values["e2e_s"]
    assert measurement.token_sources == {"": "usage"}
    # one gap between consecutive content events: role, usage, lifecycle and derived helper
    # events must not count as output
    assert len(measurement.gaps_ns) == len(measurement.rounds) * (scenario.content_events - 1)


def assert_requests(server: LLMServer, endpoint: str, count: int) -> None:
    seen = server.requests_to(endpoint)
    assert len(seen) == count, [r.path for r in server.requests]
    assert all(r.body["stream"] is True for r in seen)


# -- every SDK entry point, sync and async ----------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_sync_client_stream(llm_server: LLMServer, case: Case) -> None:
    scenario = prepare(llm_server, case)
    perf = Perf(rounds=ROUNDS, warmup=0)
    with make_client(case.sdk, llm_server, asynchronous=False) as client:
        method = method_of(client, case.method)

        def ask() -> str:
            chunks = perf.stream(method, model=case.billing.model, **case.kwargs)
            return "".join(case.text_of(chunk) for chunk in chunks)

        answer = perf(ask)

    assert answer == scenario.text  # the SDK's items came through unchanged
    check_measurement(perf.finish(), scenario, case.billing)
    assert_requests(llm_server, case.endpoint, ROUNDS)


@pytest.mark.asyncio
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
async def test_async_client_stream(llm_server: LLMServer, case: Case) -> None:
    scenario = prepare(llm_server, case)
    perf = Perf(rounds=ROUNDS, warmup=0)
    async with make_client(case.sdk, llm_server, asynchronous=True) as client:
        method = method_of(client, case.method)

        async def ask() -> str:
            chunks = perf.stream(method, model=case.billing.model, **case.kwargs)
            return "".join([case.text_of(chunk) async for chunk in chunks])

        answer = await perf.arun(ask)

    assert answer == scenario.text
    check_measurement(perf.finish(), scenario, case.billing)
    assert_requests(llm_server, case.endpoint, ROUNDS)


# -- usage edge cases ---------------------------------------------------------------------------


def test_chat_stream_without_include_usage_counts_content_chunks(llm_server: LLMServer) -> None:
    openai = sdk("openai")
    scenario = llm_server.configure(output_tokens=999)  # never sent without include_usage
    perf = Perf(rounds=1, warmup=0)
    with openai.OpenAI(base_url=llm_server.openai_base_url, api_key="test", max_retries=0) as c:
        chunks = list(
            perf.stream(
                c.chat.completions.create, model="gpt-4o-mini", messages=MESSAGES_IN, stream=True
            )
        )
    assert all(chunk.usage is None for chunk in chunks)
    with pytest.warns(UnpricedModelWarning, match="reported no token usage"):
        (values,) = perf.finish().rounds
    # 5 content chunks; the role-only first chunk and the finish chunk carry no output
    assert len(chunks) == scenario.content_events + 2
    assert values["output_tokens"] == scenario.content_events
    assert values["input_tokens"] == 0
    assert values["api_calls"] == 1
    assert values["cost_usd"] is None  # no usage reported, so nothing to price
    assert values["ttft_s"] >= scenario.earliest_first_token_s
    assert perf.finish().token_sources == {"": "chunks"}
    assert "stream_options" not in llm_server.requests_to(CHAT)[0].body


def test_model_reported_by_the_stream_is_priced_when_the_call_is_wrapped(
    llm_server: LLMServer,
) -> None:
    """perf.stream cannot see ``model=`` inside a lambda: the streamed (dated) name is used."""
    openai = sdk("openai")
    llm_server.configure(model="gpt-4o-mini-2024-07-18", **CHAT_BILLING.wire)
    perf = Perf(rounds=1, warmup=0)
    with openai.OpenAI(base_url=llm_server.openai_base_url, api_key="test", max_retries=0) as c:
        for _ in perf.stream(
            lambda: c.chat.completions.create(
                model="gpt-4o-mini",
                messages=MESSAGES_IN,
                stream=True,
                stream_options={"include_usage": True},
            )
        ):
            pass
    (values,) = perf.finish().rounds
    # the dated snapshot resolves to gpt-4o-mini's price: 115.2e-6 USD, as in CHAT_BILLING
    assert values["model.gpt-4o-mini-2024-07-18.cost_usd"] == pytest.approx(CHAT_BILLING.cost_usd)
    assert "model.gpt-4o-mini.cost_usd" not in values


def test_a_stream_cut_mid_way_raises_the_sdk_error_and_is_not_timed(
    llm_server: LLMServer,
) -> None:
    openai = sdk("openai")
    llm_server.configure(abort_after=2)
    perf = Perf(rounds=1, warmup=0)
    received: list[Any] = []
    with openai.OpenAI(base_url=llm_server.openai_base_url, api_key="test", max_retries=0) as c:
        stream = perf.stream(
            c.chat.completions.create,
            model="gpt-4o-mini",
            messages=MESSAGES_IN,
            stream=True,
            stream_options={"include_usage": True},
        )
        with pytest.raises(openai.APIConnectionError):
            received.extend(stream)  # keeps what arrived before the error
    assert [_chat_text(c) for c in received] == ["", *TOKENS[:2]]
    (values,) = perf.finish().rounds
    assert "ttft_s" not in values  # a failed stream is not timed


def test_breaking_out_early_closes_the_http_response(llm_server: LLMServer) -> None:
    openai = sdk("openai")
    scenario = llm_server.scenario_for(CHAT)
    perf = Perf(rounds=1, warmup=0)
    opened: list[Any] = []  # keeps the SDK stream alive, so only an explicit close closes it
    with openai.OpenAI(base_url=llm_server.openai_base_url, api_key="test", max_retries=0) as c:

        def create(**kwargs: Any) -> Any:
            opened.append(c.chat.completions.create(**kwargs))
            return opened[-1]

        for chunk in perf.stream(create, model="gpt-4o-mini", messages=MESSAGES_IN, stream=True):
            if _chat_text(chunk):
                break  # the consumer has what it needs
        with pytest.warns(UnpricedModelWarning, match="reported no token usage"):
            (values,) = perf.finish().rounds
        # what arrived before the break is a valid, timed stream
        assert values["output_tokens"] == 1
        assert values["ttft_s"] >= scenario.earliest_first_token_s
        # ... and perf.stream, which opened the SDK stream, has closed it
        assert opened[0].response.is_closed


# -- concurrency: two SDKs in one round ------------------------------------------------------


@pytest.mark.asyncio
async def test_concurrent_openai_and_anthropic_streams_in_one_round(
    llm_server: LLMServer,
) -> None:
    chat = llm_server.configure(endpoint=CHAT, **CHAT_BILLING.wire)
    messages = llm_server.configure(
        endpoint=MESSAGES, first_token_delay_s=0.08, **MESSAGES_BILLING.wire
    )
    perf = Perf(rounds=1, warmup=0)
    async with (
        make_client("openai", llm_server, asynchronous=True) as oc,
        make_client("anthropic", llm_server, asynchronous=True) as ac,
    ):

        async def drafter() -> list[Any]:
            chunks = perf.stream(
                oc.chat.completions.create,
                name="drafter",
                model=CHAT_BILLING.model,
                messages=MESSAGES_IN,
                stream=True,
                stream_options={"include_usage": True},
            )
            return [c async for c in chunks]

        async def critic() -> list[Any]:
            chunks = perf.stream(
                ac.messages.stream,
                name="critic",
                model=MESSAGES_BILLING.model,
                max_tokens=256,
                messages=MESSAGES_IN,
            )
            return [c async for c in chunks]

        async def both() -> tuple[list[Any], list[Any]]:
            first, second = await asyncio.gather(drafter(), critic())
            return first, second

        await perf.arun(both)

    measurement = perf.finish()
    (values,) = measurement.rounds
    assert values["api_calls"] == 2
    assert values["drafter.ttft_s"] >= chat.earliest_first_token_s
    assert values["critic.ttft_s"] >= messages.earliest_first_token_s
    assert values["drafter.output_tokens"] == CHAT_BILLING.output_tokens
    assert values["critic.output_tokens"] == MESSAGES_BILLING.output_tokens
    assert values["output_tokens"] == CHAT_BILLING.output_tokens + MESSAGES_BILLING.output_tokens
    assert values["input_tokens"] == CHAT_BILLING.input_tokens + MESSAGES_BILLING.input_tokens
    for billing in (CHAT_BILLING, MESSAGES_BILLING):
        assert values[f"model.{billing.model}.cost_usd"] == pytest.approx(billing.cost_usd)
    # 115.2e-6 + 1350e-6 = 1465.2e-6 USD
    assert values["cost_usd"] == pytest.approx(1465.2e-6)
    assert len(measurement.gaps_ns) == 2 * (len(TOKENS) - 1)
    assert measurement.token_sources == {"": "usage", "drafter": "usage", "critic": "usage"}


# -- the perf fixture, through pytester --------------------------------------------------------

PYTEST_INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""

EXPECTATIONS = """
BASE_URL = {base_url!r}
TEXT = {text!r}
EARLIEST_FIRST_TOKEN_S = {first!r}
MODEL = {model!r}
OUTPUT_TOKENS = {output!r}
INPUT_TOKENS = {input!r}
CACHED_INPUT_TOKENS = {cached!r}
COST_USD = {cost!r}
CONTENT_EVENTS = {content_events!r}
MESSAGES = [{{"role": "user", "content": "What is 2 + 2?"}}]


def check(perf):
    summary = perf.summary
    assert summary["ttft_s"].n == 2
    assert summary["ttft_s"].min >= EARLIEST_FIRST_TOKEN_S
    assert summary["output_tokens"].min == summary["output_tokens"].max == OUTPUT_TOKENS
    assert summary["input_tokens"].min == summary["input_tokens"].max == INPUT_TOKENS
    assert summary["cached_input_tokens"].median == CACHED_INPUT_TOKENS
    assert summary["api_calls"].max == 1
    assert summary["model." + MODEL + ".cost_usd"].max == pytest.approx(COST_USD)
    assert summary["model." + MODEL + ".cost_usd"].min == pytest.approx(COST_USD)
    # two measured rounds, one gap per content event after the first
    assert len(perf.finish().gaps_ns) == 2 * (CONTENT_EVENTS - 1)
"""

SYNC_FIXTURE_TEST = """
import openai
import pytest

{expectations}

@pytest.mark.perf(rounds=2, warmup=1)
def test_chat(perf):
    with openai.OpenAI(base_url=BASE_URL + "/v1", api_key="test", max_retries=0) as client:
        def ask():
            text = ""
            for chunk in perf.stream(
                client.chat.completions.create,
                model=MODEL,
                messages=MESSAGES,
                stream=True,
                stream_options={{"include_usage": True}},
            ):
                if chunk.choices:
                    text += chunk.choices[0].delta.content or ""
            return text

        assert perf(ask) == TEXT
    check(perf)
"""

ASYNC_FIXTURE_TEST = """
import anthropic
import pytest

{expectations}

@pytest.mark.perf(rounds=2, warmup=1)
async def test_messages_stream(perf):
    async with anthropic.AsyncAnthropic(base_url=BASE_URL, api_key="test", max_retries=0) as c:
        async def ask():
            text = ""
            async for event in perf.stream(
                c.messages.stream, model=MODEL, max_tokens=256, messages=MESSAGES
            ):
                if event.type == "text":
                    text += event.text
            return text

        assert await perf.arun(ask) == TEXT
    check(perf)
"""


def _expectations(server: LLMServer, scenario: Scenario, billing: Billing) -> str:
    return EXPECTATIONS.format(
        base_url=server.base_url,
        text=scenario.text,
        first=scenario.earliest_first_token_s,
        model=billing.model,
        output=billing.output_tokens,
        input=billing.input_tokens,
        cached=billing.cached_input_tokens,
        cost=billing.cost_usd,
        content_events=scenario.content_events,
    )


@dataclass(frozen=True)
class FixtureCase:
    sdk: str
    endpoint: str
    billing: Billing
    template: str


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            FixtureCase("openai", CHAT, CHAT_BILLING, SYNC_FIXTURE_TEST), id="sync-openai-chat"
        ),
        pytest.param(
            FixtureCase("anthropic", MESSAGES, MESSAGES_BILLING, ASYNC_FIXTURE_TEST),
            id="async-anthropic-messages-stream",
        ),
    ],
)
def test_perf_fixture_with_real_sdk(
    pytester: pytest.Pytester, llm_server: LLMServer, case: FixtureCase
) -> None:
    sdk(case.sdk)
    sdk("pytest_asyncio")
    scenario = llm_server.configure(endpoint=case.endpoint, **case.billing.wire)
    pytester.makefile(".ini", pytest=PYTEST_INI)
    expectations = _expectations(llm_server, scenario, case.billing)
    pytester.makepyfile(test_real_sdk=case.template.format(expectations=expectations))
    # (hypothesis's plugin only slows the inner run down)
    result = pytester.runpytest("-v", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*= perfbaseline: 1 perf test =*",
            "*output tokens counted from: all streams: usage*",
        ]
    )
    # one warm-up round and two measured rounds, one request each
    assert_requests(llm_server, case.endpoint, 3)
