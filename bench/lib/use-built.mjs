// `--import`ed into every process of the bench (NODE_OPTIONS): Amoeba's
// sources load as their build in dist/ (see built-hooks.mjs).
import { register } from "node:module";

register("./built-hooks.mjs", import.meta.url);
