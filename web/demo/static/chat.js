// The demo chat page. Everything the bot sent arrives by long polling /chat/api/log (one log for
// all chats, so personas not on screen get unread counts); what the person does is posted to
// /chat/api/{send,press,contact,photo}, which the stand-in turns into Telegram updates.
"use strict";

const state = {
  personas: [],
  byKey: new Map(),
  current: null, // the persona on screen
  after: 0, // the last log entry seen
  entries: new Map(), // chat_id -> [entry], edits included
  unread: new Map(), // chat_id -> count
};

const KINDS = [
  ["citizen", "群众 · Citizens"],
  ["office", "办公室 · Office"],
  ["group", "办公室群 · Office group"],
  ["liaison", "单位联络员 · Unit liaisons"],
];

const $ = (id) => document.getElementById(id);

async function api(name, body) {
  const response = await fetch(`/chat/api/${name}`, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
  return response.json();
}

// -- personas ---------------------------------------------------------------------------------

function renderPersonas(links) {
  const list = $("persona-list");
  list.textContent = "";
  for (const [kind, title] of KINDS) {
    const group = state.personas.filter((p) => p.kind === kind);
    if (!group.length) continue;
    const h = document.createElement("h2");
    h.textContent = title;
    list.append(h);
    for (const p of group) {
      const b = document.createElement("button");
      b.className = "persona";
      b.dataset.kind = p.kind;
      b.dataset.key = p.key;
      b.id = `persona-${p.key}`;
      const avatar = document.createElement("span");
      avatar.className = "avatar";
      avatar.textContent = [...p.name][0];
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = p.name;
      name.title = p.unit_name ? `${p.name} · ${p.unit_id}` : p.name;
      const unread = document.createElement("span");
      unread.className = "unread";
      b.append(avatar, name, unread);
      b.addEventListener("click", () => choose(p.key));
      list.append(b);
    }
  }
  const footer = $("links");
  footer.textContent = "";
  for (const [label, href] of Object.entries(links || {})) {
    const a = document.createElement("a");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener";
    a.textContent = label;
    footer.append(a);
  }
}

function choose(key) {
  const p = state.byKey.get(key);
  if (!p) return;
  state.current = p;
  if (location.hash !== `#${key}`) history.replaceState(null, "", `#${key}`);
  $("chat").dataset.persona = key;
  for (const b of document.querySelectorAll(".persona")) b.classList.toggle("active", b.dataset.key === key);
  $("chat-title").textContent = p.name;
  const sub = {
    citizen: "群众：直接描述问题即可反映 · a citizen: just describe the problem",
    liaison: `联络员 · liaison of ${p.unit_id}`,
    office: "办公室成员：/web 获取后台登录链接 · office member: /web sends a dashboard login link",
    group: "办公室群：通知、督办抄送 · the office group: digests, notices",
  }[p.kind];
  $("chat-sub").textContent = sub;
  $("text").disabled = false;
  $("send").disabled = false;
  $("photo").disabled = p.kind === "group";
  state.unread.set(p.chat_id, 0);
  renderUnread();
  renderChat();
  renderCommands(p);
  $("text").focus();
}

// the command menu as chips: one click sends the command (the bot sets its menus at start)
async function renderCommands(p) {
  const box = $("commands");
  const { commands } = await api(`commands?persona=${encodeURIComponent(p.key)}`);
  if (state.current !== p) return;
  box.textContent = "";
  for (const c of commands) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = `/${c.command}`;
    b.title = c.description;
    b.dataset.command = c.command;
    b.addEventListener("click", () => act("send", { text: `/${c.command}` }));
    box.append(b);
  }
}

function renderUnread() {
  for (const p of state.personas) {
    const b = document.getElementById(`persona-${p.key}`);
    if (!b) continue;
    const n = state.unread.get(p.chat_id) || 0;
    b.querySelector(".unread").textContent = n ? String(n) : "";
  }
}

// -- messages ---------------------------------------------------------------------------------

const ALLOWED = new Set(["B", "STRONG", "I", "EM", "U", "INS", "S", "STRIKE", "DEL", "CODE", "PRE", "A", "BLOCKQUOTE", "TG-SPOILER", "SPAN"]);
const URL_RE = /https?:\/\/[^\s<>"']+/g;

// Telegram's HTML subset, rebuilt node by node: nothing the bot sends can run script here
function safeHtml(html) {
  const doc = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
  const out = document.createDocumentFragment();
  const copy = (from, to) => {
    for (const node of from.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) {
        to.append(linkify(node.textContent));
      } else if (node.nodeType === Node.ELEMENT_NODE && ALLOWED.has(node.tagName)) {
        const el = document.createElement(node.tagName === "TG-SPOILER" ? "span" : node.tagName.toLowerCase());
        if (node.tagName === "A") {
          const href = node.getAttribute("href") || "";
          if (/^https?:\/\//.test(href)) {
            el.href = href;
            el.target = "_blank";
            el.rel = "noopener";
          }
        }
        copy(node, el);
        to.append(el);
      } else if (node.nodeType === Node.ELEMENT_NODE) {
        copy(node, to);
      }
    }
  };
  copy(doc.body, out);
  return out;
}

