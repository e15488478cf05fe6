/**
 * Reading JSON Schemas for people, as plain JavaScript that both the page
 * (`/dashboard.js`) and the command line (`amoeba describe`, through
 * schema-text.ts) run, so that both say the same:
 *
 * - `typeText(schema)`: the type as a TypeScript user reads it
 *   (`{ items: { sku: string; qty: number }[] }`), its constraints in
 *   comments (`// integer, 1 to 1000`), with no raw JSON Schema noise such
 *   as `"maximum": 9007199254740991` (the largest safe integer, which says nothing).
 * - `exampleOf(schema)`: a value that satisfies the schema — its own
 *   examples or default first, else one built within its bounds, formats
 *   and enums, with every required property and no optional one.
 */
export const SCHEMA_SCRIPT = String.raw`
var SAFE_MAX = 9007199254740991;

function schemaType(schema) {
  if (!schema || typeof schema !== "object") return undefined;
  var type = Array.isArray(schema.type) ? schema.type.filter(function (t) { return t !== "null"; })[0] : schema.type;
  if (type) return type;
  if (schema.properties) return "object";
  if (schema.items) return "array";
  return undefined;
}

function isNullable(schema) {
  return !!schema && ((Array.isArray(schema.type) && schema.type.indexOf("null") >= 0) || schema.nullable === true);
}

function numberBounds(schema) {
  var low = typeof schema.minimum === "number" && schema.minimum > -SAFE_MAX ? schema.minimum : undefined;
  var high = typeof schema.maximum === "number" && schema.maximum < SAFE_MAX ? schema.maximum : undefined;
  if (typeof schema.exclusiveMinimum === "number") low = schema.exclusiveMinimum;
  if (typeof schema.exclusiveMaximum === "number") high = schema.exclusiveMaximum;
  return { low: low, high: high, lowOpen: typeof schema.exclusiveMinimum === "number", highOpen: typeof schema.exclusiveMaximum === "number" };
}

function constraintsOf(schema) {
  var notes = [], type = schemaType(schema);
  if (type === "integer") notes.push("integer");
  if (type === "number" || type === "integer") {
    var b = numberBounds(schema);
    if (b.low !== undefined && b.high !== undefined) notes.push((b.lowOpen ? "> " : "") + b.low + (b.lowOpen || b.highOpen ? ", " + (b.highOpen ? "< " : "≤ ") : " to ") + b.high);
    else if (b.low !== undefined) notes.push((b.lowOpen ? "> " : "≥ ") + b.low);
    else if (b.high !== undefined) notes.push((b.highOpen ? "< " : "≤ ") + b.high);
    if (typeof schema.multipleOf === "number") notes.push("a multiple of " + schema.multipleOf);
  }
  if (type === "string") {
    if (schema.minLength !== undefined && schema.maxLength !== undefined) notes.push(schema.minLength + " to " + schema.maxLength + " characters");
    else if (schema.minLength) notes.push("at least " + schema.minLength + " characters");
    else if (schema.maxLength !== undefined) notes.push("at most " + schema.maxLength + " characters");
    if (schema.format) notes.push(schema.format);
    // A format says what its pattern (zod adds one) says, in a word.
    if (schema.pattern && !schema.format) notes.push("matches " + schema.pattern);
  }
  if (type === "array") {
    if (schema.minItems !== undefined && schema.maxItems !== undefined) notes.push(schema.minItems + " to " + schema.maxItems + " items");
    else if (schema.minItems) notes.push("at least " + schema.minItems + " items");
    else if (schema.maxItems !== undefined) notes.push("at most " + schema.maxItems + " items");
  }
  if (schema && schema.description) notes.push(schema.description);
  return notes;
}

function literal(value) { return JSON.stringify(value); }

function propName(name) { return /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name); }

// One line per property, with the property's constraints after it as a comment.
function typeLines(schema, indent, depth) {
  if (!schema || typeof schema !== "object" || Object.keys(schema).length === 0 || schema === true) return ["unknown"];
  if (depth > 8) return ["unknown"];
  var nullable = isNullable(schema) ? " | null" : "";
  if (schema.const !== undefined) return [literal(schema.const) + nullable];
  if (Array.isArray(schema.enum)) return [schema.enum.map(literal).join(" | ") + nullable];
  var union = schema.anyOf || schema.oneOf;
  if (Array.isArray(union)) {
    var parts = union.map(function (s) { return typeLines(s, indent, depth + 1).join("\n"); });
    return [parts.join(" | ")];
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length === 1) return typeLines(schema.allOf[0], indent, depth + 1);
  var type = schemaType(schema);
  if (type === "object") {
    var props = schema.properties || {}, keys = Object.keys(props), required = schema.required || [];
    var extra = schema.additionalProperties && typeof schema.additionalProperties === "object" ? typeLines(schema.additionalProperties, indent, depth + 1).join(" ") : null;
    if (keys.length === 0) return [(extra ? "Record<string, " + extra + ">" : "{}") + nullable];
    var lines = ["{"];
    keys.forEach(function (k) {
      var inner = typeLines(props[k], indent + "  ", depth + 1);
      var notes = constraintsOf(props[k]);
      var head = indent + "  " + propName(k) + (required.indexOf(k) >= 0 ? "" : "?") + ": ";
      var last = inner.length - 1;
      inner.forEach(function (line, i) {
        var text = (i === 0 ? head : "") + line + (i === last ? ";" : "");
        if (i === last && notes.length > 0) text += "  // " + notes.join(", ");
        lines.push(text);
      });
    });
    if (extra) lines.push(indent + "  [key: string]: " + extra + ";");
    lines.push(indent + "}" + nullable);
    return lines;
  }
  if (type === "array") {
    if (Array.isArray(schema.prefixItems)) return ["[" + schema.prefixItems.map(function (s) { return typeLines(s, indent, depth + 1).join(" "); }).join(", ") + "]" + nullable];
    var item = typeLines(schema.items, indent, depth + 1);
    var wrap = item.length === 1 && /[|&]/.test(item[0]) ? ["(" + item[0] + ")"] : item;
    wrap[wrap.length - 1] += "[]" + nullable;
    return wrap;
  }
  if (type === "integer" || type === "number") return ["number" + nullable];
  if (type === "string" || type === "boolean" || type === "null") return [type + (type === "null" ? "" : nullable)];
  return ["unknown"];
}

function typeText(schema) {
  var lines = typeLines(schema, "", 0);
  var notes = schemaType(schema) === "object" ? [] : constraintsOf(schema || {});
  if (notes.length > 0) lines[lines.length - 1] += "  // " + notes.join(", ");
  return lines.join("\n");
}

var FORMAT_EXAMPLES = {
  email: "user@example.com", uri: "https://example.com/", url: "https://example.com/", uuid: "00000000-0000-4000-8000-000000000000",
  "date-time": "2025-01-01T00:00:00Z", date: "2025-01-01", time: "12:00:00Z", ipv4: "127.0.0.1", ipv6: "::1", hostname: "example.com",
};

function exampleNumber(schema, integer) {
  var b = numberBounds(schema), value;
  if (b.low !== undefined) value = b.lowOpen ? (integer ? Math.floor(b.low) + 1 : b.low + 1) : b.low;
  else if (b.high !== undefined) value = Math.min(b.highOpen ? b.high - 1 : b.high, 1);
  else value = 1;
  if (b.high !== undefined && (b.highOpen ? value >= b.high : value > b.high)) value = b.highOpen ? (b.low + b.high) / 2 : b.high;
  if (integer) value = Math.ceil(value);
  if (typeof schema.multipleOf === "number" && schema.multipleOf > 0) value = Math.ceil(value / schema.multipleOf) * schema.multipleOf;
  return value;
}

var STRING_CANDIDATES = ["example", "a", "A", "x1", "a-1", "0", "1", "ab12", "Example", "EXAMPLE"];

function exampleString(schema) {
  if (schema.format && FORMAT_EXAMPLES[schema.format]) return FORMAT_EXAMPLES[schema.format];
  var min = typeof schema.minLength === "number" ? schema.minLength : 0, max = typeof schema.maxLength === "number" ? schema.maxLength : Infinity;
  var fit = function (text) {
    while (text.length < min) text += text.slice(-1) || "a";
    return text.slice(0, Math.max(min, Math.min(text.length, max)));
  };
  var pattern = null;
  try { pattern = schema.pattern ? new RegExp(schema.pattern, "u") : null; } catch (e) { pattern = null; }
  for (var i = 0; i < STRING_CANDIDATES.length; i++) {
    var text = fit(STRING_CANDIDATES[i]);
    if (!pattern || pattern.test(text)) return text;
  }
  return fit("example");
}

function exampleOf(schema, depth) {
  depth = depth || 0;
  if (!schema || typeof schema !== "object" || depth > 8) return null;
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  if (schema.default !== undefined) return schema.default;
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  var union = schema.anyOf || schema.oneOf;
  if (Array.isArray(union) && union.length) {
    var pick = union.filter(function (s) { return schemaType(s) !== "null"; })[0] || union[0];
    return exampleOf(pick, depth + 1);
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length === 1) return exampleOf(schema.allOf[0], depth + 1);
  var type = schemaType(schema);
  if (type === "object") {
    var out = {}, props = schema.properties || {}, required = schema.required || Object.keys(props);
    required.forEach(function (k) { if (props[k] !== undefined) out[k] = exampleOf(props[k], depth + 1); });
    return out;
  }
  if (type === "array") {
    if (Array.isArray(schema.prefixItems)) return schema.prefixItems.map(function (s) { return exampleOf(s, depth + 1); });
    var count = Math.max(1, schema.minItems || 0);
    if (schema.maxItems === 0) return [];
    var items = [];
    for (var i = 0; i < count; i++) items.push(exampleOf(schema.items, depth + 1));
    return items;
  }
  if (type === "integer") return exampleNumber(schema, true);
  if (type === "number") return exampleNumber(schema, false);
  if (type === "string") return exampleString(schema);
  if (type === "boolean") return true;
  if (type === "null") return null;
  return isNullable(schema) ? null : {};
}
`;
