// SoftPrompt's web page: the /v1 API seen through a browser. No build step, no dependencies.
// Everything the API returns is written as text (textContent, text nodes, SVG attributes), never as HTML:
// a task's name or a completion is shown exactly as it is, whatever it contains.

const KEY = "softprompt.key";
const $ = (id) => document.getElementById(id);

/** An answer of the API that is not 2xx, carrying its problem details (detail, field). */
class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.field = problem?.field ?? null;
  }
}

let key = sessionStorage.getItem(KEY);
let baseModel = null;
let current = null;     // the task shown in the detail panel
let pollTimer = null;   // re-reads a task whose job is still running
let streaming = null;   // the playground's AbortController while a completion streams

function headers(json) {
  const h = { Authorization: `Bearer ${key}` };
  if (json) h["Content-Type"] = "application/json";
  return h;
}

async function problemOf(response) {
  try { return await response.json(); } catch { return null; }
}

async function api(method, path, body) {
  const response = await fetch(path, { method, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  return response.json();
}

/** An element with text and attributes; children are elements or strings (as text nodes). */
function el(tag, attributes = {}, ...children) {
  const e = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) e.setAttribute(name, value);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

/** Shows an error (an ApiError's detail and the field at fault) in a paragraph, or hides it. */
function showError(p, error) {
  if (!error) { p.hidden = true; p.replaceChildren(); return; }
  p.replaceChildren(document.createTextNode(error.message));
  if (error.field) p.append(" ", el("span", { class: "field" }, `field: ${error.field}`));
  p.hidden = false;
}

// ---- signing in -------------------------------------------------------------------------------------------------

async function signIn(candidate) {
  key = candidate;
  try {
    const models = await api("GET", "/v1/models");
    baseModel = models.data[0]?.id ?? null;
    sessionStorage.setItem(KEY, key);
    showError($("status"), null);
    $("signin-form").hidden = true;
    $("signed-in").hidden = false;
    $("who").textContent = `signed in (${key.slice(0, 7)}…)`;
    $("model-name").textContent = baseModel ? `model: ${baseModel}` : "";
    $("app").hidden = false;
    await loadTasks();
  } catch (e) {
    key = null;
    sessionStorage.removeItem(KEY);
    showError($("status"), e);
  }
}

function signOut() {
  sessionStorage.removeItem(KEY);
  key = null;
  current = null;
  clearTimeout(pollTimer);
  streaming?.abort();
  $("app").hidden = true;
  $("detail-section").hidden = true;
  $("signed-in").hidden = true;
  $("signin-form").hidden = false;
  $("model-name").textContent = "";
  $("key").value = "";
}

// ---- tasks ------------------------------------------------------------------------------------------------------

async function loadTasks() {
  let list;
  try { list = (await api("GET", "/v1/tasks")).data; }
  catch (e) { showError($("status"), e); return; }
  const body = $("tasks").tBodies[0];
  body.replaceChildren(...list.map((t) => {
    const row = el("tr", { "data-id": t.id, tabindex: "0" },
      el("td", {}, t.name), el("td", {}, t.method), el("td", { class: `state ${t.state}` }, t.state),
      el("td", {}, new Date(t.created * 1000).toLocaleString()));
    row.addEventListener("click", () => showTask(t.id));
    row.addEventListener("keydown", (e) => { if (e.key === "Enter") showTask(t.id); });
    return row;
  }));
  $("no-tasks").hidden = list.length > 0;
  fillModels(list);
}

function fillModels(tasks) {
  const select = $("play-model");
  const chosen = select.value;
  const options = [];
  if (baseModel) options.push(el("option", { value: baseModel }, `${baseModel} (base model)`));
  for (const t of tasks) if (t.state === "ready") options.push(el("option", { value: t.id }, `${t.name} (${t.id})`));
  select.replaceChildren(...options);
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
}

/**
 * Examples pasted one a line: "input<TAB>output", or a JSON object {"input": …, "output": …} (JSONL).
 * A line that is neither is an error naming the line, before anything is sent.
 */
export function parseExamples(text) {
  const examples = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    const where = `line ${i + 1}`;
    if (line.trimStart().startsWith("{")) {
      let o;
      try { o = JSON.parse(line); } catch (e) { throw new ApiError(0, { detail: `${where}: not valid JSON (${e.message}).`, field: "examples" }); }
      if (typeof o?.input !== "string" || typeof o?.output !== "string")
        throw new ApiError(0, { detail: `${where}: a JSON line needs string fields "input" and "output".`, field: "examples" });
      examples.push({ input: o.input, output: o.output });
      return;
    }
    const tab = line.indexOf("\t");
    if (tab < 0) throw new ApiError(0, { detail: `${where}: no TAB between input and output.`, field: "examples" });
    examples.push({ input: line.slice(0, tab), output: line.slice(tab + 1) });
  });
  return examples;
}

