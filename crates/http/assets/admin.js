// The admin dashboard: every order live, status overrides, users, products and their
// stock, and webhooks.

import {
  attempt, byId, CANCELLED, fill, h, idempotencyKey, isFinal, notify, Pager, request, saveFile,
  Session, Shell, STATUSES, statusLabel, timeCell,
} from "./app.js";
import { decimalText, formatMoney, parseMoney } from "./catalog.js";
import { OrderTable } from "./orders.js";
import { BULK_ACTIONS, MAX_BULK_IDS, ORDER_SEARCH_FROM, WEBHOOK_EVENTS } from "./rules.js";

const session = new Session("trachios.admin");
session.forbiddenMessage = "This account is no longer an administrator.";

// ---- orders -------------------------------------------------------------------------

fill(
  byId("status-choices"),
  STATUSES.map((status) =>
    h("label", {}, h("input", { type: "checkbox", name: "status", value: status }), ` ${statusLabel(status)}`)),
);

const checkedStatuses = () =>
  Array.from(document.querySelectorAll('#filter-form input[name="status"]:checked'), (box) => box.value);

/** A datetime-local value (the browser's time zone) as an RFC 3339 instant, or null. */
function instant(id) {
  const value = byId(id).value;
  if (!value) return null;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? null : time.toISOString();
}

function orderQuery() {
  const params = new URLSearchParams();
  const statuses = checkedStatuses();
  if (statuses.length > 0) params.set("status", statuses.join(","));
  const customer = byId("filter-customer").value.trim();
  if (customer) params.set("customer_id", customer);
  const after = instant("filter-after");
  if (after) params.set("created_after", after);
  const before = instant("filter-before");
  if (before) params.set("created_before", before);
  const q = byId("filter-q").value.trim();
  if (q) params.set("q", q);
  params.set("limit", byId("filter-limit").value);
  return params;
}

/**
 * Whether a new order is one the search finds, as far as the page can tell: its id, or the
 * text in its item or a line's sku or name. An order found by its customer's e-mail shows
 * up at the next reload, since orders do not carry the e-mail.
 */
function searchFinds(order, q) {
  if (/^#?\d+$/.test(q) && Number(q.replace("#", "")) === order.id) return true;
  const needle = q.toLowerCase();
  const text = [order.item_description, ...(order.lines ?? []).flatMap((line) => [line.sku, line.name])];
  return needle.length >= ORDER_SEARCH_FROM && text.some((part) => part.toLowerCase().includes(needle));
}

function orderMatches(order) {
  const statuses = checkedStatuses();
  const customer = byId("filter-customer").value.trim();
  const after = instant("filter-after");
  const before = instant("filter-before");
  const created = Date.parse(order.created_at);
  const q = byId("filter-q").value.trim();
  return (
    (!q || searchFinds(order, q)) &&
    (statuses.length === 0 || statuses.includes(order.status)) &&
    (!customer || String(order.customer_id) === customer) &&
    (!after || created > Date.parse(after)) &&
    (!before || created < Date.parse(before))
  );
}

function statusControl(order, table) {
  const select = h(
    "select",
    { "aria-label": `New status for order #${order.id}` },
    STATUSES.map((status) => h("option", { value: status, selected: status === order.status }, statusLabel(status))),
  );
  const apply = h("button", { type: "button", class: "secondary" }, "Set");
  apply.addEventListener("click", () => setStatus(apply, order, select.value, table));
  const cancel = isFinal(order.status)
    ? null
    : h("button", {
        type: "button",
        class: "link danger",
        onclick: (event) => {
          if (window.confirm(`Cancel order #${order.id}?`)) setStatus(event.target, order, CANCELLED, table);
        },
      }, "Cancel");
  return h("span", { class: "override" }, select, apply, cancel);
}

function setStatus(button, order, status, table) {
  return attempt(button, async () => {
    const { data } = await session.call("PUT", `orders/${order.id}/status`, { status });
    table.upsert(data);
    notify(`Order #${order.id} is now ${statusLabel(data.status)}.`);
  });
}

const orders = new OrderTable({
  session,
  path: "orders",
  query: orderQuery,
  matches: orderMatches,
  columns: [
    { label: "Customer", value: (order) => `#${order.customer_id}` },
    { label: "Total", value: (order) => h("span", { class: "amount" }, formatMoney(order.total, order.currency)) },
  ],
  actions: statusControl,
  selection: { page: byId("select-page"), onChange: showSelection },
});

// ---- bulk changes -------------------------------------------------------------------

const [BULK_CANCEL, BULK_SET_STATUS] = BULK_ACTIONS;

// Cancel (refused for delivered and cancelled orders, as the owner's cancel is), or set any
// status (as the row's "Set" does).
fill(
  byId("bulk-action"),
  h("option", { value: BULK_CANCEL }, "Cancel"),
  STATUSES.map((status) => h("option", { value: status }, `Set status: ${statusLabel(status)}`)),
);

function showSelection(ids) {
  byId("bulk-count").textContent =
    ids.length === 0 ? "No orders selected" : `${ids.length} order${ids.length === 1 ? "" : "s"} selected`;
  byId("bulk-apply").disabled = ids.length === 0 || ids.length > MAX_BULK_IDS;
}

byId("bulk-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const ids = orders.selectedIds();
  if (ids.length === 0) return;
  const choice = byId("bulk-action").value;
  const body = choice === BULK_CANCEL ? { ids, action: BULK_CANCEL } : { ids, action: BULK_SET_STATUS, status: choice };
  const what = choice === BULK_CANCEL ? "Cancel" : `Set to ${statusLabel(choice)}`;
  if (!window.confirm(`${what}: ${ids.length} order${ids.length === 1 ? "" : "s"}?`)) return;
  attempt(byId("bulk-apply"), async () => {
    // A retry after a lost answer replays it instead of changing the orders again.
    const { data } = await session.call("POST", "orders/bulk", body, { "Idempotency-Key": idempotencyKey() });
    for (const result of data.results) if (result.ok) orders.upsert(result.order);
    orders.clearSelection();
    showBulkResults(data.results);
  });
});

