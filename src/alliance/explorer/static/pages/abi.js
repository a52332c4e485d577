// A contract's ABI in the page: one form field per parameter, typed by the type hint the ABI names,
// turned into the values a call takes, and answers shown by their declared type.
//
// Theory of operation. The ABI (GET /v1/contracts/{name}) names each parameter's type as the
// contract declares it: int, str, bytes, bool, Address, and list[T], dict[K, V], tuple[A, B],
// tuple[T, ...] of those (alliance/sdk/contracts.py reads the same names). `parseType` reads such
// a name; `fieldFor` gives a scalar a typed input and a composite a JSON text area (bytes and
// addresses as hex, as the command line takes them). `valueOf` converts what was typed into a value:
// for a view, verify.js encodes the argument list canonically (msgpack) in the page and the API runs
// it (`?args=hex`); for a call through the console, the values go as JSON and the console types
// them again with the SDK's own rules before it signs. A wrong value is an error naming the parameter.

import { hexToBytes } from "../verify.js";
import { addressLink, clear, errorBox, fmtInt, h } from "../ui.js";

const SCALARS = new Set(["int", "str", "bytes", "bool", "Address"]);

function splitTop(inner) {
  const parts = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    if (inner[i] === "[") depth++;
    else if (inner[i] === "]") depth--;
    else if (inner[i] === "," && depth === 0) {
      parts.push(inner.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(inner.slice(start).trim());
  return parts;
}

// {name, items}: name one of the scalars, "list", "dict", "tuple", "tuple..." (a tuple of any
// length of one type), or "unknown".
export function parseType(text) {
  const clean = String(text || "").trim();
  if (SCALARS.has(clean)) return { name: clean, items: [] };
  const match = /^(list|dict|tuple)\[(.*)\]$/.exec(clean);
  if (!match) return { name: "unknown", text: clean, items: [] };
  const items = splitTop(match[2]);
  if (match[1] === "tuple" && items.length === 2 && items[1] === "...") return { name: "tuple...", items: [parseType(items[0])] };
  return { name: match[1], items: items.map(parseType) };
}

function hexBytes(value, where, size = null) {
  if (typeof value !== "string") throw new Error(`${where} is ${size === 20 ? "an address" : "bytes"}: give hex text.`);
  let bytes;
  try {
    bytes = hexToBytes(value.trim());
  } catch {
    throw new Error(`${where} is not hex: “${value.slice(0, 24)}”.`);
  }
  if (size !== null && bytes.length !== size) throw new Error(`${where} is an address: 20 bytes (0x and 40 hex digits), got ${bytes.length}.`);
  return bytes;
}

// A JSON value (or, for a scalar field, its text) as `type` takes it: {encoded, json} where
// `encoded` is for verify.js's encoder (BigInt, Uint8Array, Map...) and `json` for the console.
export function valueOf(type, value, where) {
  switch (type.name) {
    case "int": {
      const text = typeof value === "number" ? String(value) : String(value ?? "").trim();
      if (!/^-?\d{1,40}$/.test(text)) throw new Error(`${where} is a whole number, not “${text}”.`);
      const big = BigInt(text);
      const safe = big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER);
      return { encoded: big, json: safe ? Number(big) : text };
    }
    case "bool":
      if (value === true || value === "true") return { encoded: true, json: true };
      if (value === false || value === "false") return { encoded: false, json: false };
      throw new Error(`${where} is true or false.`);
    case "str":
      if (typeof value !== "string") throw new Error(`${where} is text.`);
      return { encoded: value, json: value };
    case "bytes":
      return { encoded: hexBytes(value, where), json: String(value).trim() };
    case "Address":
      return { encoded: hexBytes(value, where, 20), json: String(value).trim() };
    case "list":
    case "tuple...": {
      if (!Array.isArray(value)) throw new Error(`${where} is a list: give a JSON array.`);
      const items = value.map((v, i) => valueOf(type.items[0], v, `${where}[${i}]`));
      return { encoded: items.map((v) => v.encoded), json: items.map((v) => v.json) };
    }
    case "tuple": {
      if (!Array.isArray(value) || value.length !== type.items.length) throw new Error(`${where} is a tuple of ${type.items.length}: give a JSON array of ${type.items.length}.`);
      const items = value.map((v, i) => valueOf(type.items[i], v, `${where}[${i}]`));
      return { encoded: items.map((v) => v.encoded), json: items.map((v) => v.json) };
    }
    case "dict": {
      if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error(`${where} is a mapping: give a JSON object.`);
      const encoded = new Map();
      const json = {};
      for (const [k, v] of Object.entries(value)) {
        const key = valueOf(type.items[0], k, `${where} key`);
        const item = valueOf(type.items[1], v, `${where}[${k}]`);
        encoded.set(key.encoded, item.encoded);
        json[k] = item.json;
      }
      return { encoded, json };
    }
    default:
      throw new Error(`${where} has a type this page does not know (${type.text}).`);
  }
}

let fieldCounter = 0;

// A labelled control for one ABI parameter; `read()` answers {encoded, json} or throws a sentence.
export function fieldFor(param) {
  const type = parseType(param.type);
  const id = `abi-${++fieldCounter}`;
  let control;
  let hint = null;
  if (type.name === "bool") {
    control = h("select", { id, name: param.name }, h("option", { value: "true" }, "true"), h("option", { value: "false" }, "false"));
  } else if (SCALARS.has(type.name)) {
    const placeholder = { int: "a whole number", str: "text", bytes: "hex, e.g. 0x0a1b", Address: "0x and 40 hex digits" }[type.name];
    control = h("input", { id, name: param.name, type: "text", placeholder, autocomplete: "off", spellcheck: "false", inputmode: type.name === "int" ? "numeric" : null });
  } else {
    control = h("textarea", { id, name: param.name, rows: 2, spellcheck: "false", placeholder: "JSON, e.g. [1, 2]" });
    hint = "JSON; bytes and addresses as hex strings.";
  }
  const read = () => {
    if (SCALARS.has(type.name)) return valueOf(type, control.value, param.name);
    let parsed;
    try {
      parsed = JSON.parse(control.value || "null");
    } catch (error) {
      throw new Error(`${param.name} is not JSON: ${error.message}.`);
    }
    return valueOf(type, parsed, param.name);
  };
  const label = h("label", { for: id }, param.name, " ", h("span", { class: "muted mono" }, param.type));
  return { element: h("div", { class: "field" }, label, control, hint ? h("p", { class: "hint" }, hint) : null), read, control };
}

// A method's answer (the API's JSON: 20 bytes as a checksummed 0x address, other bytes as hex
// without 0x: alliance/sdk/wire.py contract_value_json) shown by its declared return type.
export function resultView(typeText, value) {
  const type = parseType(typeText);
  const show = (t, v) => {
    if (v === null || v === undefined) return h("span", { class: "muted" }, "None");
    if (t.name === "Address" && typeof v === "string") return addressLink(`0x${v.replace(/^0x/, "")}`);
    if (t.name === "bytes" && typeof v === "string") return h("span", { class: "mono wrap" }, v ? `0x${v.replace(/^0x/, "")}` : "empty");
    if (t.name === "int" && typeof v === "number") return fmtInt(v);
    if (t.name === "bool") return v ? "true" : "false";
    if ((t.name === "list" || t.name === "tuple..." || t.name === "tuple") && Array.isArray(v)) {
      return v.length ? h("ol", { class: "args" }, v.map((item, i) => h("li", {}, show(t.name === "tuple" ? t.items[i] || { name: "unknown" } : t.items[0], item)))) : h("span", { class: "muted" }, "empty");
    }
    if (t.name === "dict" && v && typeof v === "object") {
      const entries = Object.entries(v);
      return entries.length ? h("dl", { class: "kv" }, entries.map(([k, item]) => h("div", { class: "kv-row" }, h("dt", {}, k), h("dd", {}, show(t.items[1], item))))) : h("span", { class: "muted" }, "empty");
    }
    return typeof v === "string" ? v : JSON.stringify(v);
  };
  return show(type, value);
}

// A form over some methods: pick one, fill its typed fields; `run(method, values, form)` acts and
// answers what to show under the form (an error is shown as its sentence).
export function methodForm(methods, label, run, { extra = () => [] } = {}) {
  if (!methods.length) return null;
  const selectId = `abi-${++fieldCounter}`;
  const select = h("select", { id: selectId, name: "method" }, methods.map((m) => h("option", { value: m.name }, m.name)));
  const fieldsBox = h("div", { class: "abi-fields" });
  const out = h("div", { class: "action-out", "aria-live": "polite" });
  let fields = [];
  const draw = () => {
    const method = methods.find((m) => m.name === select.value);
    fields = method.params.map(fieldFor);
    clear(fieldsBox).append(...fields.map((f) => f.element), method.params.length ? "" : h("p", { class: "hint" }, "It takes no arguments."));
  };
  select.addEventListener("change", () => {
    draw();
    clear(out);
  });
  draw();
  const button = h("button", { type: "submit" }, label);
  const form = h("form", { class: "action", "data-form": label.toLowerCase() }, ...extra(), h("div", { class: "field" }, h("label", { for: selectId }, "Method"), select), fieldsBox, h("div", { class: "actions" }, button), out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const method = methods.find((m) => m.name === select.value);
    let values;
    try {
      values = fields.map((f) => f.read());
    } catch (error) {
      clear(out).append(h("p", { class: "bad-text", role: "alert" }, error.message));
      return;
    }
    button.disabled = true;
    clear(out).append(h("p", { class: "muted" }, "Running…"));
    try {
      clear(out).append(await run(method, values, form));
    } catch (error) {
      clear(out).append(errorBox(error));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}
