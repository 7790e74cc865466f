// The customer page: register, log in, shop the catalog, place and edit orders and watch
// them move.

import {
  attempt, byId, EDITABLE, fill, h, idempotencyKey, isFinal, notify, OPEN_STATUSES, request, Session, Shell, STATUSES,
  statusLabel,
} from "./app.js";
import {
  addressFieldset, formatMoney, MAX_LINES, MAX_QUANTITY, NOTE_MAX_LENGTH, readAddress, total,
} from "./catalog.js";
import { OrderTable } from "./orders.js";

const session = new Session("trachios.customer");

byId("filter-status").append(
  h("option", { value: OPEN_STATUSES.join(",") }, "on its way"),
  ...STATUSES.map((status) => h("option", { value: status }, statusLabel(status))),
);

const statusFilter = () => byId("filter-status").value;

const table = new OrderTable({
  session,
  path: "my-orders",
  query: () => {
    const params = new URLSearchParams();
    if (statusFilter()) params.set("status", statusFilter());
    return params;
  },
  matches: (order) => !statusFilter() || statusFilter().split(",").includes(order.status),
  columns: [{ label: "Total", value: (order) => h("span", { class: "amount" }, formatMoney(order.total, order.currency)) }],
  actions: (order) => [
    order.status === EDITABLE
      ? h("button", { type: "button", class: "link", onclick: () => openEdit(order) }, "Edit")
      : null,
    isFinal(order.status)
      ? null
      : h("button", { type: "button", class: "link danger", onclick: (e) => cancel(e.target, order) }, "Cancel"),
  ],
});

function cancel(button, order) {
  if (!window.confirm(`Cancel order #${order.id} (${order.item_description})?`)) return;
  attempt(button, async () => {
    const { data } = await session.call("PUT", `orders/${order.id}/cancel`);
    table.upsert(data);
    notify(`Order #${order.id} is cancelled.`);
  });
}

const shell = new Shell(session, {
  stream: "my-orders/stream",
  onOrder: (order) => table.upsert(order),
  onResync: () => table.reload(),
  onSignedIn: () => {
    table.first();
    searchProducts();
    showBasket();
  },
});

async function logIn(email, password) {
  const { data } = await request("POST", "login", { body: { email, password } });
  session.save(data);
  shell.signedIn();
}

byId("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  attempt(form.querySelector("button"), async () => {
    await logIn(byId("login-email").value, byId("login-password").value);
    form.reset();
    notify("");
  });
});

byId("register-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  attempt(form.querySelector("button"), async () => {
    const body = {
      name: byId("register-name").value,
      email: byId("register-email").value,
      password: byId("register-password").value,
    };
    await request("POST", "register", { body });
    await logIn(body.email, body.password);
    form.reset();
    notify(`Welcome, ${session.user.name}! Your account is ready.`);
  });
});

byId("order-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  const item = byId("order-item").value;
  // One key per submission: a retried or double-clicked request places one order.
  const key = idempotencyKey();
  attempt(form.querySelector("button"), async () => {
    const { data } = await session.call("POST", "orders", { item_description: item }, { "Idempotency-Key": key });
    table.upsert(data);
    form.reset();
    notify(`Order #${data.id} is placed.`);
  });
});

// ---- shop and basket --------------------------------------------------------------

/** What the basket holds: product id → { product, quantity }, in the order added. */
const basket = new Map();

function searchProducts() {
  const q = byId("search-q").value.trim();
  const params = new URLSearchParams({ limit: "24" });
  if (q) params.set("q", q);
  return attempt(null, async () => {
    const { data } = await session.call("GET", `products?${params}`);
    fill(byId("products"), data.map(productCard));
    byId("products-empty").hidden = data.length > 0;
    // A server that sells no catalog shows no shop, only the free-text form.
    const noCatalog = !q && data.length === 0 && basket.size === 0;
    byId("shop").hidden = noCatalog;
    byId("basket-form").hidden = noCatalog;
  });
}

function productCard(product) {
  const most = Math.min(MAX_QUANTITY, product.stock);
  const quantity = h("input", {
    type: "number", min: 1, max: Math.max(most, 1), step: 1, value: 1, inputmode: "numeric",
    id: `quantity-${product.id}`, disabled: most < 1,
  });
  const add = h("button", {
    type: "button", class: "secondary", disabled: most < 1,
    onclick: () => addToBasket(product, Number(quantity.value)),
  }, most < 1 ? "Sold out" : "Add");
  return h(
    "li",
    { dataset: { productId: product.id, sku: product.sku } },
    h("strong", { class: "item" }, product.name),
    h("span", { class: "sku" }, product.sku),
    h("span", { class: "price" }, formatMoney(product.price, product.currency)),
    h("span", { class: "stock" }, product.stock > 0 ? `${product.stock} left` : "none left"),
    h("div", { class: "buy" }, h("label", { for: `quantity-${product.id}`, class: "visually-hidden" }, `Quantity of ${product.name}`), quantity, add),
  );
}

function addToBasket(product, quantity) {
  if (!Number.isInteger(quantity) || quantity < 1) {
    notify(`Choose how many of ${product.name} to add.`, "error");
    return;
  }
  const line = basket.get(product.id);
  if (!line && basket.size >= MAX_LINES) {
    notify(`An order holds at most ${MAX_LINES} products.`, "error");
    return;
  }
  const wanted = Math.min(MAX_QUANTITY, (line?.quantity ?? 0) + quantity);
  basket.set(product.id, { product, quantity: wanted });
  showBasket();
  notify(`${product.name} is in your basket.`);
}

