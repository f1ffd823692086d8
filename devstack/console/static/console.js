// The console's page: it draws what the console's API returns (server-rendered fragments) and
// sends what the person does back to it. No business logic lives here.

const $ = (selector, root = document) => root.querySelector(selector);
const OPTION = { SUB_COMMAND: 1, SUB_COMMAND_GROUP: 2, STRING: 3, INTEGER: 4, BOOLEAN: 5, USER: 6, CHANNEL: 7, ROLE: 8, NUMBER: 10, ATTACHMENT: 11 };

const view = {
  me: localStorage.getItem("flexcord.member") || "alice",
  guildId: null,
  channel: "dm",          // a channel id, or "dm" for the member's DMs with the bot
  world: null,
  command: null,          // the slash command being composed
  task: null,             // the Flex task on screen
  modal: null,
  modalChannel: null,
  tab: "chat",
};

// A click and a live redraw can each ask for the same view while the other's answer is on its
// way, and answers do not come back in order: an older one (the channel just left) drawn last
// would stay on screen. Each loader draws only the answer to its latest request.
const asked = {};
function ask(loader) {
  asked[loader] = (asked[loader] || 0) + 1;
  const mine = asked[loader];
  return () => asked[loader] === mine;
}

async function api(path, body) {
  const response = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
  return answer;
}

function toast(text, kind = "error") {
  const box = $("#toast");
  box.textContent = text;
  box.className = `toast ${kind}`;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

async function guarded(action) {
  try { return await action(); } catch (error) { toast(error.message); return null; }
}

function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve({
      filename: file.name,
      content_type: file.type || "application/octet-stream",
      content_base64: String(reader.result).split(",", 2)[1] || "",
    });
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

// -- the member's Discord -------------------------------------------------------------------

async function loadWorld() {
  const latest = ask("world");
  const world = await api(`/api/world?as=${encodeURIComponent(view.me)}`);
  if (!latest()) return;
  view.world = world;
  drawMembers();
  drawChannels();
}

function drawMembers() {
  // Redrawn only when something changed: an open menu is not closed under the person's pointer.
  const key = JSON.stringify([view.me, view.world.members]);
  if (key === drawMembers.key) return;
  drawMembers.key = key;
  const select = $("#member");
  select.replaceChildren(...view.world.members.map((member) => new Option(
    `${member.display_name}${member.staff ? " (staff)" : ""}`, member.username, false, member.username === view.me)));
  select.append(new Option("New member…", "__new__"));
}

function drawChannels() {
  const key = JSON.stringify([view.me, view.channel, view.world.guilds]);
  if (key === drawChannels.key) return;
  drawChannels.key = key;
  const nav = $("#channels");
  const items = [];
  const dm = channelButton("dm", "💬 Flexcord (DM)", false);
  items.push(heading("Direct messages"), dm);
  for (const guild of view.world.guilds) {
    if (!guild.member) continue;
    view.guildId = view.guildId || guild.id;
    items.push(heading(guild.name));
    for (const channel of guild.channels) {
      const icon = channel.type === 15 ? "💭" : channel.type === 5 ? "📣" : "#";
      items.push(channelButton(channel.id, `${icon} ${channel.name}`, false, guild.id));
      for (const thread of guild.threads.filter((t) => t.parent_id === channel.id)) {
        items.push(channelButton(thread.id, `${thread.private ? "🔒" : "🧵"} ${thread.name}`, true, guild.id));
      }
    }
  }
  nav.replaceChildren(...items);
}

function heading(text) {
  const h = document.createElement("h3");
  h.textContent = text;
  return h;
}

function channelButton(id, label, isThread, guildId = null) {
  const button = document.createElement("button");
  button.className = `channel${isThread ? " thread" : ""}`;
  button.textContent = label;
  button.dataset.channel = id;
  if (id === view.channel) button.setAttribute("aria-current", "true");
  button.addEventListener("click", () => {
    view.channel = id;
    if (guildId) view.guildId = guildId;
    $("#channel-title").textContent = label;
    drawChannels();
    loadMessages();
  });
  return button;
}

function drawPlaceholder() {
  const chat = view.channel === "dm" || view.world.guilds.some((g) => g.threads.some((t) => t.id === view.channel));
  // Flexcord reads no gateway messages: in a support chat, plain text goes as /reply.
  input.placeholder = chat ? "Message Flexcord (sent as /reply), or type / for commands" : "Type / for commands";
}

function channelKey() {
  return view.channel === "dm" ? `dm:${view.me}` : view.channel;
}

async function loadMessages() {
  drawPlaceholder();
  const list = $("#messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const latest = ask("messages");
  try {
    const answer = await api(`/api/messages?channel=${encodeURIComponent(channelKey())}&as=${encodeURIComponent(view.me)}`);
    if (!latest()) return;
    // Only when it changed: a redraw replaces every image, and one still loading starts again,
    // so under a stream of live updates a screenshot might never finish loading.
    if (answer.html !== loadMessages.html) list.innerHTML = answer.html;
    loadMessages.html = answer.html;
  } catch (error) {
    if (!latest()) return;
    loadMessages.html = null;
    list.innerHTML = "";
    const note = document.createElement("p");
    note.className = "empty";
    note.textContent = error.message;
    list.append(note);
  }
  if (atBottom || !loadMessages.drawn) list.scrollTop = list.scrollHeight;
  loadMessages.drawn = true;
}

// What Discord answers to an interaction: a form to fill in, a failure, or a reply (drawn on the
// next redraw, which the live updates trigger anyway).
async function afterInteraction(answer) {
  if (!answer) return;
  if (answer.failed) toast(`This interaction failed: ${answer.error}`);
  else if (answer.modal) openModal(answer.modal, answer.modal_html);
  await loadMessages();
}

function messageOf(element) {
  return element.closest("[data-message-id]")?.dataset.messageId;
}

$("#messages").addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action=click]");
  if (!button) return;
  button.disabled = true;
  await guarded(async () => afterInteraction(await api("/api/click", {
    user: view.me, channel: channelKey(), message_id: messageOf(button), custom_id: button.dataset.customId,
  })));
  button.disabled = false;
});