/** Runs a form's request with its button disabled: the task it answers is listed and shown; an error shows in errorBox. */
async function makeTask(button, errorBox, request) {
  button.disabled = true;
  try {
    const task = await request();
    await loadTasks();
    render(task);
  } catch (e) {
    showError(errorBox, e);
  } finally {
    button.disabled = false;
  }
}

async function createTask(event) {
  event.preventDefault();
  const error = $("create-error");
  showError(error, null);
  await makeTask($("create"), error, async () => {
    const examples = parseExamples($("examples").value);
    const task = await api("POST", "/v1/tasks", { name: $("task-name").value, method: $("task-method").value, examples });
    $("task-name").value = "";
    $("examples").value = "";
    return task;
  });
}

/** POST /v1/adapters: the archive and the name as multipart/form-data; the server checks the archive before storing it. */
async function uploadAdapter(event) {
  event.preventDefault();
  const error = $("upload-error");
  showError(error, null);
  const file = $("upload-file").files[0];
  if (!file) { showError(error, new ApiError(0, { detail: "choose the adapter's archive first.", field: "file" })); return; }
  const form = new FormData();
  form.append("name", $("upload-name").value);
  form.append("file", file);
  await makeTask($("upload"), error, async () => {
    const response = await fetch("/v1/adapters", { method: "POST", headers: headers(false), body: form });
    if (!response.ok) throw new ApiError(response.status, await problemOf(response));
    const task = await response.json();
    $("upload-form").reset();
    return task;
  });
}

async function showTask(id) {
  try { render(await api("GET", `/v1/tasks/${encodeURIComponent(id)}`)); }
  catch (e) { showError($("status"), e); }
}

function render(task, poll = true) {
  current = task;
  clearTimeout(pollTimer);
  $("detail-section").hidden = false;
  $("detail-name").textContent = task.name;
  $("detail-section").dataset.id = task.id;
  const fields = [["id", task.id], ["method", task.method], ["design", task.design], ["state", task.state],
    ["created", new Date(task.created * 1000).toLocaleString()]];
  $("detail-fields").replaceChildren(...fields.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v ?? "")]));
  renderJob(task);
  renderCurve(task.metrics?.curve);
  renderPrompt(task.prompt ?? {});
  $("use-task").disabled = task.state !== "ready";
  // A job still running is read again until it ends.
  if (poll && ["queued", "training", "running"].includes(task.state)) pollTimer = setTimeout(() => showTask(task.id), 2000);
}

/** A job's state: a progress bar while it is queued or training (indeterminate without a number), and its error if it failed. */
function renderJob(task) {
  const hasProgress = typeof task.progress === "number";
  $("job").hidden = task.state === "ready" && !hasProgress;
  const progress = $("job-progress");
  progress.hidden = !hasProgress && !["queued", "training", "running"].includes(task.state);
  if (hasProgress) progress.value = Math.min(Math.max(task.progress, 0), 1);
  else progress.removeAttribute("value");
  const error = typeof task.error === "string" ? task.error : task.error?.message;
  $("job-state").textContent = (hasProgress ? `${task.state}: ${Math.round(task.progress * 100)}%` : task.state) + (error ? ` — ${error}` : "");
}

/**
 * The training curve as an SVG line: curve is a list of losses, of [step, loss] pairs, or of {step, loss} objects.
 * Nothing is drawn without at least two finite points.
 */
function renderCurve(curve) {
  const box = $("curve");
  box.replaceChildren();
  if (!Array.isArray(curve)) return;
  const points = curve.map((p, i) => Array.isArray(p) ? [Number(p[0]), Number(p[1])]
      : typeof p === "object" && p !== null ? [Number(p.step ?? i), Number(p.loss ?? p.value)] : [i, Number(p)])
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (points.length < 2) return;
  const ns = "http://www.w3.org/2000/svg", w = 320, h = 120, pad = 24;
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = (x) => pad + (x1 === x0 ? 0 : (x - x0) / (x1 - x0)) * (w - 2 * pad);
  const sy = (y) => h - pad - (y1 === y0 ? 0.5 : (y - y0) / (y1 - y0)) * (h - 2 * pad);
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "training curve");
  svg.setAttribute("id", "curve-svg");
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" "));
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "currentColor");
  svg.append(line);
  for (const [text, x, y] of [[`loss ${y1.toPrecision(3)}`, 2, pad - 6], [`${y0.toPrecision(3)}`, 2, h - 4], [`step ${x1}`, w - pad, h - 4]]) {
    const t = document.createElementNS(ns, "text");
    t.setAttribute("x", x);
    t.setAttribute("y", y);
    t.setAttribute("font-size", "10");
    if (x > w / 2) t.setAttribute("text-anchor", "end");
    t.textContent = text;
    svg.append(t);
  }
  box.append(el("h3", {}, "Training curve"), svg);
}

