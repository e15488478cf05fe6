import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { context } from "@opentelemetry/api";
import { startNode } from "../../src/index.ts";
import { childArgument } from "../lib/child-side.ts";
import { runServer } from "../lib/serve-child.ts";
import { Bench, benchHandlers } from "../targets/amoeba-service.ts";
import { registerDroppingSdk, tracesOf, type TraceVariant } from "./variants.ts";

/** The bench contract on TCP, traced as `variant` says (the SDK is registered only for "otel"). */
runServer(async () => {
  const { variant } = childArgument<{ variant: TraceVariant }>();
  if (variant === "otel") {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    registerDroppingSdk();
  }
  const node = await startNode({ name: `bench-traced-${variant}`, listen: "tcp://127.0.0.1:0", traces: tracesOf(variant) });
  node.serve(Bench, benchHandlers);
  return { address: node.addresses[0]!, close: () => node.close({ timeout: 500 }) };
});
