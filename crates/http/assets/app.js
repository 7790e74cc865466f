// What both pages share: the JSON API client, the session, live streams read with fetch,
// and a DOM builder that only ever makes text nodes out of data.

import { CANCELLED, EDITABLE, ORDER_STATUSES } from "./statuses.js";

export { CANCELLED, EDITABLE };

const API = "/api/v1";

/** An answer that was not 2xx, with the message a person should read. */
export class ApiError extends Error {
  constructor(status, message, retryAfter) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/**
 * Builds an element. Children that are strings or numbers become text nodes, so customer
 * input can never be parsed as HTML; attributes are set one by one, never as markup.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

export const byId = (id) => document.getElementById(id);

// The statuses come from the server (statuses.js is generated from the domain), in the
// order of the lifecycle, each with its label and whether an order ends there.
export const STATUSES = ORDER_STATUSES.map((status) => status.name);
const LABELS = new Map(ORDER_STATUSES.map((status) => [status.name, status.label]));
const FINAL = new Set(ORDER_STATUSES.filter((status) => status.terminal).map((status) => status.name));
export const statusLabel = (status) => LABELS.get(status) ?? status;
export const isFinal = (status) => FINAL.has(status);
/** The statuses an order can still leave: "on its way". */
export const OPEN_STATUSES = STATUSES.filter((status) => !FINAL.has(status));

export function statusBadge(status) {
  return h("span", { class: `status status-${status}`, dataset: { status } }, statusLabel(status));
}

function formatTime(iso) {
  const time = new Date(iso);
  return Number.isNaN(time.getTime())
    ? iso
    : time.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

export function timeCell(iso) {
  return h("time", { datetime: iso, title: iso }, formatTime(iso));
}

/**
 * The signed-in user of one page, kept in sessionStorage: it survives a reload but not
 * the tab, and no cookie carries it, so no other site can make the browser send it.
 */
export class Session {
  constructor(key) {
    this.key = key;
    this.onExpired = () => {};
    // Set on pages where every call needs a role: there a 403 means the role was lost.
    this.forbiddenMessage = null;
    try {
      this.current = JSON.parse(sessionStorage.getItem(key) ?? "null");
    } catch {
      this.current = null;
    }
    if (this.current && Date.parse(this.current.expires_at) <= Date.now()) this.clear();
  }

  get token() {
    return this.current?.token ?? null;
  }

  get user() {
    return this.current?.user ?? null;
  }

  save(login) {
    this.current = { token: login.token, expires_at: login.expires_at, user: login.user };
    sessionStorage.setItem(this.key, JSON.stringify(this.current));
  }

  clear() {
    this.current = null;
    sessionStorage.removeItem(this.key);
  }

  /** Calls the API as this user; a 401 ends the session and returns to the login form. */
  call(method, path, body, headers = {}) {
    return this.guarded(request(method, path, { body, token: this.token, headers }));
  }

  /** A file the API answers with, as a Blob; the session ends as with `call`. */
  file(path) {
    return this.guarded(requestFile(path, { token: this.token }));
  }

  async guarded(answer) {
    try {
      return await answer;
    } catch (error) {
      if (error instanceof ApiError && this.endsOn(error.status)) error.sessionEnded = true;
      throw error;
    }
  }

  /** Ends the session if an answer with this status means it is over; says whether it did. */
  endsOn(status) {
    const message =
      status === 401 ? "Your session has ended. Please log in again." :
      status === 403 ? this.forbiddenMessage :
      null;
    if (!message || !this.token) return false;
    if (status === 403) {
      // The token still works for what the account may do now; it is of no use here.
      request("POST", "logout", { token: this.token }).catch(() => null);
    }
    this.clear();
    this.onExpired(message);
    return true;
  }
}

/** One API call: resolves to `{data, response}`, rejects with an ApiError. */
export async function request(method, path, { body, token, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  // Paths are relative to the API; `Link` targets arrive absolute.
  const response = await send(/^(\/|https?:)/.test(path) ? path : `${API}/${path}`, init);
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw errorOf(response, data);
  return { data, response };
}

/** A GET whose answer is a file, not JSON: resolves to a Blob, rejects with an ApiError. */
export async function requestFile(path, { token } = {}) {
  const init = { headers: {} };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  const response = await send(`${API}/${path}`, init);
  if (!response.ok) throw errorOf(response, await response.json().catch(() => null));
  return response.blob();
}

/** `fetch`, with a network failure as the ApiError the pages show. */
async function send(url, init) {
  try {
    return await fetch(url, init);
  } catch {
    throw new ApiError(0, "The server cannot be reached. Check your connection and try again.");
  }
}

/** Hands a Blob to the browser as a download named `name`. */
export function saveFile(blob, name) {
  const link = h("a", { href: URL.createObjectURL(blob), download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  // The download has its own copy once it starts; the URL only holds memory after that.
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

function errorOf(response, data) {
  const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  const wait = Number.isFinite(retryAfter) ? retryAfter : null;
  const told = typeof data?.error === "string" ? data.error : null;
  if (response.status === 429) {
    const message = `Too many requests. Try again in ${wait ?? "a few"} s.`;
    return new ApiError(429, message, wait);
  }
  if (response.status === 503) {
    const message = `The service is busy. Try again in ${wait ?? "a few"} s.`;
    return new ApiError(503, message, wait);
  }
  if (response.status >= 500) {
    return new ApiError(response.status, "Something went wrong on the server. Try again.");
  }
  return new ApiError(response.status, told ?? `The request failed (${response.status}).`, wait);
}

/** The `rel="next"` target of a `Link` header, if any. */
function nextLink(response) {
  const link = response.headers.get("Link") ?? "";
  const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
  return match ? match[1] : null;
}

/** A random `Idempotency-Key`; works outside secure contexts, unlike randomUUID. */
export function idempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Follows a Server-Sent Events stream with fetch, so the token travels in the
 * Authorization header (EventSource cannot send one). Reconnects with backoff and calls
 * `onResync` after each reconnection, because changes made while away were not streamed.
 */
function follow(session, path, { onOrder, onState, onResync }) {
  let controller = null;
  let stopped = false;
  let failures = 0;

  const run = async () => {
    while (!stopped && session.token) {
      controller = new AbortController();
      let wait = Math.min(1000 * 2 ** failures, 15000);
      try {
        const response = await fetch(`${API}/${path}`, {
          headers: { Authorization: `Bearer ${session.token}`, Accept: "text/event-stream" },
          signal: controller.signal,
        });
        if (session.endsOn(response.status)) return;
        if (!response.ok || !response.body) {
          const error = errorOf(response, await response.json().catch(() => null));
          onState("error", error.message);
          if (error.retryAfter) wait = error.retryAfter * 1000;
        } else {
          onState("live");
          if (failures > 0) onResync();
          failures = 0;
          await readEvents(response.body, onOrder);
          wait = 1000;
        }
      } catch (error) {
        if (stopped) return;
        onState("error", "Live updates interrupted; reconnecting…");
      }
      failures += 1;
      if (!stopped) {
        onState("reconnecting");
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  };
  run();
  return {
    stop() {
      stopped = true;
      controller?.abort();
    },
  };
}

async function readEvents(body, onOrder) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = parseEvent(block);
      if (event.type === "order" && event.data) {
        try {
          onOrder(JSON.parse(event.data));
        } catch {
          // A malformed event is skipped; the next resync corrects the table.
        }
      }
    }
  }
}

function parseEvent(block) {
  const event = { type: "message", data: "" };
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event.type = value;
    else if (field === "data") data.push(value);
  }
  event.data = data.join("\n");
  return event;
}

/** Shows the outcome of an action in the page's notice area. */
export function notify(message, kind = "info") {
  const area = byId("notice");
  fill(area, message);
  area.className = `notice notice-${kind}`;
  area.hidden = !message;
  area.setAttribute("role", kind === "error" ? "alert" : "status");
}

/** Runs an action, reporting its failure; disables the form's button meanwhile. */
export async function attempt(button, action) {
  if (button) button.disabled = true;
  try {
    return await action();
  } catch (error) {
    // An ended session has already sent the page back to its login form, saying why.
    if (!error.sessionEnded) {
      notify(error instanceof ApiError ? error.message : String(error), "error");
    }
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

/** Shows a live-stream state next to a table's title. */
function showLiveState(element, state, message) {
  const labels = { live: "Live", reconnecting: "Reconnecting…", error: message ?? "Offline" };
  fill(element, labels[state] ?? state);
  element.dataset.state = state;
}

/** How a history entry of each kind begins; a status change names where it came from. */
const HISTORY_VERBS = { created: "placed as ", edited: "changed while ", shipment: "shipped while " };

/** Fills a `<dialog>` with an order's history and opens it. */
export async function showHistory(session, dialog, order) {
  const { data } = await session.call("GET", `orders/${order.id}/history`);
  const rows = data.map((event) =>
    h(
      "li",
      { dataset: { to: event.to_status } },
      h("strong", {}, HISTORY_VERBS[event.kind] ?? `${statusLabel(event.from_status)} → `),
      statusBadge(event.to_status),
      " by ",
      event.actor === "system" ? "the system" : `${event.actor} #${event.actor_id}`,
      ", ",
      timeCell(event.created_at),
    ),
  );
  fill(dialog.querySelector("[data-title]"), `Order #${order.id}: ${order.item_description}`);
  fill(dialog.querySelector("ol"), rows);
  dialog.dataset.orderId = String(order.id);
  if (!dialog.open) dialog.showModal();
}

/**
 * Pages through a list endpoint by its `Link: rel="next"` headers, keeping the pages
 * already seen so that "Newer" can go back.
 */
export class Pager {
  constructor({ session, newer, older, render }) {
    this.session = session;
    this.newerButton = newer;
    this.olderButton = older;
    this.render = render;
    this.previous = [];
    this.current = null;
    this.next = null;
    older.addEventListener("click", () => this.older());
    newer.addEventListener("click", () => this.newer());
  }

  get onFirstPage() {
    return this.previous.length === 0;
  }

  first(url) {
    this.previous = [];
    return this.load(url);
  }

  reload() {
    return this.current ? this.load(this.current) : Promise.resolve();
  }

  async older() {
    if (!this.next) return;
    this.previous.push(this.current);
    await this.load(this.next);
  }

  async newer() {
    const page = this.previous.pop();
    if (page) await this.load(page);
  }

  async load(url) {
    await attempt(null, async () => {
      const { data, response } = await this.session.call("GET", url);
      this.current = url;
      this.next = nextLink(response);
      this.render(data);
      this.olderButton.disabled = !this.next;
      this.newerButton.disabled = this.previous.length === 0;
    });
  }
}

/**
 * The frame both pages share: the login form or the page, the user's name, "Log out", and
 * one live stream (`stream`, whose orders go to `onOrder`) while signed in.
 */
export class Shell {
  constructor(session, { stream, onOrder, onResync, onSignedIn }) {
    this.session = session;
    this.options = { stream, onOrder, onResync, onSignedIn };
    this.live = null;
    session.onExpired = (message) => this.signedOut(message);
    byId("logout").addEventListener("click", (event) => {
      attempt(event.target, async () => {
        await session.call("POST", "logout").catch(() => null);
        session.clear();
        this.signedOut();
        notify("You have logged out.");
      });
    });
  }

  /** Shows the page as the session stands now. */
  start() {
    if (this.session.token) this.signedIn();
    else this.signedOut();
  }

  signedOut(message) {
    this.live?.stop();
    this.live = null;
    byId("signed-in").hidden = true;
    byId("who").hidden = true;
    byId("signed-out").hidden = false;
    notify(message ?? "", message ? "error" : "info");
    byId("login-email").focus();
  }

  signedIn() {
    const { stream, onOrder, onResync, onSignedIn } = this.options;
    byId("signed-out").hidden = true;
    byId("signed-in").hidden = false;
    byId("who").hidden = false;
    fill(byId("who-name"), `Signed in as ${this.session.user.name}`);
    onSignedIn();
    this.live?.stop();
    this.live = follow(this.session, stream, {
      onOrder,
      onState: (state, message) => showLiveState(byId("live"), state, message),
      onResync,
    });
  }
}
