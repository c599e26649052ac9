// Helpers shared by the explorer's views: DOM building (text only, never
// HTML from data), the JSON API client, number and time formatting, and
// expression snippets.

// h builds an element: h("a", {href: "#/x", class: "c", onclick: fn}, "text", child…).
// Strings become text nodes, so data is never parsed as HTML.
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "style") Object.assign(el.style, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// clear empties el and appends children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// ApiError is an error answer of the API: {error, code, message, position}.
export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error : `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
    this.sentence = body && body.message;
    this.position = body && body.position;
  }
}

// onAuthNeeded is called when the API answers 401 (set by app.js).
export const auth = { onAuthNeeded: () => {} };

// api fetches a JSON route: api("/api/query/count", {params: {expr}, signal}).
export async function api(path, opts = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(opts.params || {})) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => url.searchParams.append(k, x));
    else url.searchParams.set(k, v);
  }
  const init = { method: opts.method || "GET", signal: opts.signal, headers: {}, credentials: "same-origin" };
  if (opts.body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(opts.body);
  }
  // The first view's answers may already be on their way, or read
  // (boot.js).
  const early = init.method === "GET" && window.segdBoot ? window.segdBoot.take(url.href) : undefined;
  const res = await (early ? abortable(early, opts.signal) : fetch(url, init).then(readAnswer));
  const body = res.body;
  if (!res.ok) {
    const err = new ApiError(res.status, body);
    if (res.status === 401 && path !== "/api/login") {
      window.segdBoot?.drop();
      auth.onAuthNeeded();
    }
    throw err;
  }
  return body;
}

// readAnswer reads a response: {ok, status, body}, body null when it is
// not JSON (as boot.js reads the early answers).
async function readAnswer(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  return { ok: res.ok, status: res.status, body };
}

// abortable settles as p does, or rejects with an AbortError when signal
// is aborted first.
function abortable(p, signal) {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new DOMException("aborted", "AbortError"));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new DOMException("aborted", "AbortError"));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

// isAbort tells an aborted fetch (a newer request replaced it) from a failure.
export function isAbort(err) {
  return err && (err.name === "AbortError" || err.code === 20);
}

// num writes a number as Intl.NumberFormat("en-US") does: its digits in
// groups of three, and at most three decimals. It is written out because
// the first Intl formatter of a page costs 5 to 25 ms (ICU loads its
// locale data), more than anything else the page runs at its start.
export function num(n) {
  n = Number(n);
  if (!Number.isFinite(n)) return Number.isNaN(n) ? "NaN" : n > 0 ? "∞" : "-∞";
  const a = Math.abs(n);
  const s = Number.isInteger(a) || a >= 1e21 ? String(a) : a.toFixed(3).replace(/\.?0+$/, "");
  const dot = s.indexOf(".");
  const int = dot < 0 ? s : s.slice(0, dot);
  return (n < 0 && s !== "0" ? "-" : "") + int.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (dot < 0 ? "" : s.slice(dot));
}

// pct writes a share with a fixed number of decimals: a share that rounds
// to 0 but is not 0 reads "<1%" (or "<0.1%"), one that rounds to 100 but is
// not all ">99%", so that a few customers never read as none.
export function pct(x, digits = 1) {
  if (!Number.isFinite(x)) return "–";
  if (x === 0 || x === 1) return x * 100 + "%";
  const s = (x * 100).toFixed(digits);
  const step = 10 ** -digits;
  if (x > 0 && Number(s) === 0) return "<" + step.toFixed(digits) + "%";
  if (x < 1 && Number(s) >= 100) return ">" + (100 - step).toFixed(digits) + "%";
  return s + "%";
}

export function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return (i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)) + " " + units[i];
}

export function millis(micros) {
  if (micros === undefined) return "";
  return micros < 1000 ? (micros / 1000).toFixed(2) + " ms" : (micros / 1000).toFixed(0) + " ms";
}

const pad = (n) => String(n).padStart(2, "0");
export function dateTime(unix) {
  const d = new Date(unix * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function clock(unix) {
  const d = new Date(unix * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// ago says how long ago a Unix time was, roughly.
export function ago(unix, now = Date.now() / 1000) {
  const s = Math.max(0, Math.round(now - unix));
  if (s < 60) return s + "s ago";
  if (s < 3600) return Math.floor(s / 60) + " min ago";
  if (s < 86400) return Math.floor(s / 3600) + " h ago";
  return Math.floor(s / 86400) + " d ago";
}

// debounce calls fn ms after the last call; flush calls a pending one now.
export function debounce(fn, ms) {
  let t;
  let pending = null;
  const d = (...args) => {
    clearTimeout(t);
    pending = args;
    t = setTimeout(() => {
      pending = null;
      fn(...args);
    }, ms);
  };
  d.cancel = () => {
    clearTimeout(t);
    pending = null;
  };
  d.flush = () => {
    if (pending === null) return;
    const args = pending;
    d.cancel();
    fn(...args);
  };
  return d;
}

// quoteValue writes a value so that the expression parser reads it back:
// bare when it can be, else double-quoted with \" and \\.
export function quoteValue(v) {
  if (/^[^\s"',()\[\]]+$/.test(v) && v !== "*") return v;
  return '"' + v.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
}

// predicate is the expression of one value of a field: INT buckets read
// "[lo TO hi]" and paste as a range.
export function predicate(field, value) {
  if (/^\[-?\d+ TO -?\d+\]$/.test(value)) return `${field}:${value}`;
  return `${field}:${quoteValue(value)}`;
}

// replaceRoute changes the address of the view shown (no new render, no
// history entry): the builder keeps its expression in it.
export function replaceRoute(href) {
  history.replaceState(null, "", href);
  document.getElementById("view").dataset.route = location.hash;
}

export const hrefs = {
  builder: (expr) => "#/builder" + (expr ? "?expr=" + encodeURIComponent(expr) : ""),
  segment: (name) => "#/segment/" + encodeURIComponent(name),
  customer: (key) => "#/customer/" + encodeURIComponent(key),
};

// customerLink is a key linking to its customer view.
export function customerLink(key) {
  return h("a", { href: hrefs.customer(key), class: "key" }, key);
}

// errorBox shows an error as a sentence for the people using the page,
// with the server's own text below it, smaller (see friendly).
export function errorBox(err, props = {}) {
  const { sentence, detail } = friendly(err);
  return h(
    "div",
    { class: "error", role: "alert", ...props },
    h("span", { class: "error-text" }, sentence),
    detail && detail !== sentence ? h("small", { class: "error-detail" }, detail) : null,
  );
}

// friendly turns an error of the API (or of the network) into
// {sentence, detail}: the common ones into a sentence that needs no
// knowledge of Redis error codes, the rest into the server's sentence
// without its code. detail is the server's text as it came.
export function friendly(err) {
  const detail = err && err.message ? err.message : String(err);
  if (!(err instanceof ApiError)) {
    if (err instanceof TypeError) return { sentence: "The explorer cannot reach segd: check that the server is running, then try again.", detail };
    return { sentence: detail, detail: "" };
  }
  const msg = err.sentence || detail.replace(/^[A-Z]{3,} /, "");
  for (const [code, re, say] of friendlies) {
    if (code && code !== err.code) continue;
    const m = re.exec(msg);
    if (m) return { sentence: say(...m.slice(1)), detail };
  }
  return { sentence: msg.charAt(0).toUpperCase() + msg.slice(1), detail };
}

// friendlies: [code or "", pattern of the message, sentence of its groups].
const friendlies = [
  ["", /^segment '(.*)' exists/, (n) => `A segment named “${n}” already exists; tick “replace if it exists” to overwrite it, or choose another name.`],
  ["", /^invalid segment name/, () => "A segment name is 1 to 128 letters, digits, '_', '.', ':' or '-', without spaces."],
  ["", /^unknown segment '(.*)'/, (n) => `There is no segment named “${n}”: it may have been deleted or renamed. See the list of segments.`],
  ["", /^unknown field '(.*?)'(?:.*did you mean '?([^'?]+)'?\??)?/, (n, s) => `No customer has a field named “${n}”.` + (s ? ` Did you mean “${s}”?` : " Check its spelling on the Fields page.")],
  ["", /^segment '(.*)' cannot reference '@(.*)'/, (n, r) => `“${n}” cannot use @${r}: @${r} already uses “${n}”, so each would depend on the other.`],
  ["", /^segment '(.*)' is referenced by segment '(.*)'/, (n, u) => `“${u}” is built on “${n}”: change or delete “${u}” first.`],
  ["", /^syntax error at (\d+): (.*)/, (at, why) => `The expression has a mistake at character ${at} (marked above): ${why}.`],
  ["", /^expression of .* longer than the limit/, () => "The expression is longer than this server accepts; shorten it, or save parts of it as segments and use them with @name."],
  ["", /read-only/, () => "This explorer is read-only: it can show segments but not save them."],
  ["", /writes are refused/, () => "segd cannot save changes right now (its disk is nearly full, or writing failed); reading still works. Tell whoever runs the server."],
  ["WRONGTYPE", /./, () => "This field's kind does not allow that: break down by an ENUM or TAGS field, and compare INT fields with >=, <= or a range."],
  ["LOADING", /./, () => "segd is still loading its data; try again in a moment."],
  ["WRONGPASS", /./, () => "Wrong password: use the one the server was started with."],
  ["NOAUTH", /./, () => "Log in first: this server asks for a password."],
];

export function kindBadge(kind) {
  return h("span", { class: "badge kind-" + kind.toLowerCase() }, kind);
}

// section is a titled card.
export function section(title, ...children) {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}
