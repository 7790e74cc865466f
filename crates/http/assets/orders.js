// A paged orders table that stays current: a live stream updates rows in place and adds
// new orders to the first page.

import { attempt, byId, fill, h, Pager, showHistory, statusBadge, timeCell } from "./app.js";

export class OrderTable {
  /**
   * `path` is the list endpoint (`my-orders` or `orders`); `query()` gives the filters as
   * URLSearchParams; `matches(order)` says whether a new order belongs under them;
   * `columns` and `actions(order)` add page-specific cells. With `selection`, each row
   * has a checkbox and `selection.onChange(ids)` hears which rows of the page are ticked;
   * `selection.page` is a checkbox that ticks them all.
   */
  constructor({ session, path, query, matches, columns = [], actions, selection = null }) {
    this.session = session;
    this.selection = selection;
    this.selected = new Set();
    selection?.page.addEventListener("change", () => {
      for (const box of this.body.querySelectorAll("input[data-select]")) {
        box.checked = selection.page.checked;
        this.mark(Number(box.dataset.select), box.checked);
      }
      this.selectionChanged();
    });
    this.path = path;
    this.query = query;
    this.matches = matches;
    this.columns = columns;
    this.actions = actions;
    this.body = byId("orders").tBodies[0];
    this.history = byId("history");
    this.limit = 20;
    this.pager = new Pager({
      session,
      newer: byId("newer"),
      older: byId("older"),
      render: (orders) => {
        // A selection is of the page it was made on.
        this.selected.clear();
        fill(this.body, orders.map((order) => this.row(order)));
        this.showEmpty();
        this.selectionChanged();
      },
    });
    this.history.querySelector("[data-close]").addEventListener("click", () => this.history.close());
  }

  /** Loads the first page under the current filters. */
  first() {
    const params = this.query();
    this.limit = Number(params.get("limit") ?? 20);
    params.set("limit", String(this.limit));
    return this.pager.first(`/api/v1/${this.path}?${params}`);
  }

  /** Reloads the page on show, e.g. after a reconnection missed some changes. */
  reload() {
    return this.pager.current ? this.pager.reload() : this.first();
  }

  showEmpty() {
    byId("orders-empty").hidden = this.body.rows.length > 0;
  }

  /** The ids of the ticked rows, in the order of the page. */
  selectedIds() {
    return Array.from(this.body.rows, (row) => Number(row.dataset.orderId)).filter((id) => this.selected.has(id));
  }

  /** Clears the selection, e.g. once a bulk change has been applied to it. */
  clearSelection() {
    this.selected.clear();
    for (const box of this.body.querySelectorAll("input[data-select]")) box.checked = false;
    this.selectionChanged();
  }

  mark(id, ticked) {
    if (ticked) this.selected.add(id);
    else this.selected.delete(id);
  }

  selectionChanged() {
    if (!this.selection) return;
    const rows = this.body.rows.length;
    const ticked = this.selectedIds().length;
    this.selection.page.checked = rows > 0 && ticked === rows;
    this.selection.page.indeterminate = ticked > 0 && ticked < rows;
    this.selection.onChange(this.selectedIds());
  }

  selectCell(order) {
    if (!this.selection) return null;
    const box = h("input", {
      type: "checkbox",
      "aria-label": `Select order #${order.id}`,
      checked: this.selected.has(order.id),
      dataset: { select: order.id },
      onchange: (event) => {
        this.mark(order.id, event.target.checked);
        this.selectionChanged();
      },
    });
    return h("td", { class: "select" }, box);
  }

  row(order) {
    const history = h("button", { type: "button", class: "link", onclick: () => this.open(order) }, "History");
    return h(
      "tr",
      { dataset: { orderId: order.id, updatedAt: order.updated_at } },
      this.selectCell(order),
      h("td", { "data-label": "Order" }, `#${order.id}`),
      this.columns.map((column) => h("td", { "data-label": column.label }, column.value(order))),
      h("td", { "data-label": "Item", class: "item", dataset: { field: "item" } }, order.item_description),
      h("td", { "data-label": "Status", dataset: { field: "status" } }, statusBadge(order.status)),
      h("td", { "data-label": "Placed" }, timeCell(order.created_at)),
      h("td", { "data-label": "Updated" }, timeCell(order.updated_at)),
      h("td", { class: "actions" }, history, this.actions(order, this)),
    );
  }

  open(order) {
    return attempt(null, () => showHistory(this.session, this.history, order));
  }

  /** Shows an order as it now is: in place if listed, at the top of the first page if new. */
  upsert(order) {
    const existing = this.body.querySelector(`tr[data-order-id="${order.id}"]`);
    if (existing) {
      // An answer and the stream both bring the same change, in either order, and a
      // stream event may trail an answer that is newer: only a newer change replaces the
      // row, so a status being chosen in it is not reset for nothing.
      if (micros(order.updated_at) > micros(existing.dataset.updatedAt)) {
        existing.replaceWith(this.row(order));
      }
    } else if (this.pager.onFirstPage && this.matches(order)) {
      const older = Array.from(this.body.rows).find((row) => Number(row.dataset.orderId) < order.id);
      this.body.insertBefore(this.row(order), older ?? null);
      this.selectionChanged();
      // The first page grows with new orders (trimming it would make "Older" skip what
      // was trimmed) until a reload brings it back to one page's worth.
      if (this.body.rows.length > this.limit * 2) this.first();
    }
    if (this.history.open && this.history.dataset.orderId === String(order.id)) this.open(order);
    this.showEmpty();
  }
}

/** An RFC 3339 time in microseconds: the API prints what it stores, which is finer than ms. */
function micros(iso) {
  const match = /^(.*:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(iso ?? "");
  if (!match) return Number.NEGATIVE_INFINITY;
  const fraction = (match[2] ?? "").padEnd(6, "0").slice(0, 6);
  return Date.parse(match[1] + match[3]) * 1000 + Number(fraction);
}
