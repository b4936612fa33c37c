// tuyameter's web page: an overview of the meters and a page per meter (live values, power and
// energy charts with uPlot, settings, the link). Live values come from the server-sent event
// stream /api/events; everything else from the JSON API (/api/openapi.json). No other origin.
"use strict";

const $ = (sel, el = document) => el.querySelector(sel);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids) e.append(kid);
  return e;
};
const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

const state = {
  meters: {},      // id → {latest, status}
  profiles: {},    // id → profile
  page: null,      // {kind: "overview"} or {kind: "meter", id}
  live: null,      // the live power chart's data while it shows "live"
  events: [],      // the meter's data events in the power chart's range: {time, kind, text}
  charts: {},
  stream: null,
};
const LIVE_WINDOW_S = 900;
const LIVE_MAX_POINTS = 3000;

// -- the API ---------------------------------------------------------------------------------

class ApiError extends Error {}

async function api(path, body) {
  const opts = { credentials: "same-origin" };
  if (body !== undefined) {
    opts.method = "POST";
    opts.headers = { "content-type": "application/json" };
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  if (r.status === 401 && !path.endsWith("/login")) {
    showLogin();
    throw new ApiError("sign in first");
  }
  if (!r.ok && r.status !== 504) {
    const d = data && data.detail;
    const text = typeof d === "string" ? d : Array.isArray(d) ? d.map((x) => x.msg).join("; ") : r.statusText;
    const err = new ApiError(text);
    err.status = r.status;
    throw err;
  }
  return data;
}

// -- formatting -------------------------------------------------------------------------------

function quantity(meter, name) {
  const p = state.profiles[meter];
  if (!p) return null;
  return p.quantities.find((q) => q.name === name) || p.computed.find((q) => q.name === name) || null;
}

function fmt(v, unit) {
  if (v === null || v === undefined) return "–";
  if (typeof v !== "number") return String(v);
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return v.toFixed(unit === "kWh" ? 3 : digits) + (unit ? " " + unit : "");
}

function label(meter, name) {
  const q = quantity(meter, name);
  return q ? q.label : name.replaceAll("_", " ");
}

// -- live stream ------------------------------------------------------------------------------

function connect() {
  if (state.stream) state.stream.close();
  const es = new EventSource("/api/events");
  state.stream = es;
  es.onopen = () => $("#conn").classList.add("on");
  es.onerror = () => $("#conn").classList.remove("on");
  es.addEventListener("update", (ev) => {
    const u = JSON.parse(ev.data);
    const m = state.meters[u.meter] || (state.meters[u.meter] = {});
    m.latest = u;
    onUpdate(u);
  });
  es.addEventListener("status", (ev) => {
    const s = JSON.parse(ev.data);
    const m = state.meters[s.meter] || (state.meters[s.meter] = {});
    m.status = s;
    onStatus(s);
  });
}

function onUpdate(u) {
  const page = state.page;
  if (!page) return;
  if (page.kind === "overview") renderOverviewTile(u.meter);
  else if (page.kind === "meter" && page.id === u.meter) {
    renderLive(u.meter);
    if (u.events && u.events.length) addEvents(u.events);
    appendLivePower(u);
    refreshFrames(u.meter);
  }
}

function onStatus(s) {
  const page = state.page;
  if (!page) return;
  if (page.kind === "overview") renderOverviewTile(s.meter);
  else if (page.kind === "meter" && page.id === s.meter) {
    renderStatus(s.meter);
    renderLink(s.meter);
  }
}

// -- pages ------------------------------------------------------------------------------------

function show(templateId) {
  for (const c of Object.values(state.charts)) c.destroy();
  state.charts = {};
  state.live = null;
  state.events = [];
  const main = $("#main");
  main.replaceChildren($(templateId).content.cloneNode(true));
  return main;
}

function showLogin() {
  state.page = { kind: "login" };
  show("#t-login");
  $("#login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("/api/login", { token: $("#login-token").value });
      await start();
    } catch (e) {
      $("#login-error").textContent = e.message;
    }
  });
}