/** A discrete prompt as its text; a soft one as the nearest vocabulary tokens of each virtual token; then the rest. */
function renderPrompt(prompt) {
  const text = $("prompt-text"), nearest = $("nearest"), kind = $("prompt-kind");
  text.hidden = typeof prompt.text !== "string";
  text.textContent = prompt.text ?? "";
  const lists = Array.isArray(prompt.nearest_tokens) ? prompt.nearest_tokens : [];
  nearest.hidden = lists.length === 0;
  nearest.tBodies[0].replaceChildren(...lists.map((list, i) => el("tr", {}, el("td", {}, String(i)),
    el("td", {}, ...list.flatMap((t) => [el("code", { class: "token", title: `id ${t.id}` }, JSON.stringify(t.token)), ` ${Number(t.cosine).toFixed(2)}  `])))));
  kind.textContent = typeof prompt.text === "string" ? "a discrete prompt: its tokens as text"
    : lists.length > 0 ? "a soft prompt: each virtual token's nearest vocabulary tokens by cosine"
    : "a prompt with no text form (a prefix of keys and values, or weights)";
  const rest = Object.entries(prompt).filter(([k, v]) => k !== "text" && k !== "nearest_tokens" && (typeof v !== "object" || v === null));
  $("prompt-fields").replaceChildren(...rest.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))]));
}

async function deleteTask() {
  if (!current || !confirm(`Delete the task "${current.name}"?`)) return;
  try {
    await api("DELETE", `/v1/tasks/${encodeURIComponent(current.id)}`);
    current = null;
    $("detail-section").hidden = true;
    await loadTasks();
  } catch (e) { showError($("status"), e); }
}

// ---- the playground ---------------------------------------------------------------------------------------------

/**
 * POST /v1/completions with stream: true, read as server-sent events ("data: {chunk}\n\n" … "data: [DONE]\n\n"):
 * each chunk's text is appended to the output as it arrives.
 */
async function complete(event) {
  event.preventDefault();
  const output = $("play-output"), info = $("play-info"), error = $("play-error");
  output.replaceChildren();
  info.textContent = "";
  showError(error, null);
  const request = {
    model: $("play-model").value,
    prompt: $("play-prompt").value,
    max_tokens: Number($("play-max").value),
    temperature: Number($("play-temperature").value),
    stream: true,
  };
  streaming = new AbortController();
  $("play-run").disabled = true;
  $("play-stop").disabled = false;
  output.dataset.state = "streaming";
  let chunks = 0, last = null;
  try {
    const response = await fetch("/v1/completions", { method: "POST", headers: headers(true), body: JSON.stringify(request), signal: streaming.signal });
    if (!response.ok) throw new ApiError(response.status, await problemOf(response));
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "", done = false;
    while (!done) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const eventText = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        for (const line of eventText.split("\n")) {
          if (!line.startsWith("data: ")) continue;
          const data = line.slice(6);
          if (data === "[DONE]") { done = true; break; }
          last = JSON.parse(data);
          chunks++;
          const piece = last.choices?.[0]?.text ?? "";
          if (piece) output.append(document.createTextNode(piece));
        }
      }
    }
    const finish = last?.choices?.[0]?.finish_reason;
    const usage = last?.usage;
    info.textContent = `${chunks} chunks` + (finish ? `, finish_reason: ${finish}` : "")
      + (usage ? `, ${usage.prompt_tokens} prompt + ${usage.completion_tokens} completion tokens` : "");
    output.dataset.state = done ? "done" : "cut";
  } catch (e) {
    output.dataset.state = "error";
    if (e.name === "AbortError") info.textContent = "stopped";
    else showError(error, e);
  } finally {
    streaming = null;
    $("play-run").disabled = false;
    $("play-stop").disabled = true;
  }
}

// ---- wiring -----------------------------------------------------------------------------------------------------

$("signin-form").addEventListener("submit", (e) => { e.preventDefault(); signIn($("key").value.trim()); });
$("signout").addEventListener("click", signOut);
$("refresh").addEventListener("click", loadTasks);
$("create-form").addEventListener("submit", createTask);
$("upload-form").addEventListener("submit", uploadAdapter);
$("delete-task").addEventListener("click", deleteTask);
$("use-task").addEventListener("click", () => {
  if (!current) return;
  $("play-model").value = current.id;
  $("play-prompt").focus();
});
$("play-form").addEventListener("submit", complete);
$("play-stop").addEventListener("click", () => streaming?.abort());
// For the browser tests: render() of a task shape the test server does not make (a discrete prompt, a failed job).
window.softprompt = { render, parseExamples };
if (key) signIn(key);
document.body.dataset.ready = "true";
