/**
 * Leading comments of services and methods, read from .proto source the way protoc records them
 * in SourceCodeInfo (`leading_comments`), so `sgwire compile` carries the same comments as the
 * plugin gets from protoc. protobufjs's parser keeps comments by rules of its own (it strips
 * `*`s and indentation, and takes a trailing comment when there is no leading one), so this file
 * scans the source itself, following protoc's tokenizer:
 * - the comments between the end of the previous declaration (`;`, `{` or `}`) and a
 *   declaration's first token belong to it when nothing but a line break separates the last of
 *   them from that token; a blank line detaches the comments before it;
 * - a comment on the same line as the previous token is that token's trailing comment;
 * - consecutive `//` lines form one comment; each `/* ... *\/` is a comment of its own;
 * - the text is kept as protoc keeps it: a `//` comment is what follows `//` up to and including
 *   the line break; a block comment is what lies between `/*` and `*\/`, with the whitespace and
 *   one `*` at the start of each continuation line removed.
 */

interface Token {
  text: string;
  /** 0-based line of the token */
  line: number;
  /** protoc's leading comments of this token, if any */
  leading?: string;
}

const WS_NO_NEWLINE = new Set([" ", "\t", "\r", "\v", "\f"]);

/** Every token of `source`, each with the leading comments protoc would give it. */
function tokenize(source: string): Token[] {
  const n = source.length;
  let i = 0;
  let line = 0;
  if (source.charCodeAt(0) === 0xfeff) i = 1; // byte order mark

  const skipWsNoNewline = () => {
    while (i < n && WS_NO_NEWLINE.has(source[i]!)) i++;
  };
  const commentStart = (): "line" | "block" | "slash" | "none" => {
    if (source[i] !== "/") return "none";
    if (source[i + 1] === "/") {
      i += 2;
      return "line";
    }
    if (source[i + 1] === "*") {
      i += 2;
      return "block";
    }
    return "slash";
  };
  const lineComment = (): string => {
    const start = i;
    while (i < n && source[i] !== "\n") i++;
    if (i < n) {
      i++;
      line++;
    }
    return source.slice(start, i);
  };
  const blockComment = (): string => {
    let text = "";
    let from = i;
    for (;;) {
      while (i < n && source[i] !== "*" && source[i] !== "/" && source[i] !== "\n") i++;
      if (i >= n) {
        text += source.slice(from, i);
        return text;
      }
      if (source[i] === "\n") {
        i++;
        line++;
        text += source.slice(from, i);
        skipWsNoNewline();
        if (source[i] === "*") {
          i++;
          if (source[i] === "/") {
            i++;
            return text;
          }
        }
        from = i;
      } else if (source[i] === "*" && source[i + 1] === "/") {
        text += source.slice(from, i);
        i += 2;
        return text;
      } else i++;
    }
  };
  /** A token at `i` (which is not whitespace nor a comment), or null at the end. */
  const readToken = (): Token | null => {
    if (i >= n) return null;
    const start = i;
    const c = source[i]!;
    if (/[A-Za-z0-9_]/.test(c)) {
      while (i < n && /[A-Za-z0-9_.]/.test(source[i]!)) i++;
    } else if (c === '"' || c === "'") {
      i++;
      while (i < n && source[i] !== c && source[i] !== "\n") i += source[i] === "\\" ? 2 : 1;
      if (source[i] === c) i++;
    } else i++;
    return { text: source.slice(start, i), line };
  };
  /** protoc's Next(): skips whitespace and comments. */
  const next = (): Token | null => {
    for (;;) {
      while (i < n && (WS_NO_NEWLINE.has(source[i]!) || source[i] === "\n")) {
        if (source[i] === "\n") line++;
        i++;
      }
      const kind = commentStart();
      if (kind === "line") lineComment();
      else if (kind === "block") blockComment();
      else return readToken();
    }
  };

  /** protoc's NextWithComments(): the next token with its leading comments. */
  const nextWithComments = (first: boolean): Token | null => {
    const prevLine = line;
    let trailingEndLine = -1;
    let buffer = "";
    let has = false;
    let isLine = false;
    let flushed = 0;
    const flush = () => {
      if (!has) return;
      // protoc: the first comment flushed is the previous token's trailing comment, later ones are detached
      flushed++;
      buffer = "";
      has = false;
    };
    const addLine = (text: string) => {
      if (has && !isLine) flush();
      buffer += text;
      has = true;
      isLine = true;
    };
    const addBlock = (text: string) => {
      if (has) flush();
      buffer = text;
      has = true;
      isLine = false;
    };
    if (!first) {
      skipWsNoNewline();
      switch (commentStart()) {
        case "line":
          trailingEndLine = line;
          addLine(lineComment());
          flush();
          break;
        case "block":
          addBlock(blockComment());
          trailingEndLine = line;
          skipWsNoNewline();
          if (source[i] !== "\n") return next();
          i++;
          line++;
          flush();
          break;
        case "slash":
          return readToken();
        case "none":
          if (source[i] !== "\n") return next();
          i++;
          line++;
      }
    }
    for (;;) {
      skipWsNoNewline();
      switch (commentStart()) {
        case "line":
          addLine(lineComment());
          break;
        case "block":
          addBlock(blockComment());
          skipWsNoNewline();
          if (source[i] === "\n") {
            i++;
            line++;
          }
          break;
        case "slash":
          return readToken();
        case "none": {
          if (source[i] === "\n") {
            // a blank line: what came before it is not a leading comment
            i++;
            line++;
            flush();
            break;
          }
          const token = next();
          if (token === null || token.text === "}" || token.text === "]" || token.text === ")") flush();
          // on the same line as the previous token (or its trailing comment): a lone comment is detached
          if (token !== null && (prevLine === token.line || trailingEndLine === token.line) && flushed + (has ? 1 : 0) === 1) flush();
          if (token !== null && has) token.leading = buffer;
          return token;
        }
      }
    }
  };

  const tokens: Token[] = [];
  let previous: Token | null = null;
  for (let t = nextWithComments(true); t !== null; t = previous !== null && isEndOfDeclaration(previous) ? nextWithComments(false) : next()) {
    tokens.push(t);
    previous = t;
  }
  return tokens;
}

/** protoc's parser reads comments after these (ConsumeEndOfDeclaration). */
const isEndOfDeclaration = (t: Token) => t.text === ";" || t.text === "{" || t.text === "}";

/** Leading comments of a file's services and of their methods, by name. */
export interface ServiceComments {
  comment?: string;
  methods: Map<string, string | undefined>;
}

/**
 * The leading comments protoc records for each top-level `service` of `source` and for each of its
 * `rpc`s (by name, as written in the source).
 */
export function serviceComments(source: string): Map<string, ServiceComments> {
  const tokens = tokenize(source);
  const out = new Map<string, ServiceComments>();
  let depth = 0;
  let service: ServiceComments | undefined;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    const prev = tokens[k - 1];
    const atStatement = prev === undefined || isEndOfDeclaration(prev);
    if (t.text === "{") depth++;
    else if (t.text === "}") {
      depth--;
      if (service !== undefined && depth === 0) service = undefined;
    } else if (atStatement && depth === 0 && t.text === "service" && tokens[k + 1] !== undefined && tokens[k + 2]?.text === "{") {
      service = { ...(t.leading !== undefined ? { comment: t.leading } : {}), methods: new Map() };
      out.set(tokens[k + 1]!.text, service);
    } else if (atStatement && service !== undefined && depth === 1 && t.text === "rpc" && tokens[k + 1] !== undefined) {
      service.methods.set(tokens[k + 1]!.text, t.leading);
    }
  }
  return out;
}
