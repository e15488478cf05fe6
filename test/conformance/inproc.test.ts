// Conformance over inproc://: two nodes in one process; the caller reaches the server by look-up after node.connect().
import { inprocFixture } from "./fixture.ts";
import { runConformance } from "./suite.ts";

runConformance("inproc://", inprocFixture);
