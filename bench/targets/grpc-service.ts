import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";

/** The `bench.Bench` service definition, loaded from grpc-bench.proto as a grpc-js user would. */
export function loadBenchService(): grpc.ServiceClientConstructor {
  const definition = loadSync(fileURLToPath(new URL("./grpc-bench.proto", import.meta.url)), {
    keepCase: true,
    defaults: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as { bench: { Bench: grpc.ServiceClientConstructor } };
  return loaded.bench.Bench;
}
