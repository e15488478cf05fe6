import { DEFAULT_WIRE_LIMITS, encodeFrame, FrameDecoder, FrameKind } from "../../src/wire/index.ts";
import { childArgument, fail, tell } from "../lib/child-side.ts";
import { consume, measure } from "../lib/micro.ts";
import { ECHO_TEXT } from "../lib/scenarios.ts";
import type { MicroResult } from "../lib/messages.ts";

/**
 * Micro-benchmarks of the wire's hot functions (src/wire/codec.ts): encoding
 * the CALL and RESULT frames of a unary call, and decoding them from a byte
 * stream, with JSON as a yardstick.
 */
function main(): void {
  const { budgetMs } = childArgument<{ budgetMs: number }>();
  const smallCall = ["bench", "add", "^1.0.0", 30_000, null, { a: 1, b: 2 }, 0];
  const smallResult = [3, null];
  const echoCall = ["bench", "echo", "^1.0.0", 30_000, null, ECHO_TEXT, 0];
  const smallFrame = encodeFrame(FrameKind.Call, 1, smallCall);
  const echoFrame = encodeFrame(FrameKind.Call, 1, echoCall);
  const batch64 = Buffer.concat(Array.from({ length: 64 }, (_, i) => encodeFrame(FrameKind.Call, 2 * i + 1, smallCall)));
  const decoder = new FrameDecoder(DEFAULT_WIRE_LIMITS, (frame) => consume(frame.id));
  const smallJson = Buffer.from(JSON.stringify(smallCall));

  const results: MicroResult[] = [
    measure("encodeFrame CALL small", () => consume(encodeFrame(FrameKind.Call, 1, smallCall).length), budgetMs),
    measure("encodeFrame RESULT small", () => consume(encodeFrame(FrameKind.Result, 1, smallResult).length), budgetMs),
    measure("encodeFrame CALL 4 KiB echo", () => consume(encodeFrame(FrameKind.Call, 1, echoCall).length), budgetMs),
    measure("FrameDecoder.push CALL small", () => decoder.push(smallFrame), budgetMs),
    measure("FrameDecoder.push CALL 4 KiB echo", () => decoder.push(echoFrame), budgetMs),
    perFrame(measure("FrameDecoder.push 64 CALLs, per frame", () => decoder.push(batch64), budgetMs), 64),
    measure("JSON stringify CALL small (yardstick)", () => consume(Buffer.from(JSON.stringify(smallCall)).length), budgetMs),
    measure("JSON parse CALL small (yardstick)", () => consume((JSON.parse(smallJson.toString()) as unknown[]).length), budgetMs),
  ];
  tell({ type: "micro", results });
}

function perFrame(result: MicroResult, frames: number): MicroResult {
  return { name: result.name, nsPerOp: result.nsPerOp / frames };
}

try {
  main();
} catch (error) {
  fail(error);
}
