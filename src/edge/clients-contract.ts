/**
 * The edge's node serves `amoeba.edge`: who its clients are (see
 * client-tally.ts), for the dashboard to draw the end users in front of it.
 *
 * @module
 */
import { contract, unary } from "../rpc/contract.ts";
import { emptyInput, plainSchema } from "../rpc/plain-schema.ts";
import type { EdgeClientsReading } from "./client-tally.ts";

/** The contract of an edge's figures about its clients. */
export const EdgeClientsContract = contract("amoeba.edge", "1.0.0", {
  clients: unary({
    input: emptyInput,
    output: plainSchema<EdgeClientsReading>(() => null),
    idempotent: true,
    description: "The distinct clients this edge saw in the last minute, and the requests it admitted and refused.",
  }),
});
