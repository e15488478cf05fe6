import net from "node:net";
import { once } from "node:events";
import type { Caller } from "./caller.ts";
import { BatchedWriter, encodeRawFrame, RawFrameReader, RawMethod } from "./raw-frame.ts";

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

function connectTcp(address: string): net.Socket {
  const [host = "127.0.0.1", port = "0"] = address.split(":");
  return net.connect({ host, port: Number(port) });
}

/** The raw baseline's client: one socket, calls matched to answers by id. */
export async function openRawCaller(address: string): Promise<Caller> {
  const socket = address.startsWith("unix://") ? net.connect({ path: address.slice("unix://".length) }) : connectTcp(address);
  await once(socket, "connect");
  socket.setNoDelay(true);
  const pending = new Map<number, Pending>();
  let nextId = 1;
  const reader = new RawFrameReader((id, _method, body) => {
    const call = pending.get(id);
    if (!call) return;
    pending.delete(id);
    call.resolve(JSON.parse(body.toString("utf8")));
  });
  socket.on("data", (chunk: Buffer) => reader.push(chunk));
  const lost = (): void => {
    for (const call of pending.values()) call.reject(new Error("raw connection closed"));
    pending.clear();
  };
  socket.on("close", lost);
  socket.on("error", lost);
  const writer = new BatchedWriter(socket);
  const call = (method: number, json: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId;
      nextId = (nextId + 1) >>> 0 || 1;
      pending.set(id, { resolve, reject });
      writer.write(encodeRawFrame(id, method, json));
    });
  return {
    add: (a, b) => call(RawMethod.Add, JSON.stringify({ a, b })) as Promise<number>,
    echo: (text) => call(RawMethod.Echo, JSON.stringify(text)) as Promise<string>,
    close: async () => {
      socket.end();
      socket.destroy();
    },
  };
}
