import * as grpc from "@grpc/grpc-js";
import { runServer } from "../lib/serve-child.ts";
import { loadBenchService } from "./grpc-service.ts";

type Unary<I, O> = grpc.handleUnaryCall<I, O>;

/** A @grpc/grpc-js server for the bench service on 127.0.0.1, insecure (as the others), default options. */
runServer(async () => {
  const Bench = loadBenchService();
  const server = new grpc.Server();
  const add: Unary<{ a: number; b: number }, { sum: number }> = (call, callback) => {
    callback(null, { sum: call.request.a + call.request.b });
  };
  const echo: Unary<{ text: string }, { text: string }> = (call, callback) => {
    callback(null, { text: call.request.text });
  };
  server.addService(Bench.service, { Add: add, Echo: echo } as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  return {
    address: `127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
});
