"""Wire formats, sans I/O: OpenAI, Claude and SSE codecs, the one usage record, conversions."""
