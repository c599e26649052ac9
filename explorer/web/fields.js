// Fields: each field's kind, the customers it covers, its memory, and a bar
// chart of its most held values (a histogram for INT fields).

import { h, fill, api, num, pct, bytes, kindBadge, hrefs, predicate } from "./lib.js";
import { bars } from "./charts.js";

export async function fieldsView(view, ctx) {
  const data = await api("/api/fields", { params: { top: 8 }, signal: ctx.signal });
  const total = data.entities;
  const head = h(
    "div",
    { class: "page-head" },
    h("h1", {}, "Fields"),
    h("p", { class: "muted" }, `${num(data.fields.length)} fields over ${num(total)} customers. Click a value to start a segment with it.`),
  );
  if (data.fields.length === 0) {
    fill(view, head, h("div", { class: "card empty" }, h("p", {}, "No fields yet: write customers with ENT.SET, ENT.ADD or ENT.TRACK and their fields appear here.")));
    ctx.section("fields");
    ctx.complete();
    return;
  }
  const cards = data.fields.map((f) => fieldCard(f, total));
  fill(view, head, h("div", { class: "grid fields" }, cards));
  ctx.section("fields");
  ctx.complete();
}

function fieldCard(f, total) {
  const facts = [
    h("span", {}, h("strong", {}, num(f.entities)), " customers", total ? h("span", { class: "muted" }, ` (${pct(f.entities / total)})`) : null),
    f.values !== null ? h("span", {}, h("strong", {}, num(f.values)), " values") : null,
    h("span", {}, h("strong", {}, bytes(f.bytes)), " memory"),
    f.granularity ? h("span", {}, `${f.granularity} buckets, ${f.retention} kept`) : null,
  ];
  let chart;
  if (f.histogram && f.histogram.length) {
    chart = bars(
      f.histogram.map((b) => ({ label: b.value, value: b.entities, href: hrefs.builder(predicate(f.name, b.value)), title: `${f.name}:${b.value}` })),
      { cls: "compact" },
    );
  } else if (f.top && f.top.length) {
    chart = bars(
      f.top.map((v) => ({ label: v.value, value: v.entities, href: hrefs.builder(f.kind === "EVENT" ? `${predicate(f.name, v.value)} IN 30d` : predicate(f.name, v.value)), note: f.entities ? pct(v.entities / f.entities, 0) : "" })),
      { cls: "compact" },
    );
  } else if (f.error) {
    chart = h("p", { class: "muted" }, f.error);
  } else {
    chart = h("p", { class: "muted" }, f.kind === "EVENT" ? "Occurrences without values." : "No values held.");
  }
  return h(
    "article",
    { class: "card field", dataset: { field: f.name } },
    h("header", {}, h("h2", {}, h("code", {}, f.name)), kindBadge(f.kind)),
    h("div", { class: "facts" }, facts),
    h("h3", {}, f.histogram ? "Distribution" : "Top values"),
    chart,
  );
}
