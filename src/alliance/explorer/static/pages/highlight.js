// Python source highlighted for reading: a small tokenizer of our own (no library, nothing fetched).
//
// Theory of operation. `tokenize` walks the source once with sticky regular expressions, in the
// order Python's own tokenizer gives precedence: comments, strings (any prefix, single, double and
// triple quoted, which may span lines), numbers, names (keywords, the contract API's names and
// builtins told apart), decorators, operators, spaces. Every character belongs to exactly one token,
// so joining the tokens gives the source back (the tests check it). `highlighted` renders the tokens
// line by line into a numbered listing, as text nodes in spans: the source is never parsed as HTML.
// A contract is at most 60 KiB, so one pass over it is instant.

import { h } from "../ui.js";

const KEYWORDS = new Set([
  "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
  "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or",
  "pass", "raise", "return", "try", "while", "with", "yield", "match", "case",
]);
const BUILTINS = new Set([
  "abs", "all", "any", "bool", "bytes", "dict", "enumerate", "filter", "int", "isinstance", "len", "list", "map", "max",
  "min", "range", "reversed", "sorted", "str", "sum", "tuple", "zip", "divmod", "pow", "round", "set", "frozenset",
]);
// The names a contract imports from alliance.contract (alliance/contract.py).
const CONTRACT_API = new Set(["Address", "ctx", "emit", "public", "require", "storage", "view", "call", "query"]);

const RULES = [
  ["comment", /#[^\n]*/y],
  ["string", /(?:[rRbBuUfF]{1,2})?(?:"""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)|"(?:[^"\\\n]|\\[\s\S])*(?:"|(?=\n)|$)|'(?:[^'\\\n]|\\[\s\S])*(?:'|(?=\n)|$))/y],
  ["number", /(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][+-]?\d+)?[jJ]?)/y],
  ["decorator", /@[A-Za-z_][A-Za-z0-9_.]*/y],
  ["name", /[A-Za-z_][A-Za-z0-9_]*/y],
  ["space", /[ \t\r\n]+/y],
  ["op", /\*\*=?|\/\/=?|->|:=|<<=?|>>=?|[-+*/%@&|^~<>!=]=?|[()[\]{},:;.\\]/y],
];

// [{kind, text}], kinds: comment, string, number, decorator, keyword, builtin, api, def (the name
// after def or class), name, space, op, other.
export function tokenize(source) {
  const tokens = [];
  let at = 0;
  let afterDef = false;
  while (at < source.length) {
    let matched = null;
    for (const [kind, pattern] of RULES) {
      pattern.lastIndex = at;
      const found = pattern.exec(source);
      if (found && found[0].length > 0) {
        matched = { kind, text: found[0] };
        break;
      }
    }
    if (!matched) matched = { kind: "other", text: source[at] };
    if (matched.kind === "name") {
      const word = matched.text;
      if (afterDef) matched.kind = "def";
      else if (KEYWORDS.has(word)) matched.kind = "keyword";
      else if (CONTRACT_API.has(word)) matched.kind = "api";
      else if (BUILTINS.has(word)) matched.kind = "builtin";
      afterDef = word === "def" || word === "class";
    } else if (matched.kind !== "space") {
      afterDef = false;
    }
    tokens.push(matched);
    at += matched.text.length;
  }
  return tokens;
}

// A numbered listing of `source`, one row per line, tokens as spans of class tok-<kind>.
export function highlighted(source) {
  const lines = [[]];
  for (const token of tokenize(source)) {
    const pieces = token.text.split("\n");
    pieces.forEach((piece, i) => {
      if (i > 0) lines.push([]);
      if (piece) lines.at(-1).push(token.kind === "space" || token.kind === "name" || token.kind === "op" ? piece : h("span", { class: `tok-${token.kind}` }, piece));
    });
  }
  if (lines.length > 1 && lines.at(-1).length === 0) lines.pop(); // the final newline ends the last line
  const width = String(lines.length).length;
  return h("pre", { class: "code", tabindex: "0", "aria-label": `Source, ${lines.length} lines` },
    h("code", {}, lines.map((parts, i) => h("span", { class: "code-line" },
      h("span", { class: "code-number", "aria-hidden": "true" }, String(i + 1).padStart(width, " ")),
      h("span", { class: "code-text" }, parts.length ? parts : "\u200b"), "\n"))));
}
