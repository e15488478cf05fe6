import { callSuite } from "./call-suite.ts";

callSuite("unix socket");
