// Segments: every saved segment with its cardinality, version, last change
// and a sparkline of its size over time (SEGMENT.HISTORY).

import { h, fill, api, num, ago, dateTime, hrefs } from "./lib.js";
import { sparkline } from "./charts.js";

export async function segmentsView(view, ctx) {
  const data = await api("/api/segments", { params: { history: 80 }, signal: ctx.signal });
  const now = data.time;
  const head = h(
    "div",
    { class: "page-head" },
    h("h1", {}, "Segments"),
    h("p", { class: "muted" }, `${num(data.segments.length)} saved segments, kept exact on every write. `, h("a", { href: hrefs.builder("") }, "Build a new one →")),
  );
  if (data.segments.length === 0) {
    fill(view, head, h("div", { class: "card empty" }, h("p", {}, "No saved segments yet. ", h("a", { href: hrefs.builder("") }, "Open the builder"), " to make one.")));
    ctx.section("segments");
    ctx.complete();
    return;
  }
  const table = h(
    "table",
    { class: "list segments", id: "segments" },
    h(
      "thead",
      {},
      h("tr", {}, h("th", {}, "Segment"), h("th", { class: "num" }, "Customers"), h("th", { class: "num" }, "Version"), h("th", {}, "Last change"), h("th", {}, "Size over time")),
    ),
    h(
      "tbody",
      {},
      data.segments.map((s) =>
        h(
          "tr",
          { dataset: { segment: s.name } },
          h(
            "td",
            {},
            h("a", { href: hrefs.segment(s.name), class: "seg-name" }, s.name),
            s.time_relative ? h("span", { class: "badge moving", title: "Reads events: moves with time" }, "time-relative") : null,
            h("div", { class: "expr-small", title: s.expr }, s.expr),
          ),
          h("td", { class: "num card-num" }, num(s.cardinality)),
          h("td", { class: "num" }, num(s.version)),
          h("td", { title: dateTime(s.updated) }, ago(s.updated, now)),
          h("td", {}, sparkline(s.history, now)),
        ),
      ),
    ),
  );
  fill(view, head, h("section", { class: "card flush" }, table));
  ctx.section("segments");
  ctx.complete();
}
