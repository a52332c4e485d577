// Reading the node's API: JSON over relative URLs, errors as sentences, the live block stream.
//
// Theory of operation. Every request goes to the origin that served the page (relative URLs), so the
// same pages work on a node and behind the console, which forwards /v1. A refusal arrives as problem
// JSON (RFC 9457); its "detail" is already a sentence for people and becomes the error's message. A
// network failure becomes a sentence too. Requests fan out through `mapLimit`, never more than a few
// at a time, and every page asks for a bounded number of them (see the page modules).
//
// `subscribe` follows GET /v1/stream (one message per committed block). When the socket closes, it
// reconnects with a growing pause and resumes from the height after the last one it delivered,
// so a page sees each block once, in order, across reconnects.

export class ApiError extends Error {
  constructor(message, { status = 0, code = "" } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

export function sentence(text) {
  const trimmed = String(text || "").trim();
  if (!trimmed) return "";
  const first = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

async function readAnswer(response, path) {
  const type = response.headers.get("content-type") || "";
  let body = null;
  if (type.includes("json")) {
    try {
      body = await response.json();
    } catch {
      body = null;
    }
  }
  if (!response.ok) {
    const detail = body && typeof body.detail === "string" ? body.detail : `the node answered HTTP ${response.status} to ${path}`;
    throw new ApiError(sentence(detail), { status: response.status, code: (body && body.code) || "" });
  }
  if (body === null) throw new ApiError(`The node answered ${path} with something that is not JSON.`);
  return body;
}

export async function getJSON(path) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
  } catch {
    throw new ApiError("The node did not answer. Is it still running? Reload the page to try again.", { code: "unreachable" });
  }
  return readAnswer(response, path);
}

export async function postJSON(path, payload) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify(payload),
      cache: "no-store",
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError("The console did not answer. Is `alliance console` still running?", { code: "unreachable" });
  }
  return readAnswer(response, path);
}

// fn over items with at most `limit` calls in flight; answers the results in order.
export async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

// One /v1/status per page load, shared by whoever asks (the chain bar and the page).
let statusPromise = null;
export function statusOnce() {
  if (!statusPromise) statusPromise = getJSON("/v1/status");
  return statusPromise;
}

const RECONNECT_MS_MIN = 1000;
const RECONNECT_MS_MAX = 15000;

// Calls onBlock(message) for each committed block from `fromHeight`; onState("live" | "waiting")
// as the connection comes and goes. Answers a function that stops it.
export function subscribe(fromHeight, onBlock, onState = () => {}) {
  let next = fromHeight;
  let socket = null;
  let stopped = false;
  let pauseMs = RECONNECT_MS_MIN;
  let timer = null;
  const open = () => {
    if (stopped) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/v1/stream?from_height=${next}`);
    socket.onopen = () => {
      pauseMs = RECONNECT_MS_MIN;
      onState("live");
    };
    socket.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type !== "block" || message.height < next) return;
      next = message.height + 1;
      onBlock(message);
    };
    socket.onclose = () => {
      if (stopped) return;
      onState("waiting");
      timer = setTimeout(open, pauseMs);
      pauseMs = Math.min(pauseMs * 2, RECONNECT_MS_MAX);
    };
  };
  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    if (socket) socket.close();
  };
}
