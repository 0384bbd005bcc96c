// Adaptive Failover dashboard.
//
// Plain JavaScript, no build step, no third-party code. It uses only the sidecar's public API:
//   GET  api/v1/state, api/v1/gateways, api/v1/targets, api/v1/log, api/v1/lab
//   GET  api/v1/events            (server-sent events: state, gateways, wan/failover/election/gateway)
//   POST/DELETE api/v1/elect      (Bearer token)
//   POST api/v1/lab/fault         (Bearer token, lab only)
// URLs are relative, so the page also works behind a reverse proxy that mounts it under a prefix.
"use strict";

(() => {
  const API = "api/v1/";
  const TOKEN_KEY = "failover.token";
  const HISTORY_SECONDS = 120;      // span of the live charts
  const STALE_AFTER_MS = 6000;      // the sidecar sends gateways every second; silence means a dead stream
  const RECONNECT_MIN_MS = 500;
  const RECONNECT_MAX_MS = 5000;
  const LOG_MAX = 200;
  const LOG_KINDS = ["wan", "failover", "election", "gateway"];
  // Okabe–Ito palette (colour-blind safe), paired with dash patterns so colour is never the only cue.
  const COLORS = ["#56B4E9", "#E69F00", "#009E73", "#F0E442", "#CC79A7", "#D55E00", "#0072B2", "#999999"];
  const DASHES = ["", "7 4", "2 3", "10 3 2 3"];

  const $ = (sel, root = document) => root.querySelector(sel);
  const byTestId = (id, root = document) => root.querySelector(`[data-testid="${id}"]`);

  // ---------------------------------------------------------------- page state
  const model = {
    state: null,
    gateways: [],
    history: new Map(),   // address -> [{t, rtt, jitter, loss}]
    seriesStyle: new Map(), // address -> {color, dash}
    logKeys: new Set(),
    lab: false,
  };

  // ---------------------------------------------------------------- formatting
  function fmtMs(v) {
    if (v === null || v === undefined || !Number.isFinite(v)) return "—";
    return v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(1)} ms`;
  }
  function fmtLoss(v) {
    if (v === null || v === undefined || !Number.isFinite(v)) return "—";
    return `${(v * 100).toFixed(1)} %`;
  }
  function fmtScore(v) {
    if (v === null || v === undefined || !Number.isFinite(v)) return "—";
    return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
  }
  function fmtClock(unixSeconds, withMs = false) {
    const d = new Date(unixSeconds * 1000);
    const pad = (n, w = 2) => String(n).padStart(w, "0");
    let s = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    if (withMs) s += `.${pad(d.getMilliseconds(), 3)}`;
    return s;
  }
  function fmtAgo(unixSeconds) {
    let s = Math.max(0, Math.round(Date.now() / 1000 - unixSeconds));
    if (s < 60) return `${s} s ago`;
    const m = Math.floor(s / 60); s %= 60;
    if (m < 60) return `${m} min ${s} s ago`;
    const h = Math.floor(m / 60);
    return `${h} h ${m % 60} min ago`;
  }
  function setPill(el, text, tone) {
    el.textContent = text;
    el.className = `pill pill-${tone}`;
  }
  const upDown = (b) => (b === true ? ["up", "good"] : b === false ? ["down", "bad"] : ["unknown", "unknown"]);

  // ---------------------------------------------------------------- HTTP
  async function request(method, path, { body, token, timeoutMs = 8000 } = {}) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = `Bearer ${token}`;
    try {
      return await fetch(API + path, {
        method, headers, signal: ctl.signal, cache: "no-store",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } finally {
      clearTimeout(timer);
    }
  }
  async function getJSON(path) {
    const r = await request("GET", path);
    if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
    return r.json();
  }
  async function errorText(r) {
    try {
      const j = await r.json();
      if (typeof j.detail === "string") return j.detail;
      if (j.detail) return JSON.stringify(j.detail);
      return JSON.stringify(j);
    } catch {
      return r.statusText || `HTTP ${r.status}`;
    }
  }

  // ---------------------------------------------------------------- connection banner
  function setConn(kind, text) {
    const el = byTestId("conn-status");
    el.dataset.state = kind;
    const tone = { live: "good", connecting: "unknown", unreachable: "bad" }[kind] || "unknown";
    setPill(el, text, tone);
    document.body.classList.toggle("stale", kind === "unreachable");
  }

  // ---------------------------------------------------------------- state panel
  function renderState(st) {
    model.state = st;
    const wan = st.wan || {}, fo = st.failover || {}, el = st.elected || {};
    byTestId("wan-interface").textContent = wan.interface ? `(${wan.interface})` : "";
    const [wanText, wanTone] = upDown(wan.up);
    setPill(byTestId("wan-up"), `WAN ${wanText}`, wanTone);
    setPill(byTestId("wan-carrier"), ...upDown(wan.carrier));
    setPill(byTestId("wan-path"), ...upDown(wan.path));

    const active = fo.active === true;
    setPill(byTestId("failover-active"), fo.active === undefined ? "unknown" : active ? "ON" : "off",
            fo.active === undefined ? "unknown" : active ? "warn" : "good");
    byTestId("failover-active").dataset.active = String(active);
    renderSince();
    byTestId("failover-rule").textContent = fo.rule === true ? "present" : fo.rule === false ? "absent" : "—";
    byTestId("changes").textContent = st.changes ?? "—";

    byTestId("elected-name").textContent = el.name || el.address || "none";
    byTestId("elected-address").textContent = el.address || "—";
    const pinned = el.pinned === true;
    setPill(byTestId("elected-pinned"), pinned ? "pinned" : "automatic", pinned ? "warn" : "neutral");
    byTestId("elected-pinned").dataset.pinned = String(pinned);
    byTestId("unpin-button").hidden = !pinned;

    renderIpv6(st.ipv6);

    const d = st.daemon;
    const banner = byTestId("daemon-status");
    if (d && d.connected === false) {
      banner.textContent = `Daemon not connected${d.message ? `: ${d.message}` : ""}`;
      banner.hidden = false;
    } else {
      banner.hidden = true;
      banner.textContent = "";
    }
    document.title = `${active ? "⚠ Failover ON" : "WAN " + wanText} — Adaptive Failover`;
    renderGateways(model.gateways);  // pin buttons depend on the pinned state
  }

  // IPv6's own verdicts (absent from a sidecar before IPv6: shown unknown).
  function renderIpv6(v6) {
    v6 = v6 || {};
    const [text, tone] = upDown(v6.up);
    setPill(byTestId("ipv6-up"), `IPv6 ${text}`, tone);
    setPill(byTestId("ipv6-path"), ...upDown(v6.path));
    setPill(byTestId("ipv6-failover"), v6.failover === undefined ? "unknown" : v6.failover ? "ON" : "off",
            v6.failover === undefined ? "unknown" : v6.failover ? "warn" : "good");
    byTestId("ipv6-failover").dataset.active = String(v6.failover === true);
    byTestId("ipv6-rule").textContent = v6.rule === true ? "present" : v6.rule === false ? "absent" : "—";
  }

  // The gateway carrying IPv6 (the elected one, or where IPv6 went): from the gateways' serves6.
  function renderIpv6Via() {
    const gw = model.gateways.find((g) => g.serves6 === true);
    byTestId("ipv6-via").textContent = gw ? `${gw.name || gw.address} ${gw.address6}` : "none";
  }

  function renderSince() {
    const el = byTestId("failover-since");
    const since = model.state && model.state.failover ? model.state.failover.since : null;
    if (since === null || since === undefined) {
      el.textContent = "—";
      return;
    }
    el.textContent = "";
    const t = document.createElement("time");
    t.dateTime = new Date(since * 1000).toISOString();
    t.textContent = fmtClock(since);
    el.append(t, ` (${fmtAgo(since)})`);
  }

  // ---------------------------------------------------------------- gateways
  function styleFor(address) {
    if (!model.seriesStyle.has(address)) {
      const i = model.seriesStyle.size;
      model.seriesStyle.set(address, { color: COLORS[i % COLORS.length], dash: DASHES[i % DASHES.length] });
    }
    return model.seriesStyle.get(address);
  }

  function gatewayCard(gw) {
    const card = document.createElement("article");
    card.className = "gw card";
    card.dataset.testid = "gateway-card";
    card.dataset.address = gw.address;
    card.innerHTML = `
      <header class="gw-head">
        <span class="swatch" aria-hidden="true"></span>
        <h3 data-testid="gw-name"></h3>
        <span class="muted" data-testid="gw-address"></span>
        <span data-testid="gw-status" class="pill pill-unknown">unknown</span>
        <span data-testid="gw-elected" class="pill pill-accent" hidden>elected</span>
        <span data-testid="gw-unreachable" class="pill pill-bad" hidden
              title="The router's up/down exchanges with it fail: the election does not use it">unreachable</span>
      </header>
      <dl class="metrics">
        <div><dt>RTT</dt><dd data-testid="gw-rtt">—</dd></div>
        <div><dt>Jitter</dt><dd data-testid="gw-jitter">—</dd></div>
        <div><dt>Loss</dt><dd data-testid="gw-loss">—</dd></div>
        <div><dt>Score</dt><dd data-testid="gw-score">—</dd></div>
      </dl>
      <p class="gw-v6" data-testid="gw-ipv6">
        <span class="label">IPv6</span>
        <span data-testid="gw-address6" class="muted"></span>
        <span data-testid="gw-status6" class="pill pill-unknown">unknown</span>
        <span class="label">RTT</span><span data-testid="gw-rtt6">—</span>
        <span data-testid="gw-serves6" class="pill pill-accent" hidden>serves IPv6</span>
      </p>
      <button type="button" data-testid="pin-button"></button>`;
    $("button", card).addEventListener("click", () => {
      const pinnedHere = isPinned(card.dataset.address);
      if (pinnedHere) unpin();
      else pin(card.dataset.address, card.dataset.name);
    });
    return card;
  }

  function isPinned(address) {
    const el = model.state && model.state.elected;
    return !!(el && el.pinned && el.address === address);
  }

  function renderGateways(list) {
    model.gateways = Array.isArray(list) ? list : [];
    const box = byTestId("gateway-list");
    byTestId("gateways-empty").hidden = model.gateways.length > 0;
    const existing = new Map([...box.children].map((c) => [c.dataset.address, c]));
    model.gateways.forEach((gw, i) => {
      let card = existing.get(gw.address);
      if (!card) card = gatewayCard(gw);
      existing.delete(gw.address);
      if (box.children[i] !== card) box.insertBefore(card, box.children[i] || null);
      const style = styleFor(gw.address);
      card.dataset.name = gw.name || gw.address;
      card.dataset.status = gw.status;
      $(".swatch", card).style.background = style.color;
      byTestId("gw-name", card).textContent = gw.name || gw.address;
      byTestId("gw-address", card).textContent = gw.address;
      const tone = gw.status === "up" ? "good" : gw.status === "down" ? "bad" : "unknown";
      setPill(byTestId("gw-status", card), gw.status || "unknown", tone);
      byTestId("gw-elected", card).hidden = !gw.elected;
      byTestId("gw-unreachable", card).hidden = gw.reachable !== false;
      card.dataset.usable = String(gw.usable !== false);
      card.classList.toggle("elected", !!gw.elected);
      byTestId("gw-rtt", card).textContent = fmtMs(gw.rtt_ms);
      byTestId("gw-jitter", card).textContent = fmtMs(gw.jitter_ms);
      byTestId("gw-loss", card).textContent = fmtLoss(gw.loss);
      byTestId("gw-score", card).textContent = fmtScore(gw.score);
      // IPv6: its own heartbeat; a gateway without address6 has none (status6 null).
      const has6 = typeof gw.address6 === "string";
      byTestId("gw-address6", card).textContent = has6 ? gw.address6 : "no address6";
      const status6 = byTestId("gw-status6", card);
      status6.hidden = !has6;
      if (has6) setPill(status6, gw.status6 || "unknown",
                        gw.status6 === "up" ? "good" : gw.status6 === "down" ? "bad" : "unknown");
      card.dataset.status6 = has6 ? gw.status6 || "unknown" : "none";
      byTestId("gw-rtt6", card).textContent = has6 ? fmtMs(gw.rtt6_ms) : "—";
      byTestId("gw-serves6", card).hidden = gw.serves6 !== true;
      const btn = byTestId("pin-button", card);
      const pinnedHere = isPinned(gw.address);
      btn.textContent = pinnedHere ? "Unpin" : "Pin";
      btn.setAttribute("aria-label", `${pinnedHere ? "Unpin" : "Pin"} ${gw.name || gw.address}`);
      btn.disabled = !pinnedHere && (gw.status === "down" || gw.reachable === false);
      btn.title = !btn.disabled ? ""
        : gw.status === "down" ? "A gateway that is down cannot be pinned"
        : "A gateway that does not answer up/down cannot be pinned";
    });
    for (const stale of existing.values()) stale.remove();
    renderIpv6Via();
  }

  // ---------------------------------------------------------------- path check targets
  // Polled once a second (the event stream carries gateways, not targets); a router without a
  // path check has none and the panel stays hidden.
  // A target judges its own address's family; each family's path has its own quorum.
  const FAMILIES = [["ipv4", "IPv4"], ["ipv6", "IPv6"]];
  const familyOf = (address) => (String(address).includes(":") ? "ipv6" : "ipv4");

  // "(IPv4 3 of 3 up · IPv6 2 of 3 up)": one part per family that has targets.
  function renderQuorum(targets) {
    const parts = [];
    for (const [family, label] of FAMILIES) {
      const own = targets.filter((t) => familyOf(t.address) === family);
      if (!own.length) continue;
      const part = document.createElement("span");
      part.dataset.testid = `targets-quorum-${family}`;
      part.textContent = `${label} ${own.filter((t) => t.status === "up").length} of ${own.length} up`;
      parts.push(parts.length ? " · " : "(", part);
    }
    if (parts.length) parts.push(")");
    byTestId("targets-quorum").replaceChildren(...parts);
  }

  function renderTargets(list) {
    const targets = Array.isArray(list) ? list : [];
    byTestId("targets-panel").hidden = targets.length === 0;
    renderQuorum(targets);
    const body = $("tbody", byTestId("target-list"));
    const existing = new Map([...body.children].map((r) => [r.dataset.address, r]));
    targets.forEach((t, i) => {
      let row = existing.get(t.address);
      if (!row) {
        row = document.createElement("tr");
        row.dataset.testid = "target-row";
        row.dataset.address = t.address;
        row.dataset.family = familyOf(t.address);
        row.innerHTML = `<th scope="row" data-testid="target-address"></th>
          <td data-testid="target-family">${row.dataset.family === "ipv6" ? "IPv6" : "IPv4"}</td><td data-testid="target-kind"></td>
          <td><span data-testid="target-status" class="pill pill-unknown">unknown</span></td>
          <td data-testid="target-rtt">—</td><td data-testid="target-loss">—</td>`;
      }
      existing.delete(t.address);
      if (body.children[i] !== row) body.insertBefore(row, body.children[i] || null);
      row.dataset.status = t.status;
      byTestId("target-address", row).textContent = t.address;
      byTestId("target-kind", row).textContent = t.kind;
      const tone = t.status === "up" ? "good" : t.status === "down" ? "bad" : "unknown";
      setPill(byTestId("target-status", row), t.status || "unknown", tone);
      byTestId("target-rtt", row).textContent = fmtMs(t.rtt_ms);
      byTestId("target-loss", row).textContent = fmtLoss(t.loss);
    });
    for (const stale of existing.values()) stale.remove();
  }

  async function refreshTargets() {
    try {
      renderTargets(await getJSON("targets"));
    } catch { /* the stream's banner tells when the sidecar is gone */ }
  }

  function recordHistory(list) {
    const t = Date.now() / 1000;
    for (const gw of list) {
      let h = model.history.get(gw.address);
      if (!h) model.history.set(gw.address, (h = []));
      h.push({ t, rtt: gw.rtt_ms, jitter: gw.jitter_ms, loss: gw.loss === null || gw.loss === undefined ? null : gw.loss * 100 });
      while (h.length && h[0].t < t - HISTORY_SECONDS) h.shift();
    }
  }

  // ---------------------------------------------------------------- charts (plain SVG)
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

  function drawChart(fig, field, unit, minMax, capMax = Infinity) {
    const svg = $("svg", fig);
    const w = Math.max(200, Math.round(svg.clientWidth || 400));
    const h = Math.max(100, Math.round(svg.clientHeight || 160));
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    // The viewBox is the element's pixel size, so text and margins scale with the page's font size.
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    const m = { l: 2.8 * rem, r: 0.5 * rem, t: 0.5 * rem, b: 1.4 * rem };
    const now = Date.now() / 1000;
    let t0 = now - HISTORY_SECONDS;
    let first = Infinity, max = 0;
    for (const hist of model.history.values()) {
      if (hist.length) first = Math.min(first, hist[0].t);
      for (const p of hist) if (p[field] !== null && p[field] !== undefined && p[field] > max) max = p[field];
    }
    // Until two minutes of data exist, stretch what there is over the width (at least 10 s).
    if (first !== Infinity) t0 = Math.max(t0, Math.min(first, now - 10));
    const yMax = Math.min(capMax, niceMax(Math.max(max * 1.05, minMax)));
    const x = (t) => m.l + ((t - t0) / (now - t0)) * (w - m.l - m.r);
    const y = (v) => m.t + (1 - v / yMax) * (h - m.t - m.b);

    let out = "";
    for (let i = 0; i <= 4; i++) {
      const v = (yMax * i) / 4, yy = y(v).toFixed(1);
      out += `<line class="gridline" x1="${m.l}" x2="${w - m.r}" y1="${yy}" y2="${yy}"/>`;
      out += `<text class="tick" x="${m.l - 0.4 * rem}" y="${yy}" text-anchor="end" dominant-baseline="middle">${esc(+v.toPrecision(3))}</text>`;
    }
    const span = now - t0;
    out += `<text class="tick" x="${m.l}" y="${h - 0.3 * rem}">−${Math.round(span)} s</text>`;
    out += `<text class="tick" x="${w - m.r}" y="${h - 0.3 * rem}" text-anchor="end">now</text>`;

    const summary = [];
    for (const gw of model.gateways) {
      const hist = model.history.get(gw.address) || [];
      const style = styleFor(gw.address);
      let d = "", pen = false;
      for (const p of hist) {
        const v = p[field];
        if (v === null || v === undefined || !Number.isFinite(v) || p.t < t0) { pen = false; continue; }
        d += `${pen ? "L" : "M"}${x(p.t).toFixed(1)},${y(Math.min(v, yMax)).toFixed(1)}`;
        pen = true;
      }
      if (d) {
        const dash = style.dash ? style.dash.split(" ").map((n) => (n * rem) / 16).join(" ") : "";
        out += `<path class="series${gw.elected ? " elected" : ""}" d="${d}" stroke="${style.color}"` +
               `${dash ? ` stroke-dasharray="${dash}"` : ""}/>`;
      }
      const last = hist.length ? hist[hist.length - 1][field] : null;
      summary.push(`${gw.name || gw.address} ${last === null || last === undefined ? "no data" : `${(+last).toFixed(1)} ${unit}`}`);
    }
    svg.innerHTML = out;
    svg.setAttribute("aria-label", `${$("figcaption", fig).textContent}: ${summary.join(", ") || "no data"}`);
  }

  function renderLegend() {
    const ul = byTestId("chart-legend");
    ul.textContent = "";
    for (const gw of model.gateways) {
      const style = styleFor(gw.address);
      const li = document.createElement("li");
      li.innerHTML = `<svg viewBox="0 0 28 10" aria-hidden="true"><line x1="1" x2="27" y1="5" y2="5" stroke="${style.color}" stroke-width="3"${style.dash ? ` stroke-dasharray="${style.dash}"` : ""}/></svg>`;
      li.append(gw.name || gw.address);
      ul.append(li);
    }
  }

  function renderCharts() {
    drawChart(byTestId("chart-rtt"), "rtt", "ms", 1);
    drawChart(byTestId("chart-jitter"), "jitter", "ms", 1);
    drawChart(byTestId("chart-loss"), "loss", "%", 5, 100);
  }

  function onGateways(list, { record = true } = {}) {
    if (record) recordHistory(list);
    renderGateways(list);
    renderLegend();
    renderCharts();
  }

  // ---------------------------------------------------------------- event log
  const logKey = (e) => `${e.ts}|${e.kind}|${e.message}`;

  function logItem(e) {
    const li = document.createElement("li");
    li.className = `log-item kind-${LOG_KINDS.includes(e.kind) ? e.kind : "other"}`;
    li.dataset.testid = "log-entry";
    li.dataset.kind = e.kind;
    li.dataset.ts = e.ts;
    const time = document.createElement("time");
    if (Number.isFinite(e.ts)) {
      time.dateTime = new Date(e.ts * 1000).toISOString();
      time.textContent = fmtClock(e.ts, true);
    }
    const kind = document.createElement("span");
    kind.className = "kind";
    kind.textContent = e.kind;
    const msg = document.createElement("span");
    msg.className = "msg";
    msg.dataset.testid = "log-message";
    msg.textContent = e.message ?? "";
    li.append(time, kind, msg);
    if (e.reason !== undefined && e.reason !== null && !String(e.message ?? "").includes(String(e.reason))) {
      const r = document.createElement("span");
      r.className = "reason";
      r.dataset.testid = "log-reason";
      r.textContent = `reason: ${e.reason}`;
      li.append(r);
    }
    // Whatever else the event carries (the decision's inputs) is shown compactly.
    const extra = Object.entries(e).filter(([k]) => !["ts", "kind", "message", "reason"].includes(k));
    if (extra.length) {
      const x = document.createElement("span");
      x.className = "extra";
      const show = (v) => (typeof v === "number" && !Number.isInteger(v) ? +v.toFixed(3)
                          : typeof v === "object" && v !== null ? JSON.stringify(v) : v);
      x.textContent = extra.map(([k, v]) => `${k}=${show(v)}`).join(" ");
      li.append(x);
    }
    return li;
  }

  function addLog(e) {
    const key = logKey(e);
    if (model.logKeys.has(key)) return;
    model.logKeys.add(key);
    const ol = byTestId("event-log");
    const li = logItem(e);
    // Newest first: insert before the first entry that is older.
    let before = ol.firstElementChild;
    while (before && Number(before.dataset.ts) > e.ts) before = before.nextElementSibling;
    ol.insertBefore(li, before);
    while (ol.children.length > LOG_MAX) {
      const old = ol.lastElementChild;
      model.logKeys.delete(`${old.dataset.ts}|${old.dataset.kind}|${$(".msg", old).textContent}`);
      old.remove();
    }
  }

  // ---------------------------------------------------------------- token and mutating calls
  function askToken(message) {
    const dlg = byTestId("token-dialog");
    const input = byTestId("token-input");
    byTestId("token-message").textContent = message;
    input.value = "";
    return new Promise((resolve) => {
      dlg.addEventListener("close", () => {
        resolve(dlg.returnValue === "ok" && input.value.trim() ? input.value.trim() : null);
      }, { once: true });
      dlg.returnValue = "";
      dlg.showModal();
      input.focus();
    });
  }

  // Sends a mutating call with the token, asking for it when it is missing or refused (401).
  // Returns the response, or null when the person cancels.
  async function authed(method, path, body) {
    let message = "Changes need the sidecar's API token (from api.token_file).";
    for (;;) {
      let token = sessionStorage.getItem(TOKEN_KEY);
      if (!token) {
        token = await askToken(message);
        if (token === null) return null;
        sessionStorage.setItem(TOKEN_KEY, token);
      }
      const r = await request(method, path, { body, token });
      if (r.status !== 401) return r;
      sessionStorage.removeItem(TOKEN_KEY);
      message = "The sidecar refused that token (401). Enter it again.";
    }
  }

  function say(text, tone = "neutral") {
    const el = byTestId("action-status");
    el.textContent = text;
    el.dataset.tone = tone;
  }

  async function mutate(label, method, path, body) {
    say(`${label}…`);
    try {
      const r = await authed(method, path, body);
      if (r === null) { say(`${label}: cancelled.`); return false; }
      if (!r.ok) { say(`${label} failed: ${await errorText(r)} (HTTP ${r.status})`, "bad"); return false; }
      say(`${label}: done.`, "good");
      refreshState();
      return true;
    } catch (err) {
      say(`${label} failed: sidecar unreachable (${err.message || err})`, "bad");
      return false;
    }
  }

  const pin = (address, name) => mutate(`Pin ${name || address}`, "POST", "elect", { address });
  const unpin = () => mutate("Unpin", "DELETE", "elect");
  const fault = (kind) => mutate(`Lab fault ${kind}`, "POST", "lab/fault", { kind });

  // ---------------------------------------------------------------- the lab's demo flows
  // What a failover costs a real flow: the lab's client sends a steady UDP echo to the
  // internet host, over IPv4 and (a dual-stack lab) over IPv6; their senders' counters come
  // with GET api/v1/lab as flow and flow6.
  function renderFlow(el, label, flow) {
    if (!flow) { el.textContent = `${label}: no data yet.`; return; }
    const pct = (100 * flow.loss).toFixed(1);
    const now = flow.outage_ms > 0 ? `, no echo for ${Math.round(flow.outage_ms)} ms now` : "";
    el.textContent = `${label} (client → internet host, UDP echo): sent ${flow.sent}, ` +
      `echoed ${flow.received} (${pct} % lost), longest outage ${Math.round(flow.longest_outage_ms)} ms${now}.`;
  }

  function renderFlows(lab) {
    renderFlow(byTestId("lab-flow"), "Demo flow", lab.flow);
    // A lab without IPv6 runs no IPv6 flow: its line stays hidden until one reports.
    const el6 = byTestId("lab-flow6");
    el6.hidden = !lab.flow6;
    renderFlow(el6, "IPv6 demo flow", lab.flow6);
  }

  setInterval(async () => {
    if (!model.lab) return;
    try { renderFlows(await getJSON("lab")); } catch { /* the stream reports reachability */ }
  }, 1000);

  // ---------------------------------------------------------------- snapshots and the live stream
  // A GET answer can arrive after a newer state the stream pushed (another connection, a busy
  // relay): it is applied only if no pushed state came in since it was asked for. The stream is
  // ordered and complete, so whatever it pushed last is never undone by an older snapshot.
  let pushedStates = 0;

  function onPushedState(st) {
    pushedStates += 1;
    renderState(st);
  }

  async function refreshState() {
    const asked = pushedStates;
    try {
      const st = await getJSON("state");
      if (pushedStates === asked) renderState(st);
    } catch { /* the stream will tell */ }
  }

  async function loadSnapshot() {
    const asked = pushedStates;
    const [state, gws, log, lab] = await Promise.allSettled([
      getJSON("state"), getJSON("gateways"), getJSON("log"), getJSON("lab"),
    ]);
    if (state.status === "fulfilled" && pushedStates === asked) renderState(state.value);
    if (gws.status === "fulfilled") onGateways(gws.value, { record: false });
    if (log.status === "fulfilled" && Array.isArray(log.value)) log.value.forEach(addLog);
    // A sidecar without a lab answers 404: no fault buttons.
    model.lab = lab.status === "fulfilled" && lab.value && lab.value.enabled === true;
    byTestId("lab-panel").hidden = !model.lab;
    if (model.lab) renderFlows(lab.value);
    if (state.status === "rejected" && gws.status === "rejected") throw state.reason;
  }

  let source = null, retryMs = RECONNECT_MIN_MS, retryTimer = null, lastMessage = 0, hadError = false;

  function handle(fn) {
    return (ev) => {
      lastMessage = Date.now();
      let data;
      try { data = JSON.parse(ev.data); } catch { return; }
      fn(data);
    };
  }

  function connect() {
    clearTimeout(retryTimer);
    if (source) source.close();
    setConn("connecting", hadError ? "reconnecting…" : "connecting…");
    source = new EventSource(API + "events");
    source.addEventListener("open", () => {
      lastMessage = Date.now();
      retryMs = RECONNECT_MIN_MS;
      setConn("live", "live");
      // Catch up with what was missed while the stream was down (state and gateways come on the stream).
      if (hadError) loadSnapshot().catch(() => {});
      hadError = false;
    });
    source.addEventListener("state", handle(onPushedState));
    source.addEventListener("gateways", handle((list) => onGateways(list)));
    for (const k of LOG_KINDS) source.addEventListener(k, handle((e) => addLog({ kind: k, ...e })));
    source.addEventListener("message", () => { lastMessage = Date.now(); });
    source.addEventListener("error", () => {
      // The browser retries by itself after a network error, but not after an HTTP error;
      // take over in both cases so the back-off and the banner are ours.
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    if (source) { source.close(); source = null; }
    hadError = true;
    const wait = retryMs;
    retryMs = Math.min(RECONNECT_MAX_MS, retryMs * 2);
    setConn("unreachable", `sidecar unreachable — retrying in ${Math.ceil(wait / 1000)} s`);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, wait);
  }

  // Once a second: keep "since … ago" current and catch a stream that went silent.
  setInterval(() => {
    renderSince();
    refreshTargets();
    if (source && source.readyState === EventSource.OPEN && Date.now() - lastMessage > STALE_AFTER_MS) {
      scheduleReconnect();
    }
  }, 1000);

  // ---------------------------------------------------------------- wiring
  document.addEventListener("DOMContentLoaded", () => {
    byTestId("unpin-button").addEventListener("click", unpin);
    for (const b of document.querySelectorAll("[data-fault]")) b.addEventListener("click", () => fault(b.dataset.fault));
    let resizeTimer = null;
    window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(renderCharts, 100); });
    refreshTargets();
    loadSnapshot().catch(() => {
      if (!source || source.readyState !== EventSource.OPEN) setConn("unreachable", "sidecar unreachable");
    });
    connect();
  });
})();