$("#messages").addEventListener("change", async (event) => {
  const select = event.target.closest("select[data-action=select]");
  if (!select) return;
  const values = [...select.selectedOptions].map((option) => option.value).filter(Boolean);
  if (values.length < Number(select.dataset.min || 1)) return;
  await guarded(async () => afterInteraction(await api("/api/select", {
    user: view.me, channel: channelKey(), message_id: messageOf(select), custom_id: select.dataset.customId, values,
  })));
});

// -- modals ---------------------------------------------------------------------------------

function openModal(modal, html) {
  view.modal = modal;
  view.modalChannel = view.channel === "dm" ? "dm" : view.channel;
  const overlay = $("#overlay");
  overlay.innerHTML = html;
  overlay.hidden = false;
  overlay.querySelector("input, textarea, select")?.focus();
}

function closeModal() {
  $("#overlay").hidden = true;
  $("#overlay").innerHTML = "";
  view.modal = null;
}

$("#overlay").addEventListener("click", (event) => {
  if (event.target.closest("[data-action=cancel]")) closeModal();
});

$("#overlay").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const values = {};
  const files = {};
  for (const element of form.elements) {
    if (!element.name) continue;
    if (element.dataset.kind === "file") {
      if (element.files.length) files[element.name] = await Promise.all([...element.files].map(readFile));
    } else if (element.tagName === "SELECT") {
      values[element.name] = [...element.selectedOptions].map((option) => option.value).filter(Boolean);
    } else {
      values[element.name] = element.value;
    }
  }
  const modal = view.modal;
  closeModal();
  await guarded(async () => afterInteraction(await api("/api/modal", {
    user: view.me, modal, values, files, channel: view.modalChannel, guild_id: view.modalChannel === "dm" ? null : view.guildId,
  })));
});

// -- the message bar: slash commands with completion ----------------------------------------

const input = $("#input");

input.addEventListener("input", () => {
  const text = input.value;
  if (!text.startsWith("/") || text.includes(" ")) {
    $("#suggestions").hidden = true;
    return;
  }
  const typed = text.slice(1).toLowerCase();
  const matches = view.world.commands.filter((command) => command.name.startsWith(typed));
  const list = $("#suggestions");
  list.replaceChildren(...matches.map((command, index) => {
    const item = document.createElement("li");
    item.setAttribute("role", "option");
    item.setAttribute("aria-selected", String(index === 0));
    item.dataset.command = command.name;
    item.innerHTML = `<strong></strong><small></small>`;
    item.querySelector("strong").textContent = `/${command.name}`;
    item.querySelector("small").textContent = command.description || "";
    return item;
  }));
  list.hidden = matches.length === 0;
});

