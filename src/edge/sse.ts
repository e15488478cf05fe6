/** A server stream as Server-Sent Events: `data:` per item, then `event: end` or `event: error`. */
import type { ServerResponse } from "node:http";
import type { Meta } from "../rpc/call-options.ts";
import type { CallStream } from "../rpc/call-stream.ts";
import { toJsonText } from "./body.ts";
import { failureOf, type EdgeFailure } from "./errors.ts";

/**
 * Writes `items` as events. The status line waits for the first item (or a
 * heartbeat's worth of time): a stream that fails at once — a schema
 * failure, an unknown instance — gets a plain JSON error with its HTTP status
 * through `fail`. The end event carries the item count and the response
 * metadata the handler set (`ctx.responseMeta`), which arrives only then.
 */
export async function streamEvents(
  response: ServerResponse,
  items: CallStream<unknown>,
  signal: AbortSignal,
  options: { heartbeatInterval: number; expose: boolean; responseMeta: () => Meta | undefined; fail: (failure: EdgeFailure) => void },
): Promise<void> {
  const open = (): void => {
    if (response.headersSent) return;
    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      // Proxies that buffer (nginx) would hold the events back.
      "x-accel-buffering": "no",
    });
  };
  let idle = false;
  const heartbeat = setInterval(() => {
    if (idle) {
      open();
      response.write(": ping\n\n");
    }
    idle = true;
  }, options.heartbeatInterval);
  let count = 0;
  try {
    for await (const item of items) {
      count++;
      idle = false;
      open();
      if (!response.write(`data: ${toJsonText(item)}\n\n`)) await drainOrClose(response);
      if (signal.aborted) return;
    }
    open();
    const meta = options.responseMeta();
    const end = meta && Object.keys(meta).length > 0 ? { items: count, meta } : { items: count };
    response.end(`event: end\ndata: ${JSON.stringify(end)}\n\n`);
  } catch (error) {
    if (signal.aborted || response.destroyed) return;
    const failure = failureOf(error, options.expose);
    if (!response.headersSent) return options.fail(failure);
    response.end(`event: error\ndata: ${JSON.stringify(failure.toJSON().error)}\n\n`);
  } finally {
    clearInterval(heartbeat);
    if (!response.writableEnded) response.end();
  }
}

function drainOrClose(response: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      response.off("drain", done);
      response.off("close", done);
      resolve();
    };
    response.on("drain", done);
    response.on("close", done);
  });
}