function showBulkResults(results) {
  const panel = byId("bulk-results");
  const done = results.filter((result) => result.ok).length;
  fill(panel.querySelector("[data-summary]"), `${done} of ${results.length} changed.`);
  fill(
    panel.querySelector("ul"),
    results.map((result) =>
      h(
        "li",
        { dataset: { orderId: result.id, ok: String(result.ok) } },
        result.ok
          ? `#${result.id}: ${statusLabel(result.order.status)}`
          : `#${result.id}: not changed — ${result.error}`,
      )),
  );
  panel.hidden = false;
}

byId("bulk-results").querySelector("[data-close]").addEventListener("click", () => {
  byId("bulk-results").hidden = true;
});

byId("filter-form").addEventListener("submit", (event) => {
  event.preventDefault();
  orders.first();
});
// A reset clears the fields after this event; list once they are clear.
byId("filter-form").addEventListener("reset", () => setTimeout(() => orders.first()));

// Every order the filters keep, not only this page.
byId("export-orders").addEventListener("click", (event) =>
  attempt(event.currentTarget, async () => {
    const params = orderQuery();
    params.delete("limit");
    saveFile(await session.file(`orders/export.csv?${params}`), "orders.csv");
    notify("The export of the filtered orders is downloading as orders.csv.");
  }));

// ---- users --------------------------------------------------------------------------

const users = new Pager({
  session,
  newer: byId("users-newer"),
  older: byId("users-older"),
  render: (list) => fill(byId("users").tBodies[0], list.map(userRow)),
});

function userRow(user) {
  const self = user.id === session.user?.id;
  const role = user.role === "admin" ? "customer" : "admin";
  return h(
    "tr",
    { dataset: { userId: user.id } },
    h("td", { "data-label": "User" }, `#${user.id}`),
    h("td", { "data-label": "Name", class: "item" }, user.name),
    h("td", { "data-label": "Email", class: "item" }, user.email),
    h("td", { "data-label": "Role", dataset: { field: "role" } }, user.role),
    h("td", { "data-label": "Account", dataset: { field: "account" } }, user.disabled ? "disabled" : "active"),
    h("td", { "data-label": "Joined" }, timeCell(user.created_at)),
    h(
      "td",
      { class: "actions" },
      // The API refuses to let admins demote or disable themselves; so does the page.
      self
        ? "you"
        : [
            h("button", { type: "button", class: "secondary", onclick: (e) => updateUser(e.target, user, { role }) },
              user.role === "admin" ? "Demote" : "Promote"),
            h("button", {
              type: "button",
              class: user.disabled ? "secondary" : "secondary danger",
              onclick: (e) => {
                const disabled = !user.disabled;
                if (!disabled || window.confirm(`Disable ${user.email}? They will be logged out.`)) {
                  updateUser(e.target, user, { disabled });
                }
              },
            }, user.disabled ? "Enable" : "Disable"),
          ],
    ),
  );
}

