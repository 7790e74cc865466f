// The customer page: register, log in, place orders and watch them move.

import {
  attempt, byId, h, idempotencyKey, isFinal, notify, OPEN_STATUSES, request, Session, Shell, STATUSES, statusLabel,
} from "./app.js";
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
  actions: (order) =>
    isFinal(order.status)
      ? null
      : h("button", { type: "button", class: "link danger", onclick: (e) => cancel(e.target, order) }, "Cancel"),
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
  onSignedIn: () => table.first(),
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

byId("filter-status").addEventListener("change", () => table.first());
byId("filter-form").addEventListener("submit", (event) => event.preventDefault());
byId("refresh").addEventListener("click", () => table.reload());

shell.start();
