import { bidiStream, clientStream, contract, stream, unary, type Contract, type MethodDef, type MethodKind, type MethodSpec } from "../rpc/contract.ts";
import type { ServiceDescription } from "../rpc/reflection.ts";
import { anyValue } from "../rpc/pass-through.ts";

type AnySpec = MethodSpec<typeof anyValue, typeof anyValue>;

const MAKERS: Record<MethodKind, (spec: AnySpec) => MethodDef> = {
  unary: (spec) => unary(spec),
  "server-stream": (spec) => stream(spec),
  "client-stream": (spec) => clientStream(spec),
  "bidi-stream": (spec) => bidiStream(spec),
};

/**
 * The contract a gateway serves for a service it forwards, built from what the
 * service's reflection describes: the same methods, kinds, idempotency,
 * descriptions, public marks and JSON Schemas — so that callers, the edge and
 * the `amoeba` command see through the gateway what they would see at the
 * service — with schemas that let every value through. A TypeError when the
 * description is unusable.
 */
export function forwardContract(description: ServiceDescription): Contract {
  const methods: Record<string, MethodDef> = {};
  const described = Array.isArray(description.methods) ? description.methods : [];
  for (const m of described) {
    if (typeof m?.name !== "string" || !Object.hasOwn(MAKERS, m.kind)) throw new TypeError(`${description.name}@${description.version} describes a method it cannot forward`);
    methods[m.name] = MAKERS[m.kind]({
      input: anyValue,
      output: anyValue,
      idempotent: m.idempotent === true,
      ...(typeof m.description === "string" ? { description: m.description } : {}),
      public: m.public === true,
      jsonSchema: { input: isObject(m.input) ? m.input : {}, output: isObject(m.output) ? m.output : {} },
    });
  }
  return contract(description.name, description.version, methods);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
