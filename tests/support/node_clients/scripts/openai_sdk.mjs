// The openai Node SDK against newapi: runs the operations named in argv[2] (JSON:
// {"model": ..., "ops": [...]}) one after another and prints {op: result} as JSON.
import OpenAI from 'openai';

const spec = JSON.parse(process.argv[2]);
const client = new OpenAI({
  baseURL: process.env.NEWAPI_BASE_URL,
  apiKey: process.env.NEWAPI_API_KEY,
  maxRetries: 0,
  timeout: 30_000,
});
const model = spec.model;
const ask = [{ role: 'user', content: 'Say hello.' }];
const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
    },
  },
};

// The text of a Response's message items (the stream's final Response has no output_text).
const outputText = (response) =>
  response.output
    .filter((item) => item.type === 'message')
    .flatMap((item) => item.content)
    .filter((part) => part.type === 'output_text')
    .map((part) => part.text)
    .join('');

const ops = {
  async chat() {
    const answer = await client.chat.completions.create({ model, messages: ask });
    return { text: answer.choices[0].message.content, usage: answer.usage };
  },
  async chat_stream() {
    const stream = await client.chat.completions.create({
      model,
      messages: ask,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let pieces = 0;
    let usage = null;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta?.content;
      if (delta) {
        text += delta;
        pieces += 1;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    return { text, pieces, usage };
  },
  async chat_tools() {
    const messages = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await client.chat.completions.create({ model, messages, tools: [weather] });
    const message = first.choices[0].message;
    const call = message.tool_calls[0];
    messages.push(message, { role: 'tool', tool_call_id: call.id, content: 'sunny, 21 C' });
    const last = await client.chat.completions.create({ model, messages, tools: [weather] });
    return {
      finish_reason: first.choices[0].finish_reason,
      call: { id: call.id, name: call.function.name, arguments: JSON.parse(call.function.arguments) },
      text: last.choices[0].message.content,
    };
  },
  async responses() {
    const answer = await client.responses.create({ model, input: 'Say hello.' });
    const text = answer.output_text;
    return { text, same: text === outputText(answer), status: answer.status, usage: answer.usage };
  },
  async responses_stream() {
    const stream = client.responses.stream({ model, input: 'Say hello.' });
    const events = [];
    for await (const event of stream) events.push(event.type);
    const answer = await stream.finalResponse();
    return { text: outputText(answer), events, usage: answer.usage };
  },
};

const results = {};
for (const op of spec.ops) results[op] = await ops[op]();
process.stdout.write(JSON.stringify(results));
