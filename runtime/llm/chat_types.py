"""What is sent to a model (`ChatRequest`) and what comes back (`Completion`)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion request, in OpenAI's message and tool formats."""

    model: str
    messages: list[dict[str, Any]]
    temperature: float | None = None
    max_tokens: int | None = None
    json_mode: bool = False
    tools: list[dict[str, Any]] | None = None

    def to_openai(self) -> dict[str, Any]:
        """Keyword arguments for `client.chat.completions.create`, leaving out what is unset."""
        arguments: dict[str, Any] = {"model": self.model, "messages": self.messages}
        if self.temperature is not None:
            arguments["temperature"] = self.temperature
        if self.max_tokens is not None:
            arguments["max_tokens"] = self.max_tokens
        if self.json_mode:
            arguments["response_format"] = {"type": "json_object"}
        if self.tools:
            arguments["tools"] = self.tools
        return arguments


@dataclass(frozen=True)
class ToolCall:
    """A tool the model asked to call; `arguments` is the JSON text exactly as the model wrote it."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Completion:
    """The model's answer: its text, the tools it wants called, and the tokens it cost."""

    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tool_calls: tuple[ToolCall, ...] = field(default=())
    finish_reason: str = ""
    """Why the model stopped: `stop`, `tool_calls`, `length` (hit max_tokens), ..."""
    cached: bool = False

    @property
    def usage(self) -> dict[str, int]:
        """`{"prompt_tokens", "completion_tokens"}`, as nodes put it in their output."""
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}

    def assistant_message(self) -> dict[str, Any]:
        """The answer as an `assistant` message, to send back with the tool results."""
        message: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.tool_calls:
            message["tool_calls"] = [
                {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
                for call in self.tool_calls
            ]
        return message

    def to_json(self) -> str:
        """The answer as JSON text, for the cache."""
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> Completion:
        """An answer read back from the cache, marked `cached` and costing no tokens."""
        data = json.loads(text)
        calls = tuple(ToolCall(**call) for call in data.pop("tool_calls"))
        return cls(**(data | {"prompt_tokens": 0, "completion_tokens": 0, "cached": True}), tool_calls=calls)
