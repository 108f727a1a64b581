// The annotation card: keys are handled here, in the browser, so a label key highlights its button with no
// round trip, and a save sends ONE complete action (choices + action + sentence id + sequence number).
// While a save is in flight, further keys are queued in order and replayed on the card that comes next;
// the server answers every action with its sequence number (ack), so a resent action is never saved twice.
// Text from the corpus and the schema is only ever set with textContent, so it is never parsed as HTML.

const RESEND_MS = 4000; // an unanswered action is sent again (same seq: the server saves it at most once)
const PERF_KEEP = 5000; // latency records kept for tests and the benchmark (a day's work stays small)

// one page may remount the card (page switch): the queue and sequence survive in the module
const M = (globalThis.__labelCard = globalThis.__labelCard || {
  client: Math.random().toString(36).slice(2, 10) + Date.now().toString(36),
  seq: 0,
  pending: null, // {seq, payload, sentAt, key}
  queue: [], // keys pressed while a save was in flight: {key, shift, t}
  live: null, // the mounted instance
  perf: [], // {key, kind, t0, t1}: key-to-visible in the page, read by tests and the benchmark
  listening: false,
});

const ACTION_KEYS = new Set(["Enter", "ArrowRight", "ArrowLeft", "Delete", "Escape", "?"]);