function renderNav() {
  const nav = $("#nav");
  nav.replaceChildren(...Object.keys(state.meters).map((id) => {
    const here = state.page && state.page.kind === "meter" && state.page.id === id;
    return el("a", { href: "#/meter/" + encodeURIComponent(id), class: here ? "here" : "", text: id });
  }));
}

function route() {
  const h = location.hash;
  const m = h.match(/^#\/meter\/(.+)$/);
  if (m && state.meters[decodeURIComponent(m[1])]) showMeter(decodeURIComponent(m[1]));
  else showOverview();
  renderNav();
}

function showOverview() {
  state.page = { kind: "overview" };
  show("#t-overview");
  for (const id of Object.keys(state.meters)) renderOverviewTile(id);
}

function renderOverviewTile(id) {
  const box = $("#overview");
  if (!box) return;
  let tile = box.querySelector(`[data-meter="${CSS.escape(id)}"]`);
  if (!tile) {
    tile = el("div", { class: "tile meter", "data-meter": id });
    box.append(tile);
  }
  const m = state.meters[id];
  const v = (m.latest && m.latest.values) || {};
  const online = m.status ? m.status.online : false;
  const total = v.power_total;
  tile.replaceChildren(
    el("a", { href: "#/meter/" + encodeURIComponent(id), text: id }), " ",
    el("span", { class: "badge " + (online ? "online" : "offline"), text: online ? "online" : "offline" }),
    el("div", { class: "value" + (total < 0 ? " export" : ""), id: "overview-power-" + id, text: fmt(total, "W") }),
    el("div", { class: "label", text: `A ${fmt(v.power_a, "W")} · B ${fmt(v.power_b, "W")}` }),
    el("div", { class: "label", text: `today: in ${fmt(v.energy_forward_total_today, "kWh")} · out ${fmt(v.energy_reverse_total_today, "kWh")}` }),
  );
}

async function showMeter(id) {
  state.page = { kind: "meter", id };
  show("#t-meter");
  $("#meter-name").textContent = id;
  if (!state.profiles[id]) state.profiles[id] = (await api("/api/meters/" + encodeURIComponent(id))).profile;
  if (!state.page || state.page.id !== id) return;
  renderStatus(id);
  renderLive(id);
  renderSettings(id);
  renderLink(id);
  $("#frames-box").addEventListener("toggle", () => refreshFrames(id, true));
  setupPower(id);
  setupEnergy(id);
}

function renderStatus(id) {
  const s = state.meters[id].status;
  const b = $("#meter-status");
  if (!b) return;
  const online = s ? s.online : false;
  b.className = "badge " + (online ? "online" : "offline");
  b.textContent = online ? "online" : "offline" + (s && s.detail ? ": " + s.detail : "");
}

const LIVE_CLASSES = ["voltage", "current", "frequency", "power_factor"];

function liveNames(id) {
  const p = state.profiles[id];
  const v = (state.meters[id].latest || {}).values || {};
  const names = [...p.power_names];
  for (const q of p.quantities) {
    if (!q.private && LIVE_CLASSES.includes(q.device_class) && !names.includes(q.name)) names.push(q.name);
    if (q.name.startsWith("direction_")) names.push(q.name);
  }
  return names.filter((n) => n in v || p.power_names.includes(n));
}

function renderLive(id) {
  const box = $("#live");
  if (!box || !state.profiles[id]) return;
  const v = (state.meters[id].latest || {}).values || {};
  const tiles = liveNames(id).map((n) => {
    const q = quantity(id, n);
    const val = v[n];
    return el("div", { class: "tile" },
      el("div", { class: "label", text: label(id, n) }),
      el("div", { class: "value" + (typeof val === "number" && val < 0 ? " export" : ""), id: "live-" + n,
                  text: fmt(val, q && q.unit) }));
  });
  box.replaceChildren(...tiles);
  renderTodayTotals(id);
}

function renderTodayTotals(id) {
  const box = $("#energy-totals");
  if (!box || box.dataset.mode === "range") return;
  const v = (state.meters[id].latest || {}).values || {};
  const ch = ($("#energy-channel") || {}).value || "total";
  const parts = [];
  for (const [p, text] of [["today", "today"], ["yesterday", "yesterday"], ["this_month", "this month"]]) {
    const i = v[`energy_forward_${ch}_${p}`], o = v[`energy_reverse_${ch}_${p}`];
    if (i === undefined && o === undefined) continue;
    parts.push(el("span", {}, `${text}: `, el("span", { class: "import", text: "in " + fmt(i, "kWh") }), " · ",
      el("span", { class: "export", text: "out " + fmt(o, "kWh") })));
  }
  box.replaceChildren(...parts);
}

// -- power chart ------------------------------------------------------------------------------

function chartWidth(box) {
  return Math.max(260, box.clientWidth || 600);
}

function powerSeries(id) {
  const p = state.profiles[id];
  const colours = { power_a: "--a", power_b: "--b", power_total: "--total" };
  return p.power_names.map((n, i) => ({
    label: label(id, n), stroke: css(colours[n] || ["--a", "--b", "--total"][i % 3]), width: n === "power_total" ? 2 : 1.5,
    value: (u, v) => fmt(v, "W"),
  }));
}

function axes() {
  const stroke = css("--muted"), grid = { stroke: css("--line"), width: 1 };
  return [{ stroke, grid, ticks: grid }, { stroke, grid, ticks: grid, size: 60 }];
}

function makeChart(key, box, opts, data) {
  if (state.charts[key]) state.charts[key].destroy();
  const chart = new uPlot({ width: chartWidth(box), height: window.innerWidth < 600 ? 200 : 260, axes: axes(), ...opts }, data, box);
  state.charts[key] = chart;
  return chart;
}

async function setupPower(id) {
  const sel = $("#power-range");
  sel.addEventListener("change", () => loadPower(id));
  await loadPower(id);
}

async function loadPower(id) {
  const range = $("#power-range").value;
  const now = Date.now() / 1000;
  const span = range === "live" ? LIVE_WINDOW_S : Number(range);
  const names = state.profiles[id].power_names;
  const q = `start=${now - span}&end=${now + 60}`;
  let got, events;
  try {
    [got, events] = await Promise.all([
      api(`/api/meters/${encodeURIComponent(id)}/power?${q}&points=${Math.min(2000, chartWidth($("#power-chart")))}`),
      api(`/api/meters/${encodeURIComponent(id)}/events?${q}`),
    ]);
  } catch (e) {
    got = { t: [], series: {} };
    events = [];
    if (e.status !== 409) $("#power-chart").textContent = e.message;
  }
  const data = [got.t.slice(), ...names.map((n) => (got.series[n] ? got.series[n].avg.slice() : got.t.map(() => null)))];
  state.live = range === "live" ? data : null;
  const box = $("#power-chart");
  if (!box || !state.page || state.page.id !== id) return;
  box.textContent = "";
  state.events = events;
  makeChart("power", box, { series: [{}, ...powerSeries(id)], scales: { x: { time: true } }, plugins: [eventMarks()] }, data);
  renderEvents();
}

// The meter's data events as dashed vertical lines over the chart, with their kind on top.
function eventMarks() {
  return {
    hooks: {
      draw: [(u) => {
        const ctx = u.ctx, { left, top, width, height } = u.bbox;
        const [lo, hi] = [u.scales.x.min, u.scales.x.max];
        ctx.save();
        ctx.strokeStyle = ctx.fillStyle = css("--event");
        ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
        ctx.lineWidth = devicePixelRatio;
        ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
        for (const e of state.events) {
          if (e.time < lo || e.time > hi) continue;
          const x = Math.round(u.valToPos(e.time, "x", true));
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
          ctx.fillText(e.kind, Math.min(x + 3 * devicePixelRatio, left + width - 40 * devicePixelRatio), top + 12 * devicePixelRatio);
        }
        ctx.restore();
      }],
    },
  };
}

function addEvents(events) {
  state.events.push(...events);
  if (state.live) {
    const oldest = Date.now() / 1000 - LIVE_WINDOW_S;
    state.events = state.events.filter((e) => e.time >= oldest);
  }
  renderEvents();
  if (state.charts.power) state.charts.power.redraw(false);
}

function renderEvents() {
  const list = $("#power-events");
  if (!list) return;
  const when = (t) => new Date(t * 1000).toLocaleString();
  list.replaceChildren(...state.events.slice().reverse().map((e) => el("li", { "data-kind": e.kind },
    el("span", { class: "kind", text: e.kind }), " ", el("span", { class: "muted", text: when(e.time) }), " ", e.text)));
}

function appendLivePower(u) {
  const data = state.live;
  const chart = state.charts.power;
  if (!data || !chart) return;
  const names = state.profiles[u.meter].power_names;
  data[0].push(u.time);
  names.forEach((n, i) => data[i + 1].push(typeof u.values[n] === "number" ? u.values[n] : null));
  while (data[0].length > LIVE_MAX_POINTS || (data[0].length && data[0][0] < u.time - LIVE_WINDOW_S)) {
    for (const col of data) col.shift();
  }
  chart.setData(data);
}

// -- energy chart -----------------------------------------------------------------------------

const DEFAULT_DAYS = { hour: 1, day: 30, month: 365, year: 365 * 5 };

function isoDay(d) {
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

function setupEnergy(id) {
  const p = state.profiles[id];
  const chSel = $("#energy-channel");
  const channels = ["total", ...p.channels];
  chSel.replaceChildren(...channels.filter((c) => p.quantities.some((q) => q.name === `energy_forward_${c}`))
    .map((c) => el("option", { value: c, text: c === "total" ? "A + B" : "clamp " + c.toUpperCase() })));
  const group = $("#energy-group");
  const resetDates = () => {
    const end = new Date();
    $("#energy-end").value = isoDay(end);
    $("#energy-start").value = isoDay(new Date(end.getTime() - DEFAULT_DAYS[group.value] * 86400000));
  };
  resetDates();
  group.addEventListener("change", () => { resetDates(); loadEnergy(id); });
  for (const sel of ["#energy-channel", "#energy-start", "#energy-end"]) $(sel).addEventListener("change", () => loadEnergy(id));
  const tIn = $("#tariff-in"), tOut = $("#tariff-out");
  tIn.value = localStorage.getItem("tuyameter.tariff.in") || "";
  tOut.value = localStorage.getItem("tuyameter.tariff.out") || "";
  for (const [inp, key] of [[tIn, "in"], [tOut, "out"]]) {
    inp.addEventListener("change", () => { localStorage.setItem("tuyameter.tariff." + key, inp.value); loadEnergy(id); });
  }
  loadEnergy(id);
}

async function loadEnergy(id) {
  const group = $("#energy-group").value, ch = $("#energy-channel").value;
  const q = `group=${group}&start=${$("#energy-start").value}&end=${$("#energy-end").value}`;
  const base = `/api/meters/${encodeURIComponent(id)}/energy?${q}`;
  $("#energy-csv").href = base + "&format=csv";
  const box = $("#energy-chart");
  let got;
  try {
    got = await api(base);
  } catch (e) {
    box.textContent = e.message;
    return;
  }
  if (!state.page || state.page.id !== id) return;
  const inp = got.kwh[`energy_forward_${ch}`] || got.start.map(() => null);
  const out = got.kwh[`energy_reverse_${ch}`] || got.start.map(() => null);
  const net = got.kwh[`net_${ch}`] || got.start.map(() => null);
  box.textContent = "";
  const bars = uPlot.paths.bars({ size: [0.7, 48], align: 1 });  // a bar from its period's start
  const kwh = (u, v) => fmt(v, "kWh");
  makeChart("energy", box, {
    series: [
      {},
      { label: "import", stroke: css("--import"), fill: css("--import") + "aa", paths: bars, points: { show: false }, value: kwh },
      { label: "export", stroke: css("--export"), fill: css("--export") + "aa", paths: bars, points: { show: false },
        value: (u, v) => fmt(v === null ? null : -v, "kWh") },
      { label: "net", stroke: css("--net"), width: 1.5, value: kwh, points: { show: true, size: 4 } },
    ],
    scales: { x: { time: true, range: () => [got.from, got.to] } },
  }, [got.start, inp, out.map((v) => (v === null ? null : -v)), net]);
  renderEnergyTable(got, inp, out, net);
}

function renderEnergyTable(got, inp, out, net) {
  const priceIn = parseFloat($("#tariff-in").value), priceOut = parseFloat($("#tariff-out").value);
  const money = Number.isFinite(priceIn) || Number.isFinite(priceOut);
  const cost = (i, o) => (i || 0) * (priceIn || 0) - (o || 0) * (priceOut || 0);
  const sum = (a) => a.reduce((s, v) => s + (v || 0), 0);
  const head = el("tr", {}, el("th", { text: got.group }), el("th", { class: "num", text: "import kWh" }),
    el("th", { class: "num", text: "export kWh" }), el("th", { class: "num", text: "net kWh" }),
    ...(money ? [el("th", { class: "num", text: "cost" })] : []));
  const k3 = (v) => (v === null || v === undefined ? "–" : v.toFixed(3));
  const rows = got.label.map((lab, i) => el("tr", { "data-period": lab }, el("td", { text: lab }),
    el("td", { class: "num import", text: k3(inp[i]) }), el("td", { class: "num export", text: k3(out[i]) }),
    el("td", { class: "num net", text: k3(net[i]) }),
    ...(money ? [el("td", { class: "num", text: cost(inp[i], out[i]).toFixed(2) })] : [])));
  $("#energy-table").replaceChildren(head, ...rows.reverse());
  const totals = $("#energy-totals");
  totals.dataset.mode = "range";
  totals.replaceChildren(
    el("span", { class: "import", id: "energy-sum-import", text: "import " + fmt(sum(inp), "kWh") }),
    el("span", { class: "export", id: "energy-sum-export", text: "export " + fmt(sum(out), "kWh") }),
    el("span", { id: "energy-sum-net", text: "net " + fmt(sum(net), "kWh") }),
    ...(money ? [el("span", { id: "energy-sum-cost", text: "cost " + (sum(inp) * (priceIn || 0) - sum(out) * (priceOut || 0)).toFixed(2) })] : []));
}

// -- settings ---------------------------------------------------------------------------------

function renderSettings(id) {
  const form = $("#settings");
  form.setAttribute("novalidate", "");  // the gateway checks the ranges and says why
  const p = state.profiles[id];
  const latest = state.meters[id].latest || {};
  const known = { ...(latest.values || {}), ...(latest.private || {}) };
  const fields = [];
  for (const q of p.quantities.filter((x) => x.access !== "ro")) {
    if (q.kind === "button") {
      fields.push(el("label", {}, q.label, el("button", { type: "button", id: "setting-" + q.name,
        onclick: () => { if (confirm(`${q.label}?`)) write(id, q.name, true); }, text: "Reset" })));
      continue;
    }
    const input = q.options
      ? el("select", { id: "setting-" + q.name }, ...q.options.map((o) => el("option", { value: o, text: o })))
      : el("input", { id: "setting-" + q.name, type: "number", step: q.step, min: q.range ? q.range[0] : null,
                      max: q.range ? q.range[1] : null, inputmode: "decimal" });
    if (known[q.name] !== undefined) input.value = known[q.name];
    const range = q.range ? ` (${q.range[0]}–${q.range[1]}${q.unit ? " " + q.unit : ""})` : "";
    fields.push(el("label", {}, q.label + range, el("span", { class: "field" }, input,
      el("button", { type: "button", id: "set-" + q.name, text: "Set",
        onclick: () => write(id, q.name, q.options ? input.value : Number(input.value)) }))));
  }
  form.replaceChildren(...fields);
}

async function write(id, name, value) {
  const out = $("#write-result");
  out.className = "muted";
  out.textContent = `writing ${name} = ${value}…`;
  try {
    const r = await api(`/api/meters/${encodeURIComponent(id)}/settings/${encodeURIComponent(name)}`, { value });
    if (r.ok) {
      const echo = Object.entries(r.echoed || {}).map(([k, v]) => `${k} = ${v}`).join(", ");
      out.className = "ok";
      out.textContent = `${name} = ${value}: confirmed by the meter${echo ? " (" + echo + ")" : ""}`;
    } else {
      out.className = "error";
      out.textContent = `${name} = ${value}: not applied: ${r.error}`;
    }
  } catch (e) {
    out.className = "error";
    out.textContent = `${name} = ${value}: refused: ${e.message}`;
  }
}

// -- the link ---------------------------------------------------------------------------------

async function renderLink(id) {
  const table = $("#link");
  if (!table) return;
  const s = state.meters[id].status;
  const p = state.profiles[id];
  let diag = {};
  try { diag = await api(`/api/meters/${encodeURIComponent(id)}/diagnostics`); } catch (e) { diag = {}; }
  if (!$("#link")) return;
  const rows = [["state", s ? s.state : "–"], ["detail", s ? s.detail : "–"], ["profile", p.name],
    ...Object.entries((s && s.info) || {}), ...Object.entries(diag)];
  table.replaceChildren(...rows.map(([k, v]) => el("tr", {}, el("td", { text: String(k).replaceAll("_", " ") }),
    el("td", { class: "num", text: v === null || v === undefined ? "–" : typeof v === "object" ? JSON.stringify(v) : String(v) }))));
}

// The link's last frames: loaded when opened, then again after updates while it stays open.
let framesDue = 0;

async function refreshFrames(id, now) {
  const box = $("#frames-box");
  if (!box || !box.open || (!now && Date.now() < framesDue)) return;
  framesDue = Date.now() + 2000;
  let lines = [];
  try { lines = await api(`/api/meters/${encodeURIComponent(id)}/traffic`); } catch (e) { lines = []; }
  const table = $("#frames");
  if (!table) return;
  if (!lines.length) {
    table.replaceChildren(el("tr", {}, el("td", { class: "muted", text: "Frames are kept from now on, while this stays open; they appear as they come." })));
    return;
  }
  const time = (t) => new Date(t * 1000).toLocaleTimeString([], { hour12: false }) + "." + String(Math.floor((t % 1) * 1000)).padStart(3, "0");
  table.replaceChildren(...lines.map((f) => {
    const named = Object.entries(f.readings).map(([k, v]) => `${k}=${v}`).join(", ");
    return el("tr", { class: f.outgoing ? "out" : "in" },
      el("td", { class: "num", text: time(f.time) }),
      el("td", { text: f.outgoing ? "→" : "←", title: f.outgoing ? "sent to the meter" : "from the meter" }),
      el("td", { text: f.command }),
      el("td", {}, el("div", { text: f.text }), named ? el("div", { class: "muted", text: named }) : "",
        f.raw ? el("div", { class: "raw", text: f.raw }) : ""));
  }));
}

// -- start ------------------------------------------------------------------------------------

async function start() {
  await api("/api/session");
  const list = await api("/api/meters");
  state.meters = {};
  for (const m of list) state.meters[m.id] = { latest: m.latest, status: m.status };
  connect();
  route();
}

window.addEventListener("hashchange", route);
window.addEventListener("resize", () => {
  for (const [key, c] of Object.entries(state.charts)) {
    const box = $(key === "power" ? "#power-chart" : "#energy-chart");
    if (box) c.setSize({ width: chartWidth(box), height: window.innerWidth < 600 ? 200 : 260 });
  }
});
start().catch((e) => {
  if (!(e instanceof ApiError && e.message === "sign in first")) $("#main").textContent = "Cannot reach the gateway: " + e.message;
});
