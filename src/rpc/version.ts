/**
 * The slice of semver Amoeba needs: versions `MAJOR.MINOR.PATCH` and ranges
 * `*`, `1`, `1.2`, `1.x`, `1.2.3`, `^1.2`, `~1.2.3`, `>=1.2.0`. A version's
 * pre-release or build tag (`1.2.3-beta.1`, `1.2.3+abc`) is carried but not
 * ordered: `1.2.3-beta.1` compares as `1.2.3`, in a version and in a range
 * (`^1.2.3-beta.1` is `^1.2.3`), so a contract with a tagged version is
 * called like any other.
 */
export type Version = readonly [major: number, minor: number, patch: number];

const VERSION = /^(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.-]+)?$/;

/** Parses `1.2.3`; undefined when it is not a version. */
export function parseVersion(text: string): Version | undefined {
  const match = VERSION.exec(text);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

/** Whether `range` is a range this module understands. */
export function isVersionRange(range: string): boolean {
  return toMatcher(range) !== undefined;
}

/** Whether `version` satisfies `range`. False when either cannot be parsed. */
export function satisfies(version: string | Version, range: string): boolean {
  const parsed = typeof version === "string" ? parseVersion(version) : version;
  const matcher = toMatcher(range);
  return parsed !== undefined && matcher !== undefined && matcher(parsed);
}

/** The range a client of contract version `version` accepts: same major, same or newer minor. */
export function compatibleRange(version: string): string {
  return `^${version}`;
}

const matchers = new Map<string, ((v: Version) => boolean) | undefined>();

function toMatcher(range: string): ((v: Version) => boolean) | undefined {
  let matcher = matchers.get(range);
  if (matcher === undefined && !matchers.has(range)) {
    matcher = buildMatcher(range.trim());
    if (matchers.size < 1000) matchers.set(range, matcher);
  }
  return matcher;
}

function buildMatcher(range: string): ((v: Version) => boolean) | undefined {
  if (range === "*" || range === "x" || range === "") return () => true;
  const match = /^(\^|~|>=|=)?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?$/.exec(withoutTag(range));
  if (!match) return undefined;
  const [, op = "", majorText, minorText, patchText] = match;
  const major = Number(majorText);
  const minor = minorText === undefined || minorText === "x" || minorText === "*" ? undefined : Number(minorText);
  const patch = patchText === undefined || patchText === "x" || patchText === "*" ? undefined : Number(patchText);
  const atLeast = (v: Version): boolean => compareVersions(v, [major, minor ?? 0, patch ?? 0]) >= 0;
  switch (op) {
    case ">=":
      return atLeast;
    case "^":
      // ^0.y.z only allows patch-level changes within 0.y, as npm's semver does.
      if (major === 0 && minor !== undefined) return (v) => v[0] === 0 && v[1] === minor && atLeast(v);
      return (v) => v[0] === major && atLeast(v);
    case "~":
      return (v) => v[0] === major && (minor === undefined || v[1] === minor) && atLeast(v);
    default:
      return (v) =>
        v[0] === major && (minor === undefined || v[1] === minor) && (patch === undefined || v[2] === patch);
  }
}

/** `range` without the pre-release or build tag of a whole version (`^1.2.3-beta.1` → `^1.2.3`); others unchanged. */
function withoutTag(range: string): string {
  const tagged = /^((?:\^|~|>=|=)?\d+\.\d+\.\d+)[-+][0-9A-Za-z.-]+$/.exec(range);
  return tagged ? tagged[1]! : range;
}

/** Orders two versions: negative when `a` is older, positive when newer. */
export function compareVersions(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}
