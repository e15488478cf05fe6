import * as grpc from "@grpc/grpc-js";
import type { Caller } from "./caller.ts";
import { loadBenchService } from "./grpc-service.ts";

type Callback<T> = (error: grpc.ServiceError | null, reply: T) => void;

interface BenchStub extends grpc.Client {
  Add(request: { a: number; b: number }, callback: Callback<{ sum: number }>): grpc.ClientUnaryCall;
  Echo(request: { text: string }, callback: Callback<{ text: string }>): grpc.ClientUnaryCall;
}

/** A @grpc/grpc-js client: one channel (one HTTP/2 connection), as a user makes one per server. */
export async function openGrpcCaller(address: string): Promise<Caller> {
  const Bench = loadBenchService();
  const stub = new Bench(address, grpc.credentials.createInsecure()) as unknown as BenchStub;
  await new Promise<void>((resolve, reject) => {
    stub.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve()));
  });
  return {
    add: (a, b) =>
      new Promise((resolve, reject) => {
        stub.Add({ a, b }, (error, reply) => (error ? reject(error) : resolve(reply.sum)));
      }),
    echo: (text) =>
      new Promise((resolve, reject) => {
        stub.Echo({ text }, (error, reply) => (error ? reject(error) : resolve(reply.text)));
      }),
    close: async () => stub.close(),
  };
}
