// Segment builder: type an expression and see, as you type, how many
// customers match (QUERY.COUNT, debounced), where a syntax error is, a
// breakdown by any ENUM or TAGS field (QUERY.GROUPBY … WHERE), a few
// members, and save it as a segment (SEGMENT.CREATE).

import { h, fill, api, isAbort, num, pct, millis, debounce, hrefs, predicate, customerLink, kindBadge, replaceRoute, errorBox } from "./lib.js";
import { bars } from "./charts.js";

const DEBOUNCE_MS = 150;
const SAMPLE = 12;
const BREAKDOWN = 15; // values shown; the answer says how many more there are

export async function builderView(view, ctx) {
  // The count of the expression in the address is asked for at once, with
  // the schema (the text box and the chips need it), not after it.
  const initial = (ctx.query.get("expr") || "").trim();
  let early = initial ? api("/api/query/count", { params: { expr: initial }, signal: ctx.signal }) : null;
  early?.catch(() => {}); // handled when taken
  const [info, fieldsData, segsData] = await Promise.all([
    ctx.info(),
    api("/api/fields", { signal: ctx.signal }),
    api("/api/segments", { signal: ctx.signal }),
  ]);
  const fields = fieldsData.fields;
  const groupable = fields.filter((f) => f.kind === "ENUM" || f.kind === "TAGS");
  let total = info.entities;

  // ---- the expression and its count ----
  const input = h("textarea", {
    id: "expr",
    rows: 3,
    spellcheck: false,
    autocomplete: "off",
    "aria-label": "Expression",
    placeholder: "country:PT AND age:[25 TO 35] AND NOT @churned",
  });
  input.value = ctx.query.get("expr") || "";
  const status = h("div", { id: "expr-status", class: "expr-status", "aria-live": "polite" });
  const countNum = h("div", { id: "count", class: "count-num" }, "–");
  const countNote = h("div", { class: "count-note muted" }, "Type an expression");
  const countBox = h("div", { class: "count-box" }, countNum, countNote);

  const insert = (text) => {
    const { selectionStart: s, selectionEnd: e, value } = input;
    const pre = value.slice(0, s);
    const sep = pre && !/[\s(]$/.test(pre) ? " " : "";
    input.value = pre + sep + text + value.slice(e);
    input.focus();
    const at = (pre + sep + text).length;
    input.setSelectionRange(at, at);
    run();
  };
  const chips = h(
    "div",
    { class: "chips" },
    h("span", { class: "muted" }, "Insert:"),
    fields.map((f) =>
      h("button", { type: "button", class: "chip", title: `${f.name} is ${f.kind}`, onclick: () => insert(snippet(f)) }, f.name, " ", kindBadge(f.kind)),
    ),
    segsData.segments.map((s) => h("button", { type: "button", class: "chip seg", title: s.expr, onclick: () => insert("@" + s.name) }, "@" + s.name)),
  );

  // ---- breakdown ----
  // By the field chosen (in the address or the list), else by the first
  // field with a handful of values that the expression does not name
  // (byFields): a field it fixes would show one bar of 100%.
  let chosenBy = groupable.some((f) => f.name === ctx.query.get("by")) ? ctx.query.get("by") : "";
  const segFields = new Map(segsData.segments.map((s) => [s.name, s.fields || []]));
  const autoBy = (expr, skip = new Set()) => breakdownFields(groupable, fieldsNamed(expr, fields, segFields)).find((f) => !skip.has(f)) || "";
  const bySelect = h(
    "select",
    { id: "breakdown-field", "aria-label": "Break down by" },
    groupable.map((f) => h("option", { value: f.name }, f.name)),
  );
  bySelect.value = chosenBy || autoBy(initial);
  const breakdown = h("div", { id: "breakdown" }, h("p", { class: "muted" }, "The breakdown shows once the expression is valid."));

  // ---- sample ----
  const sampleList = h("ul", { id: "sample", class: "keys" });
  const sampleBtn = h("button", { type: "button", class: "secondary", onclick: () => loadSample(input.value.trim()) }, "Another sample");

  // ---- save ----
  const nameInput = h("input", { id: "segment-name", placeholder: "segment name", pattern: "[A-Za-z0-9_.:\\-]{1,128}", required: true, spellcheck: false, "aria-label": "Segment name" });
  const replace = h("input", { type: "checkbox", id: "segment-replace" });
  const saveMsg = h("div", { id: "save-result", "aria-live": "polite" });
  const saveForm = h(
    "form",
    { class: "save", onsubmit: (ev) => (ev.preventDefault(), save()) },
    nameInput,
    h("label", { class: "inline" }, replace, " replace if it exists"),
    h("button", { type: "submit", id: "save", disabled: !info.writable }, "Save as segment"),
    info.writable ? null : h("span", { class: "muted" }, "This explorer is read-only."),
  );

  fill(
    view,
    h("div", { class: "page-head" }, h("h1", {}, "Segment builder"), h("p", { class: "muted" }, "Counts are exact and live: every keystroke asks the server (debounced).")),
    h("section", { class: "card builder" }, h("div", { class: "expr-row" }, h("div", { class: "expr-col" }, input, status, chips), countBox)),
    h(
      "div",
      { class: "grid two" },
      h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, "Breakdown"), h("label", { class: "inline" }, "by ", bySelect)), breakdown),
      h(
        "div",
        { class: "stack" },
        h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, "Members"), sampleBtn), sampleList),
        h("section", { class: "card" }, h("h2", {}, "Save as segment"), saveForm, saveMsg, cheatSheet()),
      ),
    ),
  );

  // ---- behaviour ----
  let ctl = null;
  let seq = 0;
  let lastCount = null;
  ctx.signal.addEventListener("abort", () => ctl && ctl.abort());

  const run = debounce(async () => {
    const expr = input.value.trim();
    replaceRoute(builderHref(expr, chosenBy));
    if (!chosenBy) bySelect.value = autoBy(expr);
    if (ctl) ctl.abort();
    ctl = new AbortController();
    const my = ++seq;
    if (!expr) {
      lastCount = null;
      countNum.textContent = "–";
      countNum.dataset.count = "";
      countNote.textContent = "Type an expression";
      fill(status);
      input.removeAttribute("aria-invalid");
      ctx.complete();
      return;
    }
    countBox.classList.add("pending");
    try {
      const t0 = performance.now();
      const asked = early && expr === initial ? early : api("/api/query/count", { params: { expr }, signal: ctl.signal });
      early = null;
      const r = await asked;
      if (my !== seq) return;
      countNum.dataset.rttMs = (performance.now() - t0).toFixed(1); // the round trip, for the timing tests
      lastCount = r.count;
      countNum.textContent = num(r.count);
      countNum.dataset.count = String(r.count);
      countNum.dataset.expr = expr;
      fill(countNote, total ? `${pct(r.count / total)} of ${num(total)} customers` : "customers", h("span", { class: "timing" }, `counted in ${millis(r.micros)}`));
      countBox.classList.remove("pending", "invalid");
      input.removeAttribute("aria-invalid");
      if (r.hints && r.hints.length) fill(status, h("p", { class: "hint", "data-hints": "" }, "Matches nobody? " + r.hints.join("; ") + "."));
      else fill(status);
      ctx.section("count");
      ctx.ready();
      const signal = ctl.signal;
      Promise.all([loadBreakdown(expr, signal), loadSample(expr, signal)]).then(() => {
        if (input.value.trim() === expr) ctx.complete();
      });
    } catch (err) {
      if (isAbort(err) || my !== seq) return;
      showError(expr, err);
      ctx.complete();
    }
  }, DEBOUNCE_MS);

  function showError(expr, err) {
    countBox.classList.remove("pending");
    countBox.classList.add("invalid");
    countNum.textContent = "–";
    countNum.dataset.count = "";
    countNote.textContent = "fix the expression";
    input.setAttribute("aria-invalid", "true");
    if (err.position) {
      // The position counts characters (code points) from 1.
      const cps = Array.from(expr);
      const i = Math.min(err.position - 1, cps.length);
      const at = cps[i];
      fill(
        status,
        h(
          "pre",
          { class: "expr-echo", id: "expr-echo" },
          cps.slice(0, i).join(""),
          h("mark", { id: "error-mark", title: "position " + err.position }, at === undefined || at === " " ? "␣" : at),
          cps.slice(i + 1).join(""),
        ),
        errorBox(err, { id: "expr-error" }),
      );
    } else {
      fill(status, errorBox(err, { id: "expr-error" }));
    }
  }

  // loadBreakdown shows the members by bySelect's field; a field chosen
  // for them that holds one value for every member is passed over (skip).
  async function loadBreakdown(expr, signal, skip = new Set()) {
    const field = bySelect.value;
    if (!field) {
      fill(breakdown, h("p", { class: "muted" }, "No ENUM or TAGS field to break down by."));
      return;
    }
    try {
      const r = await api("/api/query/groupby", { params: { field, where: expr, limit: BREAKDOWN }, signal });
      if (input.value.trim() !== expr || bySelect.value !== field) return;
      const fixed = r.values.length === 1 && !r.more && r.values[0].entities === lastCount;
      if (fixed && !chosenBy && autoBy(expr, skip.add(field))) {
        bySelect.value = autoBy(expr, skip);
        return loadBreakdown(expr, signal, skip);
      }
      if (r.values.length === 0) {
        fill(breakdown, h("p", { class: "muted" }, `No member holds a value of ${field}.`));
        return;
      }
      fill(
        breakdown,
        bars(
          r.values.map((v) => ({
            label: v.value,
            value: v.entities,
            note: lastCount ? pct(v.entities / lastCount, 0) : "",
            href: hrefs.builder(`(${expr}) AND ${predicate(field, v.value)}`),
            title: `Narrow to ${field}:${v.value}`,
          })),
        ),
        r.more ? h("p", { class: "muted small", id: "breakdown-more" }, `and ${num(r.more)} more ${r.more === 1 ? "value" : "values"} of ${field}, each held by fewer members`) : null,
      );
      breakdown.dataset.field = field;
      breakdown.dataset.expr = expr;
      ctx.section("breakdown");
    } catch (err) {
      if (!isAbort(err)) fill(breakdown, errorBox(err));
    }
  }

  // loadSample shows a few members, starting at a random point of the
  // key space so that "another sample" shows others.
  async function loadSample(expr, signal) {
    if (!expr) return;
    try {
      const start = Math.floor(Math.random() * Math.max(1, total));
      let r = await api("/api/query/members", { params: { expr, cursor: start, count: SAMPLE }, signal });
      let keys = r.keys;
      if (keys.length < SAMPLE && start > 0) {
        const more = await api("/api/query/members", { params: { expr, cursor: 0, count: SAMPLE - keys.length }, signal });
        keys = keys.concat(more.keys.filter((k) => !keys.includes(k)));
      }
      if (input.value.trim() !== expr) return;
      fill(sampleList, keys.length ? keys.map((k) => h("li", {}, customerLink(k))) : h("li", { class: "muted" }, "Nobody matches."));
      sampleList.dataset.expr = expr;
      ctx.section("members");
    } catch (err) {
      if (!isAbort(err)) fill(sampleList, h("li", {}, errorBox(err)));
    }
  }

  async function save() {
    const expr = input.value.trim();
    const name = nameInput.value.trim();
    fill(saveMsg);
    if (!expr) {
      fill(saveMsg, h("div", { class: "error" }, "Write an expression first."));
      return;
    }
    try {
      const r = await api("/api/segments", { method: "POST", body: { name, expr, replace: replace.checked } });
      fill(saveMsg, h("div", { class: "ok", id: "saved" }, `Saved segment ${r.name} with ${num(r.cardinality)} customers. `, h("a", { href: hrefs.segment(r.name) }, "Open it →")));
    } catch (err) {
      fill(saveMsg, errorBox(err));
    }
  }

  input.addEventListener("input", run);
  bySelect.addEventListener("change", () => {
    const expr = input.value.trim();
    chosenBy = bySelect.value;
    replaceRoute(builderHref(expr, chosenBy));
    if (expr && !countBox.classList.contains("invalid")) loadBreakdown(expr, ctl ? ctl.signal : undefined);
  });
  run();
  run.flush(); // the first count at once, not after the debounce
  input.focus();
  return () => run.cancel();
}