function updateUser(button, user, change) {
  return attempt(button, async () => {
    const { data } = await session.call("PATCH", `users/${user.id}`, change);
    byId("users").querySelector(`tr[data-user-id="${user.id}"]`)?.replaceWith(userRow(data));
    notify(`${data.email} is now ${data.disabled ? "disabled" : "active"}, ${data.role}.`);
  });
}

function listUsers() {
  const params = new URLSearchParams({ limit: "50" });
  if (byId("users-role").value) params.set("role", byId("users-role").value);
  const email = byId("users-email").value.trim();
  if (email) params.set("email", email);
  return users.first(`/api/v1/users?${params}`);
}

byId("users-filter").addEventListener("submit", (event) => {
  event.preventDefault();
  listUsers();
});

// ---- products -----------------------------------------------------------------------

const products = new Pager({
  session,
  newer: byId("products-newer"),
  older: byId("products-older"),
  render: (list) => {
    fill(byId("products").tBodies[0], list.map(productRow));
    byId("products-empty").hidden = list.length > 0;
  },
});

function productRow(product) {
  return h(
    "tr",
    { dataset: { productId: product.id, sku: product.sku } },
    h("td", { "data-label": "Product" }, `#${product.id}`),
    h("td", { "data-label": "SKU", class: "item" }, product.sku),
    h("td", { "data-label": "Name", class: "item" }, product.name),
    h("td", { "data-label": "Price", class: "amount" }, formatMoney(product.price, product.currency)),
    h("td", { "data-label": "Stock", dataset: { field: "stock" } }, String(product.stock)),
    h("td", { "data-label": "On sale" }, product.active ? "yes" : "no"),
    h(
      "td",
      { class: "actions" },
      h("button", { type: "button", class: "link", onclick: () => openStock(product) }, "Stock"),
      h("button", { type: "button", class: "link", onclick: () => openLedger(product) }, "Ledger"),
      h("button", { type: "button", class: "link", onclick: () => openProductEdit(product) }, "Edit"),
      h("button", {
        type: "button",
        class: product.active ? "link danger" : "link",
        onclick: (event) => updateProduct(event.target, product, { active: !product.active }),
      }, product.active ? "Take off sale" : "Put on sale"),
    ),
  );
}

function showProduct(product) {
  byId("products").querySelector(`tr[data-product-id="${product.id}"]`)?.replaceWith(productRow(product));
}

async function patchProduct(product, change) {
  const { data } = await session.call("PATCH", `products/${product.id}`, change);
  showProduct(data);
  notify(`${data.sku}: ${formatMoney(data.price, data.currency)}, ${data.active ? "on sale" : "off sale"}.`);
}

function updateProduct(button, product, change) {
  return attempt(button, () => patchProduct(product, change));
}

function listProducts() {
  const params = new URLSearchParams({ limit: "50", active: byId("products-active").value });
  const q = byId("products-q").value.trim();
  if (q) params.set("q", q);
  return products.first(`/api/v1/products?${params}`);
}

byId("products-filter").addEventListener("submit", (event) => {
  event.preventDefault();
  listProducts();
});

byId("product-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  const currency = byId("product-currency").value.trim().toUpperCase();
  const price = parseMoney(byId("product-price").value, currency || "EUR");
  if (price === null) {
    notify("The price is an amount such as 12.50.", "error");
    return;
  }
  const body = {
    sku: byId("product-sku").value.trim(),
    name: byId("product-name").value,
    price,
    stock: Number(byId("product-stock").value || 0),
  };
  if (currency) body.currency = currency;
  attempt(form.querySelector('button[type="submit"]'), async () => {
    const { data } = await session.call("POST", "products", body);
    form.reset();
    notify(`${data.sku} is added with ${data.stock} in stock.`);
    await listProducts();
  });
});

const productDialog = byId("product-edit");
let editingProduct = null;

