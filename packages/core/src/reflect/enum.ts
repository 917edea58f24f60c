import type { EnumType, EnumValueInfo } from "./types.js";

/**
 * Builds the run-time description of an enum; generated code calls it (`<Enum>$enum`). `values`
 * are [name, number] pairs in declaration order.
 */
export function defineEnum(typeName: string, values: readonly (readonly [string, number])[], closed: boolean): EnumType {
  const list: EnumValueInfo[] = values.map(([name, number]) => Object.freeze({ name, number }));
  const byNumber = new Map<number, EnumValueInfo>();
  const byName = new Map<string, EnumValueInfo>();
  for (const v of list) {
    if (!byNumber.has(v.number)) byNumber.set(v.number, v);
    byName.set(v.name, v);
  }
  return Object.freeze({
    typeName,
    values: Object.freeze(list),
    closed,
    byNumber: (n: number) => byNumber.get(n),
    byName: (name: string) => byName.get(name),
  });
}
