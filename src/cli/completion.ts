/**
 * `amoeba completion bash|zsh|fish`: a completion script for the shell,
 * written from the commands' own specs, so that it completes what the
 * commands accept today — command names, and each command's options.
 */
import { parseOrHelp } from "./args.ts";
import { EXIT, UsageError } from "./errors.ts";
import type { Io } from "./io.ts";
import { didYouMean } from "./suggest.ts";
import { COMMANDS, type CommandSpec } from "./usage.ts";
import { COMPLETION } from "./usage-tools.ts";

/** The shells a script can be printed for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;

/** `amoeba completion`: returns the exit code. */
export async function runCompletion(argv: readonly string[], io: Io): Promise<number> {
  const args = parseOrHelp(COMPLETION, argv, io);
  if (!args) return EXIT.ok;
  const [shell, ...extra] = args.positionals;
  if (shell === undefined || extra.length > 0) throw new UsageError(`expects one shell: ${SHELLS.join(", ")}`, "completion");
  if (!(SHELLS as readonly string[]).includes(shell)) throw new UsageError(`cannot complete for "${shell}"${didYouMean(shell, SHELLS)}; the shells: ${SHELLS.join(", ")}`, "completion");
  io.out(completionScript(shell as (typeof SHELLS)[number], COMMANDS));
  return EXIT.ok;
}

/** The script for `shell`, completing `commands`. */
export function completionScript(shell: (typeof SHELLS)[number], commands: readonly CommandSpec[]): string {
  if (shell === "bash") return bashScript(commands);
  if (shell === "zsh") return zshScript(commands);
  return fishScript(commands);
}

const flagsOf = (command: CommandSpec): string[] => [...Object.keys(command.options).map((name) => `--${name}`), "--no-color"];
// Help texts go into single-quoted shell words: no quote may end one early.
const quoted = (text: string): string => `'${text.replace(/'/g, "'\\''")}'`;

function bashScript(commands: readonly CommandSpec[]): string {
  const cases = commands.map((command) => `    ${command.name}) opts=${quoted(flagsOf(command).join(" "))} ;;`);
  return [
    "# amoeba completion for bash: source <(amoeba completion bash)",
    "_amoeba() {",
    '  local cur="${COMP_WORDS[COMP_CWORD]}" opts',
    "  if [ \"$COMP_CWORD\" -eq 1 ]; then",
    `    COMPREPLY=($(compgen -W ${quoted(commands.map((c) => c.name).join(" ") + " --help --version")} -- "$cur"))`,
    "    return",
    "  fi",
    '  case "${COMP_WORDS[1]}" in',
    ...cases,
    "    *) opts='' ;;",
    "  esac",
    '  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi',
    "}",
    "complete -o default -F _amoeba amoeba",
  ].join("\n");
}

function zshScript(commands: readonly CommandSpec[]): string {
  const describe = commands.map((command) => `    ${quoted(`${command.name}:${command.summary.replace(/:/g, "\\:")}`)}`);
  const cases = commands.map(
    (command) =>
      `    ${command.name}) _arguments ${[...Object.entries(command.options).map(([name, option]) => quoted(`--${name}[${option.help.replace(/[[\]:]/g, " ").slice(0, 80)}]${option.type === "string" ? ":value:_files" : ""}`)), quoted("--no-color[no colour]")].join(" ")} '*:file:_files' ;;`,
  );
  return [
    "#compdef amoeba",
    "# amoeba completion for zsh: amoeba completion zsh > \"${fpath[1]}/_amoeba\"",
    "_amoeba() {",
    "  local -a commands",
    "  commands=(",
    ...describe,
    "  )",
    "  if (( CURRENT == 2 )); then _describe command commands; return; fi",
    "  local command=${words[2]}",
    "  shift words; (( CURRENT-- ))",
    "  case $command in",
    ...cases,
    "  esac",
    "}",
    'if [ "$funcstack[1]" = "_amoeba" ]; then _amoeba "$@"; else compdef _amoeba amoeba; fi',
  ].join("\n");
}

function fishScript(commands: readonly CommandSpec[]): string {
  const lines = ["# amoeba completion for fish: amoeba completion fish > ~/.config/fish/completions/amoeba.fish", "complete -c amoeba -f"];
  for (const command of commands) lines.push(`complete -c amoeba -n __fish_use_subcommand -a ${command.name} -d ${quoted(command.summary)}`);
  for (const command of commands) {
    for (const [name, option] of Object.entries(command.options)) {
      lines.push(`complete -c amoeba -n ${quoted(`__fish_seen_subcommand_from ${command.name}`)} -l ${name}${option.type === "string" ? " -r" : ""} -d ${quoted(option.help.slice(0, 80))}`);
    }
  }
  lines.push(`complete -c amoeba -l no-color -d 'no colour'`);
  return lines.join("\n");
}
