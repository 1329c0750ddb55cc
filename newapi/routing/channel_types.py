"""Channel types: new-api's numeric ids, display names, default base URLs and model lists.

The ids are stored in ``channels.type`` and must never change (reference: admin §5). The model
lists are small defaults that ``GET /api/models`` offers the channel editor; they are a starting
point for an admin, not a statement of what an upstream serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

OPENAI = 1
MIDJOURNEY = 2
AZURE = 3
OLLAMA = 4
MIDJOURNEY_PLUS = 5
CUSTOM = 8
ANTHROPIC = 14
BAIDU = 15
ZHIPU = 16
ALI = 17
XUNFEI = 18
OPENROUTER = 20
TENCENT = 23
GEMINI = 24
MOONSHOT = 25
ZHIPU_V4 = 26
PERPLEXITY = 27
AWS = 33
COHERE = 34
SUNO = 36
DIFY = 37
SILICONFLOW = 40
VERTEX_AI = 41
MISTRAL = 42
DEEPSEEK = 43
VOLCENGINE = 45
XAI = 48
COZE = 49
KLING = 50
JIMENG = 51
DOUBAO_VIDEO = 54
SORA = 55
REPLICATE = 56
CODEX = 57
ADVANCED_CUSTOM = 58


@dataclass(frozen=True, slots=True)
class ChannelType:
    id: int
    name: str
    base_url: str = ""
    models: tuple[str, ...] = ()


_OPENAI_MODELS = (
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "o3-mini",
    "gpt-3.5-turbo",
    "text-embedding-3-small",
    "text-embedding-3-large",
)
_CLAUDE_MODELS = (
    "claude-3-5-haiku-20241022",
    "claude-3-5-sonnet-20241022",
    "claude-3-7-sonnet-20250219",
    "claude-sonnet-4-20250514",
    "claude-opus-4-20250514",
)
_GEMINI_MODELS = (
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-3-pro-preview",
    "gemini-3-flash-preview",
    "gemini-2.0-flash",
    "gemini-embedding-001",
)
_MJ_MODELS = ("mj_imagine", "mj_variation", "mj_reroll", "mj_blend", "mj_upscale", "mj_describe")

_TYPES = (
    ChannelType(OPENAI, "OpenAI", "https://api.openai.com", _OPENAI_MODELS),
    ChannelType(MIDJOURNEY, "Midjourney", "https://oa.api2d.net", _MJ_MODELS),
    ChannelType(AZURE, "Azure", "", _OPENAI_MODELS),
    ChannelType(OLLAMA, "Ollama", "http://localhost:11434", ("llama3.1", "qwen2.5")),
    ChannelType(MIDJOURNEY_PLUS, "MidjourneyPlus", "https://api.openai-sb.com", _MJ_MODELS),
    ChannelType(6, "OpenAIMax", "https://api.openaimax.com"),
    ChannelType(7, "OhMyGPT", "https://api.ohmygpt.com"),
    ChannelType(CUSTOM, "Custom"),
    ChannelType(9, "AILS", "https://api.caipacity.com"),
    ChannelType(10, "AIProxy", "https://api.aiproxy.io"),
    ChannelType(11, "PaLM"),
    ChannelType(12, "API2GPT", "https://api.api2gpt.com"),
    ChannelType(13, "AIGC2D", "https://api.aigc2d.com"),
    ChannelType(ANTHROPIC, "Anthropic", "https://api.anthropic.com", _CLAUDE_MODELS),
    ChannelType(BAIDU, "Baidu", "https://aip.baidubce.com", ("ERNIE-4.0-8K", "ERNIE-3.5-8K")),
    ChannelType(ZHIPU, "Zhipu", "https://open.bigmodel.cn", ("chatglm_turbo", "chatglm_pro")),
    ChannelType(
        ALI, "Ali", "https://dashscope.aliyuncs.com", ("qwen-turbo", "qwen-plus", "qwen-max")
    ),
    ChannelType(XUNFEI, "Xunfei", "", ("SparkDesk-v3.5", "SparkDesk-v4.0")),
    ChannelType(19, "360", "https://api.360.cn", ("360GPT_S2_V9",)),
    ChannelType(OPENROUTER, "OpenRouter", "https://openrouter.ai/api"),
    ChannelType(21, "AIProxyLibrary", "https://api.aiproxy.io"),
    ChannelType(22, "FastGPT", "https://fastgpt.run/api/openapi"),
    ChannelType(
        TENCENT, "Tencent", "https://hunyuan.tencentcloudapi.com", ("hunyuan-lite", "hunyuan-pro")
    ),
    ChannelType(GEMINI, "Gemini", "https://generativelanguage.googleapis.com", _GEMINI_MODELS),
    ChannelType(
        MOONSHOT,
        "Moonshot",
        "https://api.moonshot.cn",
        ("moonshot-v1-8k", "moonshot-v1-32k", "moonshot-v1-128k"),
    ),
    ChannelType(ZHIPU_V4, "ZhipuV4", "https://open.bigmodel.cn", ("glm-4", "glm-4-flash")),
    ChannelType(PERPLEXITY, "Perplexity", "https://api.perplexity.ai", ("sonar", "sonar-pro")),
    ChannelType(31, "LingYiWanWu", "https://api.lingyiwanwu.com", ("yi-large", "yi-medium")),
    ChannelType(AWS, "AWS", "", _CLAUDE_MODELS),
    ChannelType(COHERE, "Cohere", "https://api.cohere.ai", ("command-r", "command-r-plus")),
    ChannelType(35, "MiniMax", "https://api.minimax.chat", ("abab6.5s-chat",)),
    ChannelType(SUNO, "SunoAPI", "", ("suno_music", "suno_lyrics")),
    ChannelType(DIFY, "Dify", "https://api.dify.ai", ("dify",)),
    ChannelType(38, "Jina", "https://api.jina.ai", ("jina-embeddings-v3", "jina-reranker-v2")),
    ChannelType(39, "Cloudflare", "https://api.cloudflare.com"),
    ChannelType(
        SILICONFLOW,
        "SiliconFlow",
        "https://api.siliconflow.cn",
        ("deepseek-ai/DeepSeek-V3", "Qwen/Qwen2.5-72B-Instruct"),
    ),
    ChannelType(
        VERTEX_AI,
        "VertexAI",
        "",
        (*_GEMINI_MODELS[:-1], "claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805"),
    ),
    ChannelType(
        MISTRAL,
        "Mistral",
        "https://api.mistral.ai",
        ("mistral-large-latest", "mistral-small-latest", "codestral-latest"),
    ),
    ChannelType(
        DEEPSEEK, "DeepSeek", "https://api.deepseek.com", ("deepseek-chat", "deepseek-reasoner")
    ),
    ChannelType(44, "MokaAI", "https://api.moka.ai"),
    ChannelType(
        VOLCENGINE,
        "VolcEngine",
        "https://ark.cn-beijing.volces.com",
        ("doubao-pro-32k", "doubao-lite-32k"),
    ),
    ChannelType(46, "BaiduV2", "https://qianfan.baidubce.com", ("ernie-4.0-8k-latest",)),
    ChannelType(47, "Xinference"),
    ChannelType(XAI, "xAI", "https://api.x.ai", ("grok-2", "grok-3", "grok-3-mini")),
    ChannelType(COZE, "Coze", "https://api.coze.cn"),
    ChannelType(KLING, "Kling", "https://api.klingai.com", ("kling-v1",)),
    ChannelType(JIMENG, "Jimeng", "https://visual.volcengineapi.com", ("jimeng_vgfm_t2v_l20",)),
    ChannelType(52, "Vidu", "https://api.vidu.cn", ("viduq1",)),
    ChannelType(53, "Submodel", "https://llm.submodel.ai"),
    ChannelType(DOUBAO_VIDEO, "DoubaoVideo", "https://ark.cn-beijing.volces.com"),
    ChannelType(SORA, "Sora", "https://api.openai.com", ("sora-2",)),
    ChannelType(REPLICATE, "Replicate", "https://api.replicate.com"),
    ChannelType(CODEX, "Codex", "https://chatgpt.com", ("gpt-5-codex",)),
    ChannelType(ADVANCED_CUSTOM, "AdvancedCustom"),
)

CHANNEL_TYPES: Mapping[int, ChannelType] = MappingProxyType({t.id: t for t in _TYPES})


def is_known(type_id: int) -> bool:
    return type_id in CHANNEL_TYPES


def type_name(type_id: int) -> str:
    known = CHANNEL_TYPES.get(type_id)
    return known.name if known else "Unknown"


def default_base_url(type_id: int) -> str:
    known = CHANNEL_TYPES.get(type_id)
    return known.base_url if known else ""


def default_models() -> dict[str, list[str]]:
    """``GET /api/models``: ``{"<type id>": [model names]}`` for every known type."""
    return {str(t.id): list(t.models) for t in _TYPES}


def model_catalog() -> list[tuple[str, str]]:
    """Every default model once, with the name of the first type that lists it."""
    seen: dict[str, str] = {}
    for channel_type in _TYPES:
        for model in channel_type.models:
            seen.setdefault(model, channel_type.name)
    return list(seen.items())