input.addEventListener("keydown", (event) => {
  const list = $("#suggestions");
  if (list.hidden) return;
  const items = [...list.children];
  const current = items.findIndex((item) => item.getAttribute("aria-selected") === "true");
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    const next = (current + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
    items.forEach((item, index) => item.setAttribute("aria-selected", String(index === next)));
  } else if (event.key === "Tab" || event.key === "Enter") {
    event.preventDefault();
    chooseCommand(items[Math.max(current, 0)].dataset.command);
  }
});

$("#suggestions").addEventListener("click", (event) => {
  const item = event.target.closest("li[data-command]");
  if (item) chooseCommand(item.dataset.command);
});

function chooseCommand(name) {
  view.command = view.world.commands.find((command) => command.name === name);
  input.value = `/${name} `;
  $("#suggestions").hidden = true;
  drawOptions();
  input.focus();
}

function drawOptions() {
  const box = $("#options");
  const command = view.command;
  box.replaceChildren();
  if (!command) { box.hidden = true; return; }
  const options = command.options || [];
  const subcommands = options.filter((option) => option.type === OPTION.SUB_COMMAND);
  if (subcommands.length) {
    const select = document.createElement("select");
    select.id = "subcommand";
    select.append(...subcommands.map((sub) => new Option(`${sub.name} — ${sub.description || ""}`, sub.name)));
    select.addEventListener("change", () => drawOptionFields(box, subcommands.find((sub) => sub.name === select.value).options || []));
    const label = labelled("subcommand", select);
    box.append(label);
    drawOptionFields(box, subcommands[0].options || []);
  } else {
    drawOptionFields(box, options);
  }
  box.hidden = box.children.length === 0;
}

function labelled(text, control) {
  const label = document.createElement("label");
  label.textContent = text;
  label.append(control);
  return label;
}

function drawOptionFields(box, options) {
  box.querySelectorAll(".option-field").forEach((field) => field.remove());
  for (const option of options) {
    let control;
    if (option.choices?.length) {
      control = document.createElement("select");
      if (!option.required) control.append(new Option("", ""));
      control.append(...option.choices.map((choice) => new Option(choice.name, choice.value)));
    } else if (option.type === OPTION.BOOLEAN) {
      control = document.createElement("select");
      control.append(new Option("", ""), new Option("true", "true"), new Option("false", "false"));
    } else if (option.type === OPTION.USER) {
      control = document.createElement("select");
      control.append(new Option("", ""), ...view.world.members.map((member) => new Option(member.display_name, member.id)));
    } else if (option.type === OPTION.CHANNEL) {
      control = document.createElement("select");
      const guild = view.world.guilds.find((g) => g.id === view.guildId);
      control.append(new Option("", ""), ...(guild?.channels || []).map((channel) => new Option(`#${channel.name}`, channel.id)));
    } else {
      control = document.createElement("input");
      control.type = option.type === OPTION.ATTACHMENT ? "file" : [OPTION.INTEGER, OPTION.NUMBER].includes(option.type) ? "number" : "text";
      if (option.max_length) control.maxLength = option.max_length;
    }
    control.dataset.option = option.name;
    control.dataset.type = option.type;
    control.required = Boolean(option.required);
    const label = labelled(`${option.name}${option.required ? " *" : ""}`, control);
    label.className = "option-field";
    label.title = option.description || "";
    box.append(label);
  }
}

async function optionValues() {
  const values = {};
  const attachments = {};
  for (const control of $("#options").querySelectorAll("[data-option]")) {
    const type = Number(control.dataset.type);
    if (type === OPTION.ATTACHMENT) {
      if (control.files.length) attachments[control.dataset.option] = await readFile(control.files[0]);
      continue;
    }
    if (control.value === "") continue;
    values[control.dataset.option] = type === OPTION.INTEGER ? parseInt(control.value, 10)
      : type === OPTION.NUMBER ? Number(control.value)
        : type === OPTION.BOOLEAN ? control.value === "true" : control.value;
  }
  const sub = $("#subcommand")?.value;
  return { options: sub ? { [sub]: values } : values, attachments };
}

$("#bar").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  let name = text.startsWith("/") ? text.slice(1).split(/\s+/, 1)[0] : null;
  let options = {};
  let attachments = {};
  if (name) {
    if (!view.command || view.command.name !== name) {
      view.command = view.world.commands.find((command) => command.name === name) || null;
      if (!view.command) { toast(`There is no /${name} command.`); return; }
    }
    ({ options, attachments } = await optionValues());
  } else if (view.channel === "dm" || view.world.guilds.some((g) => g.threads.some((t) => t.id === view.channel))) {
    name = "reply";
    options = { message: text };
  } else {
    toast("Flexcord only hears slash commands: type / to see them.");
    return;
  }
  const answer = await guarded(() => api("/api/command", {
    user: view.me, name, options, attachments,
    channel: view.channel, guild_id: view.channel === "dm" ? null : view.guildId,
  }));
  if (answer) {
    input.value = "";
    view.command = null;
    drawOptions();
    await afterInteraction(answer);
  }
});

