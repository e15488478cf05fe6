// Conformance over TCP on the loopback interface.
import { socketFixture } from "./fixture.ts";
import { runConformance } from "./suite.ts";

runConformance("tcp://", socketFixture(() => "tcp://127.0.0.1:0"));