function openProductEdit(product) {
  editingProduct = product;
  fill(productDialog.querySelector("[data-title]"), `Edit ${product.sku}`);
  fill(productDialog.querySelector("[data-currency]"), `(${product.currency})`);
  byId("product-edit-name").value = product.name;
  byId("product-edit-price").value = decimalText(product.price, product.currency);
  byId("product-edit-description").value = product.description;
  if (!productDialog.open) productDialog.showModal();
}

productDialog.querySelector("[data-close]").addEventListener("click", () => productDialog.close());

byId("product-edit-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const product = editingProduct;
  const text = byId("product-edit-price").value;
  const price = parseMoney(text, product.currency);
  if (price === null) {
    notify(`"${text}" is not a price in ${product.currency}.`, "error");
    return;
  }
  const change = { name: byId("product-edit-name").value, description: byId("product-edit-description").value, price };
  attempt(event.target.querySelector('button[type="submit"]'), async () => {
    await patchProduct(product, change);
    productDialog.close();
  });
});

const stockDialog = byId("stock");
let adjusting = null;

function openStock(product) {
  adjusting = product;
  fill(stockDialog.querySelector("[data-title]"), `Stock of ${product.sku}`);
  fill(stockDialog.querySelector("[data-now]"), `${product.stock} in stock now.`);
  byId("stock-form").reset();
  if (!stockDialog.open) stockDialog.showModal();
}

stockDialog.querySelector("[data-close]").addEventListener("click", () => stockDialog.close());

byId("stock-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const product = adjusting;
  const body = { delta: Number(byId("stock-delta").value), reason: byId("stock-reason").value };
  attempt(event.target.querySelector('button[type="submit"]'), async () => {
    const { data } = await session.call("POST", `products/${product.id}/stock`, body);
    showProduct(data);
    stockDialog.close();
    notify(`${data.sku} now has ${data.stock} in stock.`);
  });
});

const ledgerDialog = byId("ledger");
const ledger = new Pager({
  session,
  newer: byId("ledger-newer"),
  older: byId("ledger-older"),
  render: (list) =>
    fill(
      ledgerDialog.querySelector("tbody"),
      list.map((movement) =>
        h(
          "tr",
          { dataset: { reason: movement.reason } },
          h("td", { "data-label": "Change", class: "amount" }, movement.delta > 0 ? `+${movement.delta}` : String(movement.delta)),
          h("td", { "data-label": "Stock after" }, String(movement.stock_after)),
          h("td", { "data-label": "Reason", class: "item" }, movement.note ? `${movement.reason}: ${movement.note}` : movement.reason),
          h("td", { "data-label": "Order" }, movement.order_id === null ? "—" : `#${movement.order_id}`),
          h("td", { "data-label": "By" }, movement.actor === "system" ? "the system" : `${movement.actor} #${movement.actor_id}`),
          h("td", { "data-label": "At" }, timeCell(movement.created_at)),
        )),
    ),
});
ledgerDialog.querySelector("[data-close]").addEventListener("click", () => ledgerDialog.close());

async function openLedger(product) {
  fill(ledgerDialog.querySelector("[data-title]"), `Stock ledger of ${product.sku}, newest first`);
  fill(ledgerDialog.querySelector("tbody"));
  await ledger.first(`/api/v1/products/${product.id}/stock-movements?limit=50`);
  if (!ledgerDialog.open) ledgerDialog.showModal();
}

// ---- webhooks -----------------------------------------------------------------------

fill(
  byId("webhook-events"),
  WEBHOOK_EVENTS.map((event) =>
    h("label", {}, h("input", { type: "checkbox", name: "events", value: event.name, checked: event.default }), ` ${event.name}`)),
);

const deliveriesDialog = byId("deliveries");
const deliveries = new Pager({
  session,
  newer: byId("deliveries-newer"),
  older: byId("deliveries-older"),
  render: (list) => {
    deliveriesDialog.querySelector("[data-empty]").hidden = list.length > 0;
    fill(
      deliveriesDialog.querySelector("tbody"),
      list.map((entry) =>
        h(
          "tr",
          {},
          h("td", { "data-label": "Event", class: "item" }, h("code", {}, entry.event_id)),
          h("td", { "data-label": "Type" }, entry.event_type),
          h("td", { "data-label": "Attempt" }, String(entry.attempt)),
          h("td", { "data-label": "Outcome", class: "item" },
            entry.status_code === null ? entry.error ?? "no answer" : `HTTP ${entry.status_code}`),
          h("td", { "data-label": "At" }, timeCell(entry.delivered_at)),
        ),
      ),
    );
  },
});
deliveriesDialog.querySelector("[data-close]").addEventListener("click", () => deliveriesDialog.close());