$("#member").addEventListener("change", async (event) => {
  let chosen = event.target.value;
  if (chosen === "__new__") {
    const name = prompt("The new member's username (letters, digits, dots, underscores)");
    if (!name) { drawMembers(); return; }
    const added = await guarded(() => api("/api/members", { username: name }));
    if (!added) { drawMembers(); return; }
    chosen = name.trim().toLowerCase();
  }
  view.me = chosen;
  localStorage.setItem("flexcord.member", chosen);
  await loadWorld();
  // Stay where you were if the new member can see it (staff switching in to triage), else DMs.
  const visible = view.channel === "dm" || view.world.guilds.some(
    (guild) => guild.member && [...guild.channels, ...guild.threads].some((channel) => channel.id === view.channel));
  if (!visible) {
    view.channel = "dm";
    $("#channel-title").textContent = "💬 Flexcord (DM)";
    drawChannels();
  }
  await loadMessages();
  document.body.dataset.member = view.me;
});

// -- the agent's Flex -----------------------------------------------------------------------

async function loadTasks() {
  const latest = ask("tasks");
  const answer = await guarded(() => api("/api/tasks"));
  if (!answer || !latest()) return;
  const list = $("#tasks");
  list.innerHTML = answer.tasks.map((task) => task.html).join("") || '<li class="empty">No tasks: a member asks for a human first.</li>';
  const still = answer.tasks.find((task) => task.sid === view.task);
  if (view.task && !still) { view.task = null; $("#task").hidden = true; }
  for (const item of list.querySelectorAll("[data-task]")) {
    if (item.dataset.task === view.task) item.setAttribute("aria-current", "true");
  }
  if (view.task) await loadTranscript(still.status);
}

async function loadTranscript(status) {
  const latest = ask("transcript");
  const answer = await guarded(() => api(`/api/tasks/${encodeURIComponent(view.task)}/transcript`));
  if (!answer || !latest()) return;
  const box = $("#transcript");
  box.innerHTML = answer.html;
  box.scrollTop = box.scrollHeight;
  const state = answer.status || status;
  $("#accept").disabled = state !== "pending";
  $("#complete").disabled = !["assigned", "wrapping"].includes(state);
  $("#transfer").disabled = state !== "assigned";
  $("#reply").querySelector("button").disabled = state !== "assigned";
}

$("#tasks").addEventListener("click", async (event) => {
  const item = event.target.closest("[data-task]");
  if (!item) return;
  view.task = item.dataset.task;
  $("#task").hidden = false;
  await loadTasks();
});

$("#accept").addEventListener("click", async () => {
  await guarded(() => api(`/api/tasks/${encodeURIComponent(view.task)}/accept`, { name: $("#agent-name").value }));
  await loadTasks();
});

$("#transfer").addEventListener("click", async () => {
  const queued = await guarded(() => api(`/api/tasks/${encodeURIComponent(view.task)}/transfer`, {}));
  if (queued) view.task = queued.sid;  // the same chat, waiting for the next agent
  await loadTasks();
});

$("#complete").addEventListener("click", async () => {
  await guarded(() => api(`/api/tasks/${encodeURIComponent(view.task)}/complete`, {}));
  await loadTasks();
});

$("#reply").addEventListener("submit", async (event) => {
  event.preventDefault();
  const files = await Promise.all([...$("#reply-files").files].map(readFile));
  const sent = await guarded(() => api(`/api/tasks/${encodeURIComponent(view.task)}/say`, { text: $("#reply-text").value, files }));
  if (sent) { $("#reply-text").value = ""; $("#reply-files").value = ""; }
  await loadTasks();
});

// -- the cases board ------------------------------------------------------------------------

