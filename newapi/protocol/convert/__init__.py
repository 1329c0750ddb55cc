"""Pure conversions between OpenAI Chat Completions and Anthropic Messages.

Plain JSON dicts in and out, no I/O. Requests, responses and streams, both directions:

- OpenAI caller -> Anthropic channel: :func:`chat_request_to_claude`, then
  :func:`claude_response_to_chat` or :class:`ClaudeStreamToChat` for the answer.
- Claude caller (``/v1/messages``) -> OpenAI-compatible channel: :func:`messages_request_to_chat`,
  then :func:`chat_response_to_message` or :class:`ChatStreamToClaude` for the answer.
- OpenAI caller -> Gemini channel: :func:`chat_request_to_gemini`, then
  :func:`gemini_response_to_chat` or :class:`GeminiStreamToChat`.
- Gemini caller (``/v1beta/models/...``) -> OpenAI-compatible channel:
  :func:`generate_request_to_chat`, then :func:`chat_response_to_gemini` or
  :class:`ChatStreamToGemini`. Embeddings both ways: ``newapi.protocol.convert.embeddings``.
- Responses caller (``/v1/responses``) -> chat, Claude or Gemini channel:
  :func:`responses_request_to_chat`, then :func:`chat_response_to_responses` or
  :class:`ChatStreamToResponses`.
- Chat caller -> a model served only through Responses: :func:`chat_request_to_responses`,
  then :func:`responses_response_to_chat` or :class:`ResponsesStreamToChat`.
"""

from newapi.protocol.convert.claude_to_openai import (
    ClaudeStreamToChat,
    StreamError,
    claude_response_to_chat,
    finish_reason_from_claude,
    messages_request_to_chat,
)
from newapi.protocol.convert.embeddings import (
    embed_request_to_openai,
    embeddings_request_to_gemini,
    gemini_embeddings_to_openai,
    openai_embeddings_to_gemini,
)
from newapi.protocol.convert.gemini_to_openai import (
    GeminiStreamToChat,
    gemini_response_to_chat,
    generate_request_to_chat,
)
from newapi.protocol.convert.openai_to_claude import (
    ChatStreamToClaude,
    chat_request_to_claude,
    chat_response_to_message,
    stop_reason_from_openai,
)
from newapi.protocol.convert.openai_to_gemini import (
    ChatStreamToGemini,
    GeminiCall,
    chat_request_to_gemini,
    chat_response_to_gemini,
)
from newapi.protocol.convert.openai_to_responses import (
    ChatStreamToResponses,
    chat_request_to_responses,
    chat_response_to_responses,
)
from newapi.protocol.convert.responses_to_openai import (
    ResponsesStreamToChat,
    responses_request_to_chat,
    responses_response_to_chat,
)

__all__ = [
    "ChatStreamToClaude",
    "ChatStreamToGemini",
    "ChatStreamToResponses",
    "ClaudeStreamToChat",
    "GeminiCall",
    "GeminiStreamToChat",
    "ResponsesStreamToChat",
    "StreamError",
    "chat_request_to_claude",
    "chat_request_to_gemini",
    "chat_request_to_responses",
    "chat_response_to_gemini",
    "chat_response_to_message",
    "chat_response_to_responses",
    "claude_response_to_chat",
    "embed_request_to_openai",
    "embeddings_request_to_gemini",
    "finish_reason_from_claude",
    "gemini_embeddings_to_openai",
    "gemini_response_to_chat",
    "generate_request_to_chat",
    "messages_request_to_chat",
    "openai_embeddings_to_gemini",
    "responses_request_to_chat",
    "responses_response_to_chat",
    "stop_reason_from_openai",
]
