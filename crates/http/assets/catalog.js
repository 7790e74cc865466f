// Money, addresses and lines as both pages show and take them. What the forms accept —
// each currency's digits, the countries, the bounds — comes from the server (rules.js).

import { h } from "./app.js";
import { COUNTRIES, CURRENCY_EXPONENTS } from "./rules.js";

export { MAX_LINES, MAX_QUANTITY, NOTE_MAX_LENGTH } from "./rules.js";

const digitsOf = (currency) => CURRENCY_EXPONENTS[currency] ?? 2;

/**
 * An amount in minor units as the reader's locale writes it in its currency. The decimal
 * is built as text and handed to Intl whole, so no amount goes through a float.
 */
export function formatMoney(minor, currency) {
  if (minor === null || minor === undefined || !currency) return "—";
  const digits = digitsOf(currency);
  const format = new Intl.NumberFormat(undefined, {
    style: "currency",
    currency,
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  return format.format(decimalText(minor, currency));
}

/** An amount in minor units as a plain decimal in major units: 1250 EUR is "12.50". */
export function decimalText(minor, currency) {
  const digits = digitsOf(currency);
  const units = String(Math.abs(minor)).padStart(digits + 1, "0");
  const decimal = digits === 0 ? units : `${units.slice(0, -digits)}.${units.slice(-digits)}`;
  return `${minor < 0 ? "-" : ""}${decimal}`;
}

/** A price typed in major units (`12.5`) as minor units (1250), or null if it is not one. */
export function parseMoney(text, currency) {
  const digits = digitsOf(currency);
  const match = new RegExp(`^(\\d+)(?:[.,](\\d{0,${digits}}))?$`).exec(text.trim());
  if (!match || (digits === 0 && match[2])) return null;
  const minor = Number(match[1] + (match[2] ?? "").padEnd(digits, "0"));
  return Number.isSafeInteger(minor) ? minor : null;
}

/** The sum of minor amounts of one currency; null when they are of several. */
export function total(amounts) {
  const currencies = new Set(amounts.map((a) => a.currency));
  if (currencies.size !== 1) return null;
  return { minor: amounts.reduce((sum, a) => sum + a.minor, 0), currency: [...currencies][0] };
}

/** "2 × Enamel mug" lines of an order, with their totals. */
export function linesList(order) {
  return h(
    "ul",
    { class: "lines" },
    order.lines.map((line) =>
      h("li", {}, `${line.quantity} × ${line.name} `, h("span", { class: "amount" }, formatMoney(line.line_total, order.currency)))),
  );
}

const ADDRESS_FIELDS = [
  { name: "name", label: "Name", autocomplete: "name" },
  { name: "line1", label: "Address", autocomplete: "address-line1" },
  { name: "line2", label: "Address line 2", autocomplete: "address-line2", optional: true },
  { name: "city", label: "City", autocomplete: "address-level2" },
  { name: "region", label: "Region", autocomplete: "address-level1", optional: true },
  { name: "postal_code", label: "Postal code", autocomplete: "postal-code" },
];

let countryOptions = null;

/** Every country the API accepts, by the name the reader's browser gives it. */
function countries() {
  if (!countryOptions) {
    const names = new Intl.DisplayNames(undefined, { type: "region" });
    countryOptions = COUNTRIES.map((code) => ({ code, name: names.of(code) ?? code }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
  return countryOptions;
}

/** The fields of a shipping address, with ids under `prefix`, filled from `address`. */
export function addressFieldset(prefix, address) {
  const value = (name) => address?.[name] ?? "";
  const field = ({ name, label, autocomplete, optional }) =>
    h(
      "div",
      { class: "field" },
      h("label", { for: `${prefix}-${name}` }, label, optional ? h("small", {}, " (optional)") : null),
      h("input", { id: `${prefix}-${name}`, name, autocomplete, maxlength: 255, value: value(name) }),
    );
  const country = h(
    "select",
    { id: `${prefix}-country`, name: "country", autocomplete: "country" },
    h("option", { value: "" }, "—"),
    countries().map(({ code, name }) => h("option", { value: code, selected: code === value("country") }, name)),
  );
  return h(
    "fieldset",
    { class: "address", id: prefix },
    h("legend", {}, "Ship to ", h("small", {}, "(optional)")),
    ADDRESS_FIELDS.map(field),
    h("div", { class: "field" }, h("label", { for: `${prefix}-country` }, "Country"), country),
    h(
      "div",
      { class: "field" },
      h("label", { for: `${prefix}-phone` }, "Phone ", h("small", {}, "(optional, +4420…)")),
      h("input", {
        id: `${prefix}-phone`, name: "phone", type: "tel", autocomplete: "tel", maxlength: 16, value: value("phone"),
      }),
    ),
  );
}

/** The address the fieldset under `prefix` holds; null when every field is empty. */
export function readAddress(prefix) {
  const names = [...ADDRESS_FIELDS.map((f) => f.name), "country", "phone"];
  const address = Object.fromEntries(names.map((name) => [name, document.getElementById(`${prefix}-${name}`).value]));
  return Object.values(address).every((v) => v.trim() === "") ? null : address;
}
