// The migration example, written with sgwire (@sgwire/core and `sgwire compile`).
import { clone, equals, fromJsonString, isFieldSet, timestampFromDate, timestampToDate, toJsonString } from "@sgwire/core";
import { Order, Status } from "../gen/shop.sg.js";

const order = Order.create({
  id: "o-1001",
  status: Status.STATUS_PAID,
  metadata: { contentType: "image/png", labels: { region: "eu-west" } },
  items: [{ sku: "sku-7", quantity: 2, priceCents: 1250n }],
  created: timestampFromDate(new Date("2026-12-01T10:00:00.250Z")),
  attachment: new TextEncoder().encode("PNG..."),
  delivery: { case: "address", value: "1 Main St" },
});

const bytes = Order.toBinary(order);
const decoded = Order.fromBinary(bytes);
console.log(`binary: ${bytes.length} bytes, equal after a round trip: ${equals(Order, order, decoded)}`);

const copy = clone(Order, decoded);
copy.items[0]!.quantity = 3;
console.log(`clone is deep: ${decoded.items[0]!.quantity} ${copy.items[0]!.quantity}`);
console.log(`note set: ${isFieldSet(Order, order, "note")}`);

const json = toJsonString(Order, order);
console.log(`json: ${json}`);
const parsed = fromJsonString(Order, json);
console.log(`equal after a JSON round trip: ${equals(Order, order, parsed)}`);
console.log(`created: ${timestampToDate(parsed.created!).toISOString()}`);