function record(entry) {
  M.perf.push(entry);
  if (M.perf.length > PERF_KEEP) M.perf.splice(0, M.perf.length - PERF_KEEP);
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

function pct(p) {
  return `${Math.round(p * 100)}%`;
}

function sameList(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameSel(a, b) {
  return sameList(a.topic, b.topic) && sameList(a.stance, b.stance);
}

function toggled(sel, task, name, multi) {
  const cur = sel[task];
  let next;
  if (multi) next = cur.includes(name) ? cur.filter((n) => n !== name) : cur.concat([name]);
  else next = cur.length === 1 && cur[0] === name ? [] : [name];
  return { ...sel, [task]: next };
}

function editableTarget(t) {
  if (!t || !t.tagName) return false;
  const tag = t.tagName.toLowerCase();
  return tag === "textarea" || (tag === "input" && t.type !== "button" && t.type !== "checkbox") ||
    t.isContentEditable;
}

// A sidebar select whose menu is closed keeps the focus after a choice; the card takes it back.
function closedSidebarSelect(t) {
  if (!t || !t.closest) return false;
  if (!t.closest('[data-testid="stSidebar"]')) return false;
  const combo = t.closest('[role="combobox"]') || (t.getAttribute && t.getAttribute("role") === "combobox" ? t : null);
  const expanded = (combo || t).getAttribute && (combo || t).getAttribute("aria-expanded");
  return expanded !== "true";
}

class Card {
  constructor(root, setTriggerValue) {
    this.root = root;
    this.send = setTriggerValue;
    this.data = null;
    this.sel = { topic: [], stance: [] };
    this.auto = null; // the stance the app filled in (pre-selected mode) while the annotator has not chosen one
    this.prefill = null;
    this.confirm = null; // the empty task an Enter asked about
    this.acceptNext = false;
    this.status = null;
    this.showGuide = false;
    this.recheckTimer = null;
    this.recheckS = 0;
    this.build();
  }

  // ------------------------------------------------------------ DOM, built once per mount

  build() {
    const r = this.root;
    const wrap = el("div", "card");
    wrap.setAttribute("data-testid", "annCard");
    wrap.tabIndex = -1;
    this.wrap = wrap;
    const head = el("div", "head");
    this.titleEl = el("span", "title");
    this.titleEl.setAttribute("data-testid", "annTitle");
    this.fileEl = el("span", "file");
    this.fileEl.setAttribute("data-testid", "annFile");
    this.posEl = el("span", "pos");
    this.posEl.setAttribute("data-testid", "annPosition");
    this.progEl = el("span", "prog");
    this.progEl.setAttribute("data-testid", "annProgress");
    head.append(this.titleEl, this.fileEl, this.posEl, this.progEl);
    this.backEl = el("div", "back");
    this.backEl.setAttribute("data-testid", "annBack");
    const text = el("div", "textbox");
    this.beforeEl = el("div", "ctx before");
    this.sentEl = el("div", "sentence");
    this.sentEl.setAttribute("data-testid", "annSentence");
    this.afterEl = el("div", "ctx after");
    text.append(this.beforeEl, this.sentEl, this.afterEl);
    this.tasksEl = el("div", "tasks");
    this.actionsEl = el("div", "actions");
    this.statusEl = el("div", "status");
    this.statusEl.setAttribute("data-testid", "annStatus");
    this.statusEl.setAttribute("aria-live", "polite");
    this.helpEl = el("div", "keys");
    this.helpEl.setAttribute("data-testid", "annKeys");
    this.guideEl = el("div", "guide hidden");
    this.guideEl.setAttribute("data-testid", "annGuide");
    this.emptyEl = el("div", "empty hidden");
    this.emptyEl.setAttribute("data-testid", "annEmpty");
    wrap.append(head, this.backEl, text, this.tasksEl, this.actionsEl, this.statusEl, this.helpEl, this.guideEl,
      this.emptyEl);
    r.appendChild(wrap);
    this.buttons = {}; // task -> name -> button
    this.actionButtons = {};
    this.schemaSig = "";
  }

  buildTasks(tasks) {
    const sig = JSON.stringify(tasks);
    if (sig === this.schemaSig) return;
    this.schemaSig = sig;
    this.tasksEl.textContent = "";
    this.buttons = {};
    for (const task of tasks) {
      const box = el("div", `task task-${task.name}`);
      const h = el("div", "taskhead");
      h.append(el("b", null, task.title));
      if (task.target) h.append(el("span", "target", ` toward ${task.target}`));
      if (task.optional) h.append(el("span", "optional", " (optional)"));
      h.title = task.description || "";
      this.tasks = tasks;
      const grid = el("div", "options");
      this.buttons[task.name] = {};
      for (const lab of task.labels) {
        const b = el("button", "opt");
        b.type = "button";
        b.setAttribute("data-testid", `annOpt-${task.name}-${lab.name}`);
        b.title = lab.description || "";
        const k = el("span", "k", lab.key || "·");
        const n = el("span", "n", lab.name);
        const s = el("span", "sug");
        b.append(k, n, s);
        b.addEventListener("click", () => this.key({ key: lab.key, label: [task.name, lab.name], t: performance.now() }));
        grid.append(b);
        this.buttons[task.name][lab.name] = b;
      }
      box.append(h, grid);
      this.tasksEl.append(box);
    }
    this.guideEl.textContent = "";
    this.guideEl.append(el("div", "guidehead", "Guidelines (press ? to close)"));
    for (const task of tasks) {
      const sec = el("div", "guidetask");
      sec.append(el("b", null, task.title + (task.target ? ` toward ${task.target}` : "")));
      if (task.description) sec.append(el("div", "gdesc", task.description));
      const dl = el("dl");
      for (const lab of task.labels) {
        dl.append(el("dt", null, `${lab.key ? lab.key + " " : ""}${lab.name}`), el("dd", null, lab.description || ""));
      }
      sec.append(dl);
      this.guideEl.append(sec);
    }
  }

  buildActions(actions) {
    const sig = JSON.stringify(actions);
    if (sig === this.actionSig) return;
    this.actionSig = sig;
    this.actionsEl.textContent = "";
    this.actionButtons = {};
    for (const a of actions) {
      const b = el("button", a.primary ? "act primary" : "act");
      b.type = "button";
      b.setAttribute("data-testid", `annAct-${a.id}`);
      b.append(el("span", "n", a.label), el("span", "k", a.keyText));
      b.addEventListener("click", () => this.key({ key: a.key, shift: !!a.shift, t: performance.now() }));
      this.actionsEl.append(b);
      this.actionButtons[a.id] = b;
    }
  }

  // ------------------------------------------------------------ data from Python

  update(data) {
    const tData = performance.now();
    const prev = this.data;
    this.data = data;
    this.buildTasks(data.tasks);
    this.buildActions(data.actions);
    const newCard = !prev || prev.card !== data.card;
    if (newCard) {
      this.sel = { topic: [...data.selection.topic], stance: [...data.selection.stance] };
      this.prefill = data.prefilled ? { topic: [...this.sel.topic], stance: [...this.sel.stance] } : null;
      this.auto = data.prefilled ? [...this.sel.stance] : null;
      this.confirm = null;
      this.acceptNext = false;
    }
    const p = M.pending;
    const acked = p && data.ack && data.ack.client === M.client && data.ack.seq >= p.seq;
    if (data.status && (!prev || data.status_id !== prev.status_id)) this.status = data.status;
    this.renderCard();
    this.armRecheck();
    if (acked) {
      M.pending = null;
      const t1 = performance.now();
      record({ key: p.key, kind: "save", t0: p.t, t1, seq: p.seq, sent: p.sentAt, data: tData });
      this.replay();
    } else if (!p) {
      this.replay();
    }
  }

  // No sentence only because what is left for this annotator is open with others (recheck_s > 0): ask the server
  // again every recheck_s seconds, so the card moves on by itself when a claim lapses or the others save. The
  // 'recheck' trigger only reruns the card; it saves nothing.
  armRecheck() {
    const d = this.data;
    const s = d && !d.sentence_id ? d.recheck_s || 0 : 0;
    if (s === this.recheckS) return;
    this.stopRecheck();
    this.recheckS = s;
    if (s > 0) {
      this.recheckTimer = setInterval(() => {
        if (M.live === this && !M.pending) this.send("recheck", Date.now());
      }, s * 1000);
    }
  }

  stopRecheck() {
    if (this.recheckTimer !== null) clearInterval(this.recheckTimer);
    this.recheckTimer = null;
    this.recheckS = 0;
  }

  renderCard() {
    const d = this.data;
    const empty = !d.sentence_id;
    this.wrap.classList.toggle("is-empty", empty);
    this.emptyEl.classList.toggle("hidden", !empty);
    this.emptyEl.textContent = empty ? d.empty_text : "";
    this.titleEl.textContent = d.title || "";
    this.fileEl.textContent = d.file || "";
    this.posEl.textContent = d.position || "";
    this.progEl.textContent = d.progress || "";
    this.backEl.textContent = d.back || "";
    this.backEl.classList.toggle("hidden", !d.back);
    this.beforeEl.textContent = "";
    for (const line of d.before || []) this.beforeEl.append(el("div", null, line));
    this.sentEl.textContent = d.text || "";
    this.sentEl.setAttribute("data-sid", d.sentence_id || "");
    this.afterEl.textContent = "";
    for (const line of d.after || []) this.afterEl.append(el("div", null, line));
    this.helpEl.textContent = d.keys_help || "";
    this.renderChoices();
    this.renderStatus();
  }

  stanceSuggestion() {
    const s = this.data.suggestion;
    if (!s) return null;
    const t = this.sel.topic.length === 1 ? this.sel.topic[0] : "";
    const by = s.stance_by_topic || {};
    const own = t && by[t] ? by[t] : null; // the stance suggested for the annotator's topic, when there is one
    const hit = own || by[""];
    if (!hit || !hit[0]) return null;
    return { name: hit[0], prob: hit[1], given: own && t !== s.topic ? t : "" };
  }

  renderChoices() {
    const d = this.data;
    const s = d.suggestion;
    const st = this.stanceSuggestion();
    for (const task of d.tasks) {
      for (const lab of task.labels) {
        const b = this.buttons[task.name][lab.name];
        const on = this.sel[task.name].includes(lab.name);
        b.classList.toggle("on", on);
        b.setAttribute("aria-pressed", on ? "true" : "false");
        const sug = b.querySelector(".sug");
        let mark = "";
        if (s && task.name === "topic" && s.topic === lab.name) mark = `model ${pct(s.topic_prob)}`;
        if (st && task.name === "stance" && st.name === lab.name) {
          mark = `model ${pct(st.prob)}` + (st.given ? ` for ${st.given}` : "");
        }
        sug.textContent = mark;
        b.classList.toggle("suggested", !!mark);
        b.setAttribute("data-suggested", mark ? "true" : "false");
        b.disabled = !d.sentence_id;
      }
      const box = this.tasksEl.querySelector(`.task-${task.name}`);
      if (box) box.classList.toggle("ask", this.confirm === task.name);
    }
    for (const b of Object.values(this.actionButtons)) b.disabled = !d.sentence_id && b !== this.actionButtons.back;
  }

  renderStatus() {
    const s = this.status;
    let text = s ? s.text : "";
    let kind = s ? s.kind : "idle";
    if (M.pending) {
      text = "Saving…";
      kind = "saving";
    }
    if (M.queue.length) text += ` (${M.queue.length} key${M.queue.length > 1 ? "s" : ""} queued)`;
    this.statusEl.textContent = text || "\u00a0";
    this.statusEl.className = `status ${kind}`;
    this.statusEl.setAttribute("data-kind", kind);
  }

  say(kind, text) {
    this.status = { kind, text };
    this.renderStatus();
  }

  // ------------------------------------------------------------ keys

  key(k) {
    if (M.pending) {
      M.queue.push(k);
      this.renderStatus();
      return;
    }
    this.apply(k);
  }

  replay() {
    while (!M.pending && M.queue.length) this.apply(M.queue.shift());
    this.renderStatus();
  }

  labelFor(key) {
    for (const task of this.data.tasks) {
      for (const lab of task.labels) if (lab.key && lab.key === key) return [task.name, lab.name];
    }
    return null;
  }

  apply(k) {
    const d = this.data;
    if (k.key === "?") {
      this.showGuide = !this.showGuide;
      this.guideEl.classList.toggle("hidden", !this.showGuide);
      return;
    }
    if (k.key === "ArrowLeft") return this.dispatch("back", k);
    if (!d.sentence_id) {
      if (k.key === "ArrowRight" && d.back) return this.dispatch("forward", k);
      this.say("info", d.empty_text);
      return;
    }
    const lab = k.label || this.labelFor(k.key);
    if (lab) {
      const [task, name] = lab;
      const multi = d.tasks.find((t) => t.name === task).multi;
      this.sel = toggled(this.sel, task, name, multi);
      if (task === "topic" && this.auto !== null && sameList(this.sel.stance, this.auto)) {
        const st = this.stanceSuggestion();
        this.sel = { ...this.sel, stance: st ? [st.name] : [] };
        this.auto = [...this.sel.stance];
      } else if (task === "stance") {
        this.auto = null; // the annotator's stance is never replaced
      }
      if (this.confirm === task && this.sel[task].length) this.confirm = null;
      this.acceptNext = false;
      this.renderChoices();
      if (this.status && this.status.kind !== "success") this.status = null;
      this.renderStatus();
      record({ key: k.key, kind: "label", t0: k.t, t1: performance.now() });
      return;
    }
    if (k.key === "Escape") {
      this.sel = { topic: [], stance: [] };
      this.auto = null;
      this.confirm = null;
      this.renderChoices();
      this.say("info", "Choices cleared.");
      return;
    }
    if (k.key === "Enter" && k.shift) {
      if (!d.accept) {
        this.say("info", d.back ? "No suggestion to accept when going back: choose and press Enter." :
          "No suggestion to accept here: choose and press Enter.");
        return;
      }
      const s = d.suggestion;
      const st = this.stanceSuggestion();
      const topic = this.sel.topic.length ? this.sel.topic : s.topic ? [s.topic] : [];
      const chosen = topic.length === 1 ? topic[0] : "";
      const by = s.stance_by_topic || {};
      const hit = (chosen && by[chosen]) || by[""] || (st ? [st.name, st.prob] : null);
      this.sel = { topic, stance: hit && hit[0] ? [hit[0]] : this.sel.stance };
      this.acceptNext = true;
      return this.save(k, true);
    }
    if (k.key === "Enter") return this.save(k, this.acceptNext);
    if (k.key === "ArrowRight") return this.dispatch(d.back ? "forward" : "skip", k);
    if (k.key === "Delete") return this.dispatch("not-sentence", k);
  }

  save(k, accept) {
    const d = this.data;
    if (!this.sel.topic.length && !this.sel.stance.length) {
      this.say("error", "Choose a topic or a stance first (or press → to skip).");
      return;
    }
    const empty = d.tasks.find((t) => !t.optional && !this.sel[t.name].length);
    if (empty && this.confirm !== empty.name) {
      this.confirm = empty.name;
      this.renderChoices();
      this.say("ask", `No ${empty.name} chosen: press Enter again to save it as not applicable, or press a ` +
        `${empty.name} key.`);
      return;
    }
    const untouched = !!this.prefill && sameSel(this.sel, this.prefill);
    this.dispatch("label", k, { accept: accept || untouched, na: empty ? [empty.name] : [] });
  }

  dispatch(action, k, extra) {
    const d = this.data;
    M.seq += 1;
    const payload = {
      client: M.client, seq: M.seq, card: d.card, sentence_id: d.sentence_id || "", action,
      topic: action === "label" ? [...this.sel.topic] : [], stance: action === "label" ? [...this.sel.stance] : [],
      accept: false, na: [], ...(extra || {}),
    };
    M.pending = { seq: M.seq, payload, sentAt: performance.now(), t: k.t, key: k.shift ? "Shift+Enter" : k.key };
    this.confirm = null;
    this.renderStatus();
    this.send("action", payload);
    this.armResend(M.seq);
  }

  armResend(seq) {
    setTimeout(() => {
      const p = M.pending;
      if (p && p.seq === seq && M.live === this) {
        this.send("action", p.payload);
        this.armResend(seq);
      }
    }, RESEND_MS);
  }
}

function onKey(ev) {
  const card = M.live;
  if (!card || !card.data) return;
  if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
  const t = ev.target;
  const inSidebarSelect = closedSidebarSelect(t);
  if (editableTarget(t) && !inSidebarSelect) return; // typing into a text field
  let key = ev.key;
  if (key === "Esc") key = "Escape";
  if (key === "Right") key = "ArrowRight";
  if (key === "Left") key = "ArrowLeft";
  const isLabel = key.length === 1 && card.labelFor(key.toLowerCase()) !== null;
  if (!isLabel && !ACTION_KEYS.has(key)) return;
  if (isLabel) key = key.toLowerCase();
  if (inSidebarSelect || (t && t.closest && t.closest('[data-testid="stSidebar"]'))) {
    t.blur();
    card.wrap.focus({ preventScroll: true });
  }
  ev.preventDefault();
  ev.stopPropagation();
  if (ev.repeat) return; // a held key is one press: a held Enter must not save sentence after sentence
  card.key({ key, shift: ev.shiftKey && key === "Enter", t: ev.timeStamp });
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let card = M.live;
  if (!card || card.root !== parentElement) {
    card = new Card(parentElement, setTriggerValue);
    M.live = card;
  }
  card.send = setTriggerValue;
  if (!M.listening) {
    window.addEventListener("keydown", onKey, true);
    M.listening = true;
  }
  card.update(data);
  // after a sidebar widget (queue order) the focus comes back to the card
  const a = document.activeElement;
  if (a && a !== document.body && a.closest && a.closest('[data-testid="stSidebar"]') && closedSidebarSelect(a)) {
    a.blur();
  }
  return () => {
    card.stopRecheck();
    if (M.live === card) {
      M.live = null;
      window.removeEventListener("keydown", onKey, true);
      M.listening = false;
    }
  };
}
