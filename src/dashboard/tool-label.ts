/**
 * The label that marks the short-lived members the `amoeba` command adds to
 * a cluster while it runs (`ls`, `nodes`, `call`, …); its value is the
 * command. The dashboard and other tools' lists leave such members out.
 */
export const TOOL_LABEL = "amoeba.cli";
