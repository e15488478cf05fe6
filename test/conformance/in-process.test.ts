// Conformance over no transport at all: node.client() of a contract the same node serves.
import { inProcessFixture } from "./fixture.ts";
import { runConformance } from "./suite.ts";

runConformance("in-process", inProcessFixture);
