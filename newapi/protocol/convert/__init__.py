"""Pure conversions between OpenAI Chat Completions and Anthropic Messages.

Plain JSON dicts in and out, no I/O. Requests, responses and streams, both directions:

- OpenAI caller -> Anthropic channel: :func:`chat_request_to_claude`, then
  :func:`claude_response_to_chat` or :class:`ClaudeStreamToChat` for the answer.
- Claude caller (``/v1/messages``) -> OpenAI-compatible channel: :func:`messages_request_to_chat`,
  then :func:`chat_response_to_message` or :class:`ChatStreamToClaude` for the answer.
"""

from newapi.protocol.convert.claude_to_openai import (
    ClaudeStreamToChat,
    StreamError,
    claude_response_to_chat,
    finish_reason_from_claude,
    messages_request_to_chat,
)
from newapi.protocol.convert.openai_to_claude import (
    ChatStreamToClaude,
    chat_request_to_claude,
    chat_response_to_message,
    stop_reason_from_openai,
)

__all__ = [
    "ChatStreamToClaude",
    "ClaudeStreamToChat",
    "StreamError",
    "chat_request_to_claude",
    "chat_response_to_message",
    "claude_response_to_chat",
    "finish_reason_from_claude",
    "messages_request_to_chat",
    "stop_reason_from_openai",
]
