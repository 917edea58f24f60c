/**
 * protobufjs's parser keeps names as keys of plain objects (a namespace's `nested`, a type's
 * `fields`, an enum's `values`), so a name Object.prototype has (`__proto__`, `constructor`,
 * `toString`, ...) is lost or read from the prototype: `__proto__` silently disappears,
 * `constructor` resolves to the Object function. protoc accepts these names. The protobufjs front
 * end therefore rewrites them in the source before parsing, to names no .proto file can clash
 * with, and maps them back when it builds the model:
 * - an identifier that is one of those names, or that already starts with the escape prefix,
 *   gets the prefix (`constructor` -> `__sgwire_esc_constructor`), which makes the mapping
 *   one-to-one: a user's own `__sgwire_esc_x` becomes `__sgwire_esc___sgwire_esc_x`;
 * - strings and comments are left as they are (an import path, a default string value), and
 *   line numbers do not change, so the parser's errors still point at the right line.
 */

const PREFIX = "__sgwire_esc_";
const OBJECT_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));

const needsEscape = (id: string): boolean => OBJECT_NAMES.has(id) || id.startsWith(PREFIX);

/** The source with every identifier that protobufjs cannot keep escaped (see above). */
export function escapeNames(source: string): string {
  let out = "";
  let last = 0;
  const n = source.length;
  let i = 0;
  while (i < n) {
    const c = source[i]!;
    if (c === "/" && source[i + 1] === "/") {
      const e = source.indexOf("\n", i);
      i = e < 0 ? n : e;
    } else if (c === "/" && source[i + 1] === "*") {
      const e = source.indexOf("*/", i + 2);
      i = e < 0 ? n : e + 2;
    } else if (c === '"' || c === "'") {
      i++;
      while (i < n && source[i] !== c && source[i] !== "\n") i += source[i] === "\\" ? 2 : 1;
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < n && /[A-Za-z0-9_]/.test(source[i]!)) i++;
      const id = source.slice(start, i);
      if (needsEscape(id)) {
        out += source.slice(last, start) + PREFIX + id;
        last = i;
      }
    } else if (/[0-9]/.test(c)) {
      while (i < n && /[A-Za-z0-9_.]/.test(source[i]!)) i++; // 1e5, 0x1F, 1.5: not identifiers
    } else i++;
  }
  return last === 0 ? source : out + source.slice(last);
}

/** A name (or a dotted full name, or a message) as the .proto file spells it. */
export function unescapeNames(text: string): string {
  if (!text.includes(PREFIX)) return text;
  return text.replace(/[A-Za-z0-9_]+/g, (id) => (id.startsWith(PREFIX) ? id.slice(PREFIX.length) : id));
}
