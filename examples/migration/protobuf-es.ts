// The migration example, written with protobuf-es (@bufbuild/protobuf and protoc-gen-es).
import { clone, create, equals, fromBinary, fromJsonString, isFieldSet, toBinary, toJsonString } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { OrderSchema, Status } from "../gen-es/shop_pb.js";

const order = create(OrderSchema, {
  id: "o-1001",
  status: Status.PAID,
  metadata: { contentType: "image/png", labels: { region: "eu-west" } },
  items: [{ sku: "sku-7", quantity: 2, priceCents: 1250n }],
  created: timestampFromDate(new Date("2026-12-01T10:00:00.250Z")),
  attachment: new TextEncoder().encode("PNG..."),
  delivery: { case: "address", value: "1 Main St" },
});

const bytes = toBinary(OrderSchema, order);
const decoded = fromBinary(OrderSchema, bytes);
console.log(`binary: ${bytes.length} bytes, equal after a round trip: ${equals(OrderSchema, order, decoded)}`);

const copy = clone(OrderSchema, decoded);
copy.items[0]!.quantity = 3;
console.log(`clone is deep: ${decoded.items[0]!.quantity} ${copy.items[0]!.quantity}`);
console.log(`note set: ${isFieldSet(order, OrderSchema.field.note)}`);

const json = toJsonString(OrderSchema, order);
console.log(`json: ${json}`);
const parsed = fromJsonString(OrderSchema, json);
console.log(`equal after a JSON round trip: ${equals(OrderSchema, order, parsed)}`);
console.log(`created: ${timestampDate(parsed.created!).toISOString()}`);
