import { callSuite } from "./call-suite.ts";

callSuite("tcp");
