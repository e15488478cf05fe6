import net from "node:net";
import { childArgument } from "../lib/child-side.ts";
import { runServer } from "../lib/serve-child.ts";
import { BatchedWriter, encodeRawFrame, RawFrameReader, RawMethod } from "./raw-frame.ts";

/**
 * The raw `node:net` baseline server: the least work a Node RPC server can do
 * (decode JSON, compute, encode JSON, batch writes), hence the ceiling.
 */
runServer(async () => {
  const argument = childArgument<{ listen?: string }>() ?? {};
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const writer = new BatchedWriter(socket);
    const reader = new RawFrameReader((id, method, body) => {
      const input: unknown = JSON.parse(body.toString("utf8"));
      if (method === RawMethod.Add) {
        const { a, b } = input as { a: number; b: number };
        writer.write(encodeRawFrame(id, method, JSON.stringify(a + b)));
      } else {
        writer.write(encodeRawFrame(id, method, JSON.stringify(input as string)));
      }
    });
    socket.on("data", (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch {
        socket.destroy();
      }
    });
    socket.on("error", () => socket.destroy());
  });
  // `unix:///path` listens on a Unix socket, for the raw Unix baseline.
  const unixPath = argument.listen?.startsWith("unix://") ? argument.listen.slice("unix://".length) : undefined;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    if (unixPath !== undefined) server.listen(unixPath, resolve);
    else server.listen(0, "127.0.0.1", resolve);
  });
  const address = unixPath !== undefined ? `unix://${unixPath}` : `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    address,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
});
