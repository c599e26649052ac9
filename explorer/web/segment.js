// One segment: its size history (SEGMENT.HISTORY), persona (lift bars of
// SEGMENT.PROFILE), lookalikes (SEGMENT.LOOKALIKE), a sample of members,
// an overlap heatmap against chosen segments (SEGMENT.OVERLAP), and the
// live feed of enters and exits (server-sent events).

import { h, fill, api, isAbort, num, pct, bytes, ago, dateTime, clock, hrefs, predicate, customerLink, errorBox, section } from "./lib.js";
import { liftBars, historyChart, heatmap, loadUPlot } from "./charts.js";

const FEED_ROWS = 100;
const FEED_BACKLOG = 30;
const CHART_REDRAW_MS = 1000; // the size chart follows the live feed at most once a second
const RECOMPUTE_MS = 5000; // the persona and lookalikes of a changed segment, at most this often

export async function segmentView(view, ctx) {
  const name = ctx.params[0];
  const enc = encodeURIComponent(name);
  const get = (path, params) => api(path, { params, signal: ctx.signal });

  // Every request of the main sections at once (the first view's are
  // already on their way, boot.js); each section is drawn empty now and
  // filled when its answer comes. The persona and the lookalikes are asked
  // for once those are shown (below): when the segment changed since they
  // were last computed, computing them takes the server's CPUs for 100 ms
  // and more on a million customers, which would hold back the browser
  // drawing everything else on a small machine.
  const infoP = get(`/api/segments/${enc}`);
  const srvP = ctx.info();
  const allP = get("/api/segments");
  const historyP = Promise.all([get(`/api/segments/${enc}/history`), loadUPlot()]);
  const seed = window.segdBoot?.seed() ?? Math.floor(Math.random() * 1e9); // another sample at each opening
  const sampleP = get(`/api/segments/${enc}/sample`, { count: 10, seed });
  const overlapP = get("/api/overlap", { name, others: 3 }); // with the first three other segments
  for (const p of [infoP, srvP, allP, historyP, sampleP, overlapP]) p.catch(() => {}); // each is reported where it is shown
  const disposers = [];

  // ---- header ----
  const titleEl = h("div", { class: "seg-title" }, h("h1", {}, name));
  const exprEl = h("pre", { class: "expr-show" }, "\u00a0");
  const factsEl = h("div", { class: "facts" }, h("span", {}, "Loading…"));
  const actionsEl = h("div", { class: "actions" });
  const head = h("section", { class: "card seg-head", id: "seg-head" }, titleEl, exprEl, factsEl, actionsEl);
  // card is the size shown, at cardVersion and cardTime: the header, the
  // chart's last point and the live feed agree on it.
  let card = 0;
  let cardVersion = 0;
  let cardTime = 0;
  const cardEl = h("span", { id: "seg-card", class: "big" });
  const versionEl = h("span", { id: "seg-version" });
  const share = h("span", { class: "muted" });
  let srv = null;
  const setShare = () => (share.textContent = srv && srv.entities ? ` ${pct(card / srv.entities)} of ${num(srv.entities)} customers` : "");
  const changedEl = h("span");
  let updated = 0;
  const setChanged = () => (changedEl.textContent = ago(updated, srv ? srv.time : undefined)); // by the server's clock once known
  const drawHead = (info) => {
    updated = info.updated;
    setChanged();
    card = info.cardinality;
    cardVersion = info.version;
    cardTime = info.updated;
    cardEl.textContent = num(card);
    versionEl.textContent = num(info.version);
    setShare();
    if (info.time_relative) titleEl.append(h("span", { class: "badge moving" }, "time-relative"));
    fill(exprEl, info.expr);
    fill(
      factsEl,
      h("span", {}, cardEl, " customers", share),
      h("span", {}, "version ", versionEl),
      h("span", { title: dateTime(info.updated) }, "changed ", changedEl),
      h("span", { title: dateTime(info.created) }, "created ", dateTime(info.created)),
      h("span", {}, bytes(info.bytes), " memory"),
      info.segments.length ? h("span", {}, "uses ", info.segments.map((s, i) => [i ? ", " : "", h("a", { href: hrefs.segment(s) }, "@" + s)])) : null,
    );
    fill(actionsEl, h("a", { class: "button secondary", href: hrefs.builder(info.expr) }, "Open in builder"), h("a", { class: "button secondary", href: hrefs.builder("@" + name) }, "Break it down"));
  };

  // ---- size history ----
  const chartEl = h("div", { id: "history-chart", class: "chart" });
  const ranges = [
    ["Day", 86400],
    ["Month", 30 * 86400],
    ["All", 0],
  ];
  let history = [];
  let historyTime = 0; // the server's time when the history was read
  let range = 0;
  let disposeChart = () => {};
  const drawChart = () => {
    disposeChart();
    fill(chartEl);
    const since = range ? historyTime - range : 0;
    const pts = history.filter((p) => p[0] >= since);
    // The size just before the range starts holds at its start.
    const before = history.filter((p) => p[0] < since).pop();
    if (before) pts.unshift([since, before[1]]);
    disposeChart = historyChart(chartEl, pts, Math.floor(Date.now() / 1000), [Math.max(since, cardTime), card]);
  };
  let redraw = null;
  const redrawChart = () => (redraw = redraw || setTimeout(() => ((redraw = null), drawChart()), CHART_REDRAW_MS));
  disposers.push(() => disposeChart(), () => clearTimeout(redraw));
  const rangeBtns = h(
    "div",
    { class: "seg-buttons", role: "group" },
    ranges.map(([label, secs]) =>
      h(
        "button",
        {
          type: "button",
          class: secs === range ? "active" : "",
          onclick: (ev) => {
            range = secs;
            for (const b of rangeBtns.children) b.classList.toggle("active", b === ev.target);
            drawChart();
          },
        },
        label,
      ),
    ),
  );

  // ---- persona, lookalikes, sample ----
  const persona = h("div", { id: "persona" }, h("p", { class: "muted" }, "Loading the persona…"));
  const lookalikes = h("div", { id: "lookalikes" }, h("p", { class: "muted" }, "Loading…"));
  const sample = h("ul", { id: "seg-sample", class: "keys" });

  // ---- overlap ----
  let others = [];
  const chosen = new Set();
  const overlapOut = h("div", { id: "overlap" }, h("p", { class: "muted" }, "Loading…"));
  const picks = h("div", { class: "chips picks" });
  const drawPicks = () =>
    fill(
      picks,
      others.length
        ? others.map((o) =>
            h(
              "label",
              { class: "chip" },
              h("input", {
                type: "checkbox",
                value: o,
                checked: chosen.has(o),
                dataset: { segment: o },
                onchange: (ev) => {
                  if (ev.target.checked) chosen.add(o);
                  else chosen.delete(o);
                  loadOverlap();
                },
              }),
              " ",
              o,
            ),
          )
        : h("span", { class: "muted" }, "No other segment to compare with yet."),
    );

  // ---- live feed ----
  const feedStatus = h("span", { id: "feed-status", class: "feed-status", dataset: { state: "connecting" } }, "connecting…");
  const feedList = h("ol", { id: "feed", class: "feed" });
  const feedEmpty = h("p", { class: "muted feed-empty" }, "Enters and exits show here as writes move customers in and out.");

  fill(
    view,
    head,
    h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, "Size over time"), rangeBtns), chartEl),
    h(
      "div",
      { class: "grid two" },
      section("Persona: what sets its members apart", h("p", { class: "muted small" }, "Lift is the share of members holding a value over its share among all customers."), persona),
      h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, "Live enters and exits"), feedStatus), feedEmpty, feedList),
    ),
    h(
      "div",
      { class: "grid two" },
      section("Overlap with other segments", picks, overlapOut),
      h(
        "div",
        { class: "stack" },
        section("Lookalikes: non-members most like the members", lookalikes),
        section("A sample of members", sample),
      ),
    ),
  );

  ctx.section("shell");

  // ---- loading ----
  // shown fills a section when its answer comes (or says why not) and
  // records when.
  const shown = (part, p, el, draw) =>
    p.then(
      async (r) => {
        if (!ctx.current()) return;
        await draw(r);
        ctx.section(part);
      },
      (err) => {
        if (!isAbort(err) && ctx.current()) fill(el, errorBox(err));
      },
    );

  const loadHistory = shown("chart", Promise.all([historyP, infoP]), chartEl, ([[r], info]) => {
    if (!cardVersion) [card, cardVersion, cardTime] = [info.cardinality, info.version, info.updated];
    historyTime = r.time;
    history = r.history;
    drawChart();
  });

  // The persona and the lookalikes are exact for the version they say
  // (asOf): when the live feed shows a newer one, they say that they are
  // being recomputed, and are asked for again, at most every RECOMPUTE_MS.
  const personaAsOf = h("p", { class: "muted small as-of", id: "persona-as-of" });
  const lookalikesAsOf = h("p", { class: "muted small as-of", id: "lookalikes-as-of" });
  const asOfEl = (el, r) => ((el.answer = r), fill(el, asOf(r, cardVersion)));
  const analytics = { version: undefined, asked: 0, busy: false, timer: null };
  disposers.push(() => clearTimeout(analytics.timer));
  const loadAnalytics = () => {
    Object.assign(analytics, { busy: true, asked: Date.now() });
    const personaP = get(`/api/segments/${enc}/profile`, { limit: 15 });
    const lookalikesP = get(`/api/segments/${enc}/lookalike`, { count: 10 });
    personaP.then((r) => (analytics.version = r.version), () => {});
    return Promise.allSettled([loadPersona(personaP), loadLookalikes(lookalikesP)]).then(() => {
      analytics.busy = false;
      followVersion();
    });
  };
  // followVersion says, under the persona and the lookalikes, whether they
  // are for the version shown, and asks for them again when not.
  const followVersion = () => {
    for (const el of [personaAsOf, lookalikesAsOf]) if (el.answer) fill(el, asOf(el.answer, cardVersion));
    if (analytics.busy || analytics.version === undefined || analytics.timer || !ctx.current()) return;
    if (analytics.version !== null && analytics.version >= cardVersion) return;
    analytics.timer = setTimeout(() => {
      analytics.timer = null;
      if (ctx.current()) loadAnalytics();
    }, Math.max(0, analytics.asked + RECOMPUTE_MS - Date.now()));
  };

  const loadPersona = (personaP) => shown("persona", Promise.all([personaP, infoP]), persona, ([r, info]) => {
    if (r.profile.length === 0) {
      fill(persona, h("p", { class: "muted" }, info.cardinality ? "No value stands out (each needs at least 1% of the members)." : "The segment is empty."));
      return;
    }
    fill(persona, liftBars(r.profile, (e) => hrefs.builder(`@${name} AND ${predicate(e.field, e.value)}`)), asOfEl(personaAsOf, r));
  });

  const loadLookalikes = (lookalikesP) => shown("lookalikes", lookalikesP, lookalikes, (r) => {
    if (r.lookalikes.length === 0) {
      fill(lookalikes, h("p", { class: "muted" }, "No lookalike: no non-member holds the values that set the members apart."));
      return;
    }
    fill(
      lookalikes,
      h("table", { class: "list compact" }, h("thead", {}, h("tr", {}, h("th", {}, "Customer"), h("th", { class: "num" }, "Score"))), h("tbody", {}, r.lookalikes.map((l) => h("tr", {}, h("td", {}, customerLink(l.key)), h("td", { class: "num" }, l.score.toFixed(2)))))),
      asOfEl(lookalikesAsOf, r),
    );
  });

  const loadSample = shown("sample", sampleP, sample, (r) => {
    fill(sample, r.keys.length ? r.keys.map((k) => h("li", {}, customerLink(k))) : h("li", { class: "muted" }, "No members."));
  });

  const loadPicks = shown("overlap", Promise.all([allP, overlapP]), overlapOut, ([all, r]) => {
    others = all.segments.map((s) => s.name).filter((n) => n !== name);
    for (const o of r.names.slice(1)) chosen.add(o);
    drawPicks();
    drawOverlap(r);
  });

  function drawOverlap(r) {
    if (r.names.length < 2) {
      fill(overlapOut, h("p", { class: "muted" }, "Choose segments above to see how many customers they share with this one."));
    } else {
      fill(overlapOut, heatmap(r.names, r.matrix, hrefs.segment), h("p", { class: "muted small" }, "Each cell: the customers of the row's segment also in the column's, and their share of the row."));
    }
    overlapOut.dataset.state = "ready";
  }

  let overlapSeq = 0;
  async function loadOverlap() {
    const names = [name, ...others.filter((o) => chosen.has(o))];
    const my = ++overlapSeq;
    overlapOut.dataset.state = "loading";
    if (names.length < 2) {
      fill(overlapOut, h("p", { class: "muted" }, "Choose segments above to see how many customers they share with this one."));
      overlapOut.dataset.state = "ready";
      return;
    }
    try {
      const r = await api("/api/overlap", { params: { name: names }, signal: ctx.signal });
      if (my !== overlapSeq) return;
      drawOverlap(r);
    } catch (err) {
      if (!isAbort(err)) fill(overlapOut, errorBox(err));
    }
  }

  // The header: without the segment, the view is the error. The share of
  // all customers follows with /api/info.
  srvP.then((r) => {
    srv = srv || r;
    setShare();
    if (updated) setChanged();
  }, () => {});
  const info = await infoP;
  drawHead(info);
  ctx.section("header");

  // Usable once the header, the chart, the overlap and the sample are
  // shown; then the persona and the lookalikes are asked for, and the view
  // is complete with them.
  Promise.allSettled([loadHistory, loadPicks, loadSample]).then(() => {
    ctx.ready();
    if (!ctx.current()) return;
    return loadAnalytics().then(() => ctx.complete());
  });

  // ---- the live feed ----
  let lastShown = 0;
  // A stream opened before the page's load event would hold that event
  // back (the browser would show the page as loading for ever).
  if (document.readyState !== "complete") await new Promise((r) => window.addEventListener("load", r, { once: true }));
  if (!ctx.current()) return () => disposers.forEach((d) => d());
  const es = new EventSource(`/api/segments/${enc}/events?since=${Math.max(0, info.version - FEED_BACKLOG)}`);
  const setStatus = (state, text) => {
    feedStatus.dataset.state = state;
    feedStatus.textContent = text;
  };
  es.addEventListener("ready", () => {
    setStatus("live", "● live");
    ctx.section("feed");
  });
  es.addEventListener("dropped", () => setStatus("reconnecting", "fell behind, catching up…"));
  es.addEventListener("reset", (ev) => {
    const r = JSON.parse(ev.data);
    feedList.prepend(h("li", { class: "feed-note muted" }, r.reason));
  });
  es.onerror = () => setStatus(es.readyState === EventSource.CLOSED ? "closed" : "reconnecting", es.readyState === EventSource.CLOSED ? "closed" : "reconnecting…");
  es.onmessage = (ev) => {
    const c = JSON.parse(ev.data);
    if (c.version <= lastShown) return;
    lastShown = c.version;
    feedEmpty.hidden = true;
    feedList.prepend(
      h(
        "li",
        { class: "feed-row " + c.change, dataset: { key: c.key, change: c.change, version: String(c.version) } },
        h("time", { title: dateTime(c.time) }, clock(c.time)),
        h("span", { class: "badge " + c.change }, c.change === "enter" ? "enter" : "exit"),
        customerLink(c.key),
        h("span", { class: "muted" }, "v" + c.version),
      ),
    );
    while (feedList.children.length > FEED_ROWS) feedList.lastChild.remove();
    if (c.version > cardVersion) {
      cardVersion = c.version;
      card += c.change === "enter" ? 1 : -1;
      cardTime = c.time;
      cardEl.textContent = num(card);
      versionEl.textContent = num(c.version);
      setShare();
      if (historyTime) {
        history.push([c.time, card]);
        redrawChart();
      }
      followVersion();
    }
  };
  disposers.push(() => es.close());

  return () => disposers.forEach((d) => d());
}

// asOf says which version of the segment an answer of the persona or the
// lookalikes is exact for, and when it was computed (they are kept while
// the segment is unchanged, docs/explorer.md); or, when the segment shown
// is at a newer version, that they are being recomputed.
function asOf(r, shown) {
  if (r.version === null || r.version === undefined) return `Computed at ${clock(r.as_of)} while the segment changed: being recomputed for version ${num(shown)}…`;
  if (r.version < shown) return `Being recomputed for version ${num(shown)} (this is version ${num(r.version)}, computed at ${clock(r.as_of)})…`;
  return `For version ${num(r.version)}, computed at ${clock(r.as_of)}.`;
}