async function loadCases() {
  // Not latest-only: opening the board waits for this call's board to look up the open cases.
  const answer = await guarded(() => api("/api/cases"));
  if (!answer) return;
  const board = $("#board");
  if (answer.html === loadCases.last) return;  // nothing new: keep what the person is typing
  loadCases.last = answer.html;
  const typed = Object.fromEntries([...board.querySelectorAll("[data-guild]")].map(
    (server) => [server.dataset.guild, server.querySelector("form.lookup input")?.value || ""]));
  const open = new Set([...board.querySelectorAll("details[open]")].map((d) => d.closest("[data-case]")?.dataset.case));
  board.innerHTML = answer.html;
  for (const server of board.querySelectorAll("[data-guild]")) {
    const all = document.createElement("button");
    all.className = "button secondary";
    all.textContent = "Open cases (/cases as staff)";
    all.dataset.details = "";
    // Support cases (opened by "Talk to a human") have no post: look one up by number.
    const lookup = document.createElement("form");
    lookup.className = "lookup";
    lookup.innerHTML = '<input type="number" min="1" placeholder="case #" aria-label="case number" required><button class="button secondary">Details</button>';
    lookup.querySelector("input").value = typed[server.dataset.guild] || "";
    server.querySelector("h3").append(all, lookup);
    for (const card of server.querySelectorAll("[data-case]")) {
      if (open.has(card.dataset.case)) card.querySelector("details").open = true;
      const more = document.createElement("button");
      more.className = "button secondary";
      more.textContent = "Details (/case show)";
      more.dataset.details = card.dataset.case;
      card.append(more);
    }
  }
}

$("#board").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target.closest("form.lookup");
  if (form) await showDetails(form.querySelector("button"), form.querySelector("input").value);
});

$("#board").addEventListener("click", async (event) => {
  const button = event.target.closest("[data-details]");
  if (button) await showDetails(button, button.dataset.details);
});

// What staff see with /cases (no number) or /case show (a number), asked as the server's staff.
async function showDetails(button, number) {
  const guildId = button.closest("[data-guild]").dataset.guild;
  const staff = view.world.members.find((member) => member.staff && member.guild_ids.includes(guildId));
  if (!staff) { toast("No staff member in that server to ask."); return; }
  button.disabled = true;
  const asked = (showDetails.asked = (showDetails.asked || 0) + 1);
  const answer = await guarded(() => api("/api/cases/details", {
    user: staff.username, guild_id: guildId, number: number ? Number(number) : null,
  }));
  button.disabled = false;
  // The newest question's answer stays on screen, whichever answer arrives last.
  if (answer && asked === showDetails.asked) {
    $("#case-details").innerHTML = `<h3>As ${staff.display_name} sees it</h3>${answer.html}`;
  }
}

// Opening the board also asks the bot for the open cases (/cases as staff): support cases, which
// have no post, are listed there. Only on opening, so the live redraws send no interactions.
async function openBoard() {
  await loadCases();
  const all = $("#board [data-guild] [data-details='']");
  if (all) await showDetails(all, "");
}

// -- tabs and live updates ------------------------------------------------------------------

for (const tab of document.querySelectorAll("[data-tab]")) {
  tab.addEventListener("click", () => {
    view.tab = tab.dataset.tab;
    for (const other of document.querySelectorAll("[data-tab]")) other.setAttribute("aria-selected", String(other === tab));
    $("#chat").hidden = view.tab !== "chat";
    $("#cases").hidden = view.tab !== "cases";
    if (view.tab === "cases") openBoard();
  });
}

let redraw = null;
function scheduleRedraw(changed) {
  // Several changes in a burst (a reply and its edit) make one redraw.
  clearTimeout(redraw);
  redraw = setTimeout(async () => {
    const what = new Set(changed);
    changed.clear();
    if (what.has("discord")) {
      await guarded(loadWorld);
      await loadMessages();
      if (view.tab === "cases") await loadCases();
    }
    if (what.has("flex") || what.has("discord")) await loadTasks();
    document.body.dataset.redraws = String(Number(document.body.dataset.redraws || 0) + 1);
  }, 150);
}

function listen() {
  const changed = new Set();
  const events = new EventSource("/api/events");
  events.addEventListener("open", () => $("#live").classList.add("on"));
  events.addEventListener("error", () => $("#live").classList.remove("on"));
  events.addEventListener("change", (event) => {
    for (const name of JSON.parse(event.data)) changed.add(name);
    scheduleRedraw(changed);
  });
}

async function start() {
  await loadWorld();
  if (!view.world.members.some((member) => member.username === view.me)) {
    view.me = view.world.members[0]?.username;
    await loadWorld();
  }
  $("#channel-title").textContent = "💬 Flexcord (DM)";
  await loadMessages();
  await loadTasks();
  listen();
  document.body.dataset.member = view.me;
  document.body.dataset.ready = "true";
}

start();