function showBasket() {
  const lines = [...basket.values()];
  fill(
    byId("basket").tBodies[0],
    lines.map(({ product, quantity }) => {
      const input = h("input", {
        type: "number", class: "quantity", min: 1, max: MAX_QUANTITY, step: 1, value: quantity,
        "aria-label": `Quantity of ${product.name}`,
        onchange: (event) => {
          const value = Number(event.target.value);
          if (Number.isInteger(value) && value >= 1) basket.set(product.id, { product, quantity: Math.min(value, MAX_QUANTITY) });
          showBasket();
        },
      });
      return h(
        "tr",
        { dataset: { productId: product.id } },
        h("td", { "data-label": "Product", class: "item" }, product.name),
        h("td", { "data-label": "Quantity" }, input),
        h("td", { "data-label": "Price", class: "amount" }, formatMoney(product.price * quantity, product.currency)),
        h("td", { class: "actions" }, h("button", {
          type: "button", class: "link danger",
          onclick: () => { basket.delete(product.id); showBasket(); },
        }, "Remove")),
      );
    }),
  );
  const sum = total(lines.map(({ product, quantity }) => ({ minor: product.price * quantity, currency: product.currency })));
  fill(byId("basket-total"), lines.length === 0 ? "" : sum ? formatMoney(sum.minor, sum.currency) : "several currencies: order them apart");
  byId("basket-empty").hidden = lines.length > 0;
  byId("basket-details").hidden = lines.length === 0;
  byId("basket").hidden = lines.length === 0;
}

byId("basket-address").replaceWith(addressFieldset("basket-address", null));
byId("basket-note").maxLength = NOTE_MAX_LENGTH;

byId("basket-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const body = {
    lines: [...basket.values()].map(({ product, quantity }) => ({ product_id: product.id, quantity })),
    shipping_address: readAddress("basket-address"),
    note: byId("basket-note").value,
  };
  // One key per submission: a retried or double-clicked request places one order.
  const key = idempotencyKey();
  attempt(byId("place-basket"), async () => {
    const { data } = await session.call("POST", "orders", body, { "Idempotency-Key": key });
    table.upsert(data);
    basket.clear();
    showBasket();
    byId("basket-note").value = "";
    notify(`Order #${data.id} is placed: ${formatMoney(data.total, data.currency)}.`);
    await searchProducts();
  });
});

byId("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  searchProducts();
});

// ---- editing an order ---------------------------------------------------------------

const editDialog = byId("edit");
/** The order being edited and its lines as the dialog holds them. */
let editing = null;

function openEdit(order) {
  editing = {
    order,
    lines: order.lines.map((line) => ({ product_id: line.product_id, label: line.name, quantity: line.quantity })),
  };
  fill(editDialog.querySelector("[data-title]"), `Change order #${order.id}`);
  // A free-text order has no lines to change; its address and note can.
  editDialog.querySelector("[data-lines]").hidden = order.lines.length === 0;
  byId("edit-address").replaceWith(addressFieldset("edit-address", order.shipping_address));
  byId("edit-note").value = order.note ?? "";
  byId("edit-note").maxLength = NOTE_MAX_LENGTH;
  showEditLines();
  if (!editDialog.open) editDialog.showModal();
}

function showEditLines() {
  fill(
    editDialog.querySelector("tbody"),
    editing.lines.map((line, i) =>
      h(
        "tr",
        {},
        h("td", { "data-label": "Product", class: "item" }, line.label),
        h("td", { "data-label": "Quantity" }, h("input", {
          type: "number", class: "quantity", min: 1, max: MAX_QUANTITY, step: 1, value: line.quantity,
          "aria-label": `Quantity of ${line.label}`,
          onchange: (event) => { line.quantity = Number(event.target.value); },
        })),
        h("td", { class: "actions" }, h("button", {
          type: "button", class: "link danger",
          onclick: () => { editing.lines.splice(i, 1); showEditLines(); },
        }, "Remove")),
      )),
  );
}

byId("edit-add").addEventListener("click", () => {
  const sku = byId("edit-sku").value.trim();
  if (!sku || !editing) return;
  editing.lines.push({ sku, label: sku, quantity: 1 });
  byId("edit-sku").value = "";
  showEditLines();
});

editDialog.querySelector("[data-close]").addEventListener("click", () => editDialog.close());

byId("edit-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const { order, lines } = editing;
  const body = { shipping_address: readAddress("edit-address"), note: byId("edit-note").value || null };
  if (order.lines.length > 0) {
    body.lines = lines.map(({ product_id, sku, quantity }) => (product_id ? { product_id, quantity } : { sku, quantity }));
  }
  attempt(event.target.querySelector('button[type="submit"]'), async () => {
    const { data } = await session.call("PATCH", `orders/${order.id}`, body);
    table.upsert(data);
    editDialog.close();
    notify(`Order #${order.id} is changed${data.total === null ? "" : `: ${formatMoney(data.total, data.currency)}`}.`);
    await searchProducts();
  });
});

byId("filter-status").addEventListener("change", () => table.first());
byId("filter-form").addEventListener("submit", (event) => event.preventDefault());
byId("refresh").addEventListener("click", () => table.reload());

shell.start();