function webhookRow(webhook) {
  return h(
    "tr",
    { dataset: { webhookId: webhook.id } },
    h("td", { "data-label": "Endpoint" }, `#${webhook.id}`),
    h("td", { "data-label": "URL", class: "item" }, webhook.url),
    h("td", { "data-label": "Events" }, webhook.events.join(", ")),
    h("td", { "data-label": "Added" }, timeCell(webhook.created_at)),
    h(
      "td",
      { class: "actions" },
      h("button", {
        type: "button",
        class: "link",
        onclick: async () => {
          fill(deliveriesDialog.querySelector("[data-title]"), `Deliveries to ${webhook.url}`);
          fill(deliveriesDialog.querySelector("tbody"));
          await deliveries.first(`/api/v1/webhooks/${webhook.id}/deliveries?limit=50`);
          if (!deliveriesDialog.open) deliveriesDialog.showModal();
        },
      }, "Deliveries"),
      h("button", {
        type: "button",
        class: "link danger",
        onclick: (event) => {
          if (!window.confirm(`Delete the endpoint ${webhook.url}?`)) return;
          attempt(event.target, async () => {
            await session.call("DELETE", `webhooks/${webhook.id}`);
            notify(`Endpoint #${webhook.id} is deleted.`);
            await listWebhooks();
          });
        },
      }, "Delete"),
    ),
  );
}

function listWebhooks() {
  return attempt(null, async () => {
    const { data } = await session.call("GET", "webhooks");
    fill(byId("webhooks").tBodies[0], data.map(webhookRow));
    byId("webhooks-empty").hidden = data.length > 0;
  });
}

byId("webhook-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  const events = Array.from(form.querySelectorAll('input[name="events"]:checked'), (box) => box.value);
  if (events.length === 0) {
    notify("Choose at least one event.", "error");
    return;
  }
  attempt(form.querySelector('button[type="submit"]'), async () => {
    const { data } = await session.call("POST", "webhooks", { url: byId("webhook-url").value, events });
    const secret = byId("webhook-secret");
    fill(secret.querySelector("[data-id]"), `#${data.id}`);
    fill(secret.querySelector("[data-secret]"), data.secret);
    secret.hidden = false;
    byId("webhook-url").value = "";
    notify(`Endpoint #${data.id} is added.`);
    await listWebhooks();
  });
});

// ---- tabs ---------------------------------------------------------------------------

const tabs = { orders: () => {}, users: listUsers, products: listProducts, webhooks: listWebhooks };

function select(name) {
  for (const tab of Object.keys(tabs)) {
    const button = byId(`tab-${tab}`);
    const chosen = tab === name;
    button.setAttribute("aria-selected", String(chosen));
    button.tabIndex = chosen ? 0 : -1;
    byId(`panel-${tab}`).hidden = !chosen;
  }
  tabs[name]();
}

const tabNames = Object.keys(tabs);
for (const name of tabNames) {
  const button = byId(`tab-${name}`);
  button.addEventListener("click", () => select(name));
  // Arrow keys move between tabs, as the WAI-ARIA tabs pattern expects.
  button.addEventListener("keydown", (event) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    const next = tabNames[(tabNames.indexOf(name) + step + tabNames.length) % tabNames.length];
    select(next);
    byId(`tab-${next}`).focus();
  });
}

// ---- session ------------------------------------------------------------------------

const shell = new Shell(session, {
  stream: "orders/stream",
  onOrder: (order) => orders.upsert(order),
  onResync: () => orders.reload(),
  onSignedIn: () => {
    select("orders");
    orders.first();
  },
});

byId("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  attempt(form.querySelector("button"), async () => {
    const { data } = await request("POST", "login", {
      body: { email: byId("login-email").value, password: byId("login-password").value },
    });
    if (data.user.role !== "admin") {
      // The token is of no use here; revoke it rather than leave it valid for 72 hours.
      await request("POST", "logout", { token: data.token }).catch(() => null);
      notify("This account is not an administrator. Customers use the page at /.", "error");
      return;
    }
    session.save(data);
    form.reset();
    notify("");
    shell.signedIn();
  });
});

shell.start();
