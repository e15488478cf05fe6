import type moleculer from "moleculer";

/** The bench service as a moleculer user declares it, with validated params; on any transporter. */
export const moleculerBenchService: moleculer.ServiceSchema = {
  name: "bench",
  actions: {
    add: {
      params: { a: "number", b: "number" },
      handler: (ctx: moleculer.Context<{ a: number; b: number }>) => ctx.params.a + ctx.params.b,
    },
    echo: {
      params: { text: "string" },
      handler: (ctx: moleculer.Context<{ text: string }>) => ctx.params.text,
    },
  },
};
