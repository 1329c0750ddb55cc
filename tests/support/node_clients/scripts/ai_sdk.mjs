// The Vercel AI SDK (with @ai-sdk/openai) against newapi: runs the operations named in argv[2]
// (JSON: {"model": ..., "api": "responses" | "chat", "ops": [...]}) and prints {op: result}.
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';

const spec = JSON.parse(process.argv[2]);
const provider = createOpenAI({
  baseURL: process.env.NEWAPI_BASE_URL,
  apiKey: process.env.NEWAPI_API_KEY,
});
const model = spec.api === 'chat' ? provider.chat(spec.model) : provider.responses(spec.model);
const common = { model, maxRetries: 0 };

const ops = {
  async generate() {
    const answer = await generateText({ ...common, prompt: 'Say hello.' });
    return { text: answer.text, finishReason: answer.finishReason, usage: answer.usage };
  },
  async stream() {
    const answer = streamText({ ...common, prompt: 'Say hello.' });
    let pieces = 0;
    for await (const piece of answer.textStream) if (piece) pieces += 1;
    return { text: await answer.text, pieces, usage: await answer.usage };
  },
  async tool() {
    const calls = [];
    const answer = await generateText({
      ...common,
      prompt: 'Weather in Paris?',
      stopWhen: stepCountIs(3),
      tools: {
        get_weather: tool({
          description: 'The weather in a city',
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => {
            calls.push(city);
            return `sunny, 21 C in ${city}`;
          },
        }),
      },
    });
    return { text: answer.text, steps: answer.steps.length, executed: calls };
  },
};

const results = {};
for (const op of spec.ops) results[op] = await ops[op]();
process.stdout.write(JSON.stringify(results));