// builderHref is the address of the builder with an expression and a
// breakdown field (both optional).
function builderHref(expr, by) {
  const q = new URLSearchParams();
  if (expr) q.set("expr", expr);
  if (by) q.set("by", by);
  const s = q.toString().replace(/\+/g, "%20");
  return "#/builder" + (s ? "?" + s : "");
}

// fieldsNamed is the set of fields an expression names, itself or through
// the saved segments it uses (@name): a rough reading (words that are field
// names, quoted values left out) that needs no parse.
function fieldsNamed(expr, fields, segFields) {
  const names = new Set(fields.map((f) => f.name));
  const out = new Set();
  const words = expr.replace(/"(?:[^"\\]|\\.)*"/g, " ").match(/@?[^\s:()\[\],<>=!"]+/g) || [];
  for (const w of words) {
    if (w.startsWith("@")) for (const f of segFields.get(w.slice(1)) || []) out.add(f);
    else if (names.has(w)) out.add(w);
  }
  return out;
}

// breakdownFields orders the fields to break down by, best first: those
// not named, then those named; in each, the fields with a handful of
// values (3 to 60) first.
function breakdownFields(groupable, named) {
  const handful = (f) => f.values >= 3 && f.values <= 60;
  const rank = (f) => (named.has(f.name) ? 2 : 0) + (handful(f) ? 0 : 1);
  return groupable
    .map((f, i) => [rank(f), i, f.name])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .map((x) => x[2]);
}

// snippet is what clicking a field inserts.
function snippet(f) {
  switch (f.kind) {
    case "INT":
      return `${f.name} >= `;
    case "EVENT":
      return `${f.name} IN 30d`;
    default:
      return `${f.name}:`;
  }
}

function cheatSheet() {
  const rows = [
    ["country:PT", "has the value"],
    ["country:(PT,ES)", "any of the values"],
    ["interests:*", "has any value"],
    ["age:[25 TO 35]", "INT range; also age >= 30"],
    ["purchase >= 3 IN 90d", "events in a window"],
    ["TOP 10% BY spend IN 365d", "the highest spenders"],
    ["@vip AND NOT @churned", "saved segments"],
    ["SAMPLE 10% SEED 7", "a stable share"],
  ];
  return h(
    "details",
    { class: "cheats" },
    h("summary", {}, "Expression syntax"),
    h("table", {}, h("tbody", {}, rows.map(([e, d]) => h("tr", {}, h("td", {}, h("code", {}, e)), h("td", { class: "muted" }, d))))),
    h("p", { class: "muted" }, "Combine with AND, OR, XOR, NOT and parentheses."),
  );
}