function linkify(text) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    frag.append(text.slice(last, m.index));
    const a = document.createElement("a");
    a.href = m[0];
    a.target = "_blank";
    a.rel = "noopener";
    a.textContent = m[0];
    frag.append(a);
    last = m.index + m[0].length;
  }
  frag.append(text.slice(last));
  return frag;
}

function messageElement(entry) {
  const div = document.createElement("div");
  div.className = `msg ${entry.who}`;
  div.dataset.messageId = String(entry.message_id);
  div.dataset.who = entry.who;
  fillMessage(div, entry);
  return div;
}

function fillMessage(div, entry) {
  div.textContent = "";
  div.dataset.seq = String(entry.seq); // the log entry shown (an edit raises it): tests wait on it
  if (entry.media) {
    if (entry.media.kind === "photo" && entry.media.url) {
      const img = document.createElement("img");
      img.src = entry.media.url;
      img.alt = "photo";
      div.append(img);
    } else {
      const a = document.createElement(entry.media.url ? "a" : "span");
      a.className = "file";
      a.textContent = `📎 ${entry.media.name || entry.media.kind}`;
      if (entry.media.url) {
        a.href = entry.media.url;
        a.download = entry.media.name || "";
      }
      div.append(a, document.createElement("br"));
    }
  }
  const body = document.createElement("span");
  body.className = "body";
  body.append(entry.html ? safeHtml(entry.text) : linkify(entry.text));
  div.append(body);
  if (entry.edit) {
    const e = document.createElement("span");
    e.className = "edited";
    e.textContent = "已编辑";
    div.append(e);
  }
  if (entry.inline && entry.inline.length) {
    const box = document.createElement("div");
    box.className = "inline";
    for (const row of entry.inline) {
      const r = document.createElement("div");
      r.className = "row";
      for (const button of row) {
        if (button.url) {
          const a = document.createElement("a");
          a.className = "url";
          a.href = button.url;
          a.target = "_blank";
          a.rel = "noopener";
          a.textContent = `${button.text} ↗`;
          r.append(a);
          continue;
        }
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = button.text;
        b.dataset.callback = button.data || "";
        b.addEventListener("click", () => press(entry.message_id, button.data));
        r.append(b);
      }
      box.append(r);
    }
    div.append(box);
  }
}

function renderChat() {
  const box = $("messages");
  box.textContent = "";
  const p = state.current;
  if (!p) return;
  const shown = new Map(); // message_id of the bot -> element (an edit replaces the content)
  let keyboard = null;
  let keyboardSeq = 0;
  for (const entry of state.entries.get(p.chat_id) || []) {
    if (entry.who === "bot" && entry.edit && shown.has(entry.message_id)) {
      fillMessage(shown.get(entry.message_id), entry);
    } else {
      const el = messageElement(entry);
      box.append(el);
      if (entry.who === "bot") shown.set(entry.message_id, el);
    }
    if ("keyboard" in entry) [keyboard, keyboardSeq] = [entry.keyboard, entry.seq];
  }
  renderKeyboard(keyboard, keyboardSeq);
  box.scrollTop = box.scrollHeight;
}

function renderKeyboard(rows, seq) {
  const kb = $("keyboard");
  kb.textContent = "";
  kb.dataset.seq = String(seq || 0);
  kb.hidden = !rows || !rows.length;
  for (const row of rows || []) {
    const r = document.createElement("div");
    r.className = "row";
    for (const button of row) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = button.text;
      b.dataset.contact = button.contact ? "1" : "";
      b.addEventListener("click", () => (button.contact ? act("contact", {}) : act("send", { text: button.text })));
      r.append(b);
    }
    kb.append(r);
  }
}

// -- what the person does -----------------------------------------------------------------------

async function act(name, body) {
  if (!state.current) return;
  await api(name, { persona: state.current.key, ...body });
}

function press(messageId, data) {
  if (data) act("press", { message_id: messageId, data });
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("text");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  act("send", { text });
});

$("photo").addEventListener("click", () => {
  const input = $("text");
  const caption = input.value.trim();
  input.value = "";
  act("photo", { caption });
});

// -- the log ----------------------------------------------------------------------------------

async function poll() {
  for (;;) {
    try {
      const { entries } = await api(`log?after=${state.after}&wait=20`);
      let visible = false;
      for (const entry of entries) {
        state.after = Math.max(state.after, entry.seq);
        if (!state.entries.has(entry.chat_id)) state.entries.set(entry.chat_id, []);
        state.entries.get(entry.chat_id).push(entry);
        if (state.current && entry.chat_id === state.current.chat_id) visible = true;
        else if (entry.who === "bot" && !entry.edit) state.unread.set(entry.chat_id, (state.unread.get(entry.chat_id) || 0) + 1);
      }
      if (visible) renderChat();
      if (entries.length) renderUnread();
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, 2000)); // the demo is restarting
    }
  }
}

async function main() {
  const { personas, links } = await api("personas");
  state.personas = personas;
  state.byKey = new Map(personas.map((p) => [p.key, p]));
  renderPersonas(links);
  const wanted = decodeURIComponent(location.hash.slice(1));
  if (state.byKey.has(wanted)) choose(wanted);
  window.addEventListener("hashchange", () => choose(decodeURIComponent(location.hash.slice(1))));
  poll();
}

main();
