import {
  Edition,
  FeatureSet_EnumType as EnumType,
  FeatureSet_FieldPresence as FieldPresence,
  FeatureSet_MessageEncoding as MessageEncoding,
  FeatureSet_RepeatedFieldEncoding as RepeatedFieldEncoding,
  FeatureSet_Utf8Validation as Utf8Validation,
  type FeatureSet,
} from "../gen/google/protobuf/descriptor.sg.js";

/**
 * Feature resolution for descriptors (protobuf editions): a file's edition gives defaults, and
 * `features` options on the file, a message, a oneof, a field or an enum override them for that
 * element and everything inside it. proto2 and proto3 files are the editions EDITION_PROTO2 and
 * EDITION_PROTO3; their legacy syntax (labels, `packed`, groups) is mapped onto features by the
 * caller. Only the features that change generated code are tracked.
 */

/** The features the generator depends on, every one resolved (none unknown). */
export interface Features {
  fieldPresence: FieldPresence;
  enumType: EnumType;
  repeatedFieldEncoding: RepeatedFieldEncoding;
  utf8Validation: Utf8Validation;
  messageEncoding: MessageEncoding;
}

/** Oldest and newest edition this front end resolves (the plugin advertises them to protoc). */
export const MINIMUM_EDITION = Edition.EDITION_PROTO2;
export const MAXIMUM_EDITION = Edition.EDITION_2024;

// The edition_defaults declared on google.protobuf.FeatureSet's fields in descriptor.proto.
const LEGACY: Features = {
  fieldPresence: FieldPresence.EXPLICIT,
  enumType: EnumType.CLOSED,
  repeatedFieldEncoding: RepeatedFieldEncoding.EXPANDED,
  utf8Validation: Utf8Validation.NONE,
  messageEncoding: MessageEncoding.LENGTH_PREFIXED,
};
const PROTO3: Features = {
  ...LEGACY,
  fieldPresence: FieldPresence.IMPLICIT,
  enumType: EnumType.OPEN,
  repeatedFieldEncoding: RepeatedFieldEncoding.PACKED,
  utf8Validation: Utf8Validation.VERIFY,
};
const EDITION_2023: Features = { ...PROTO3, fieldPresence: FieldPresence.EXPLICIT };

/** The feature defaults of an edition; undefined for editions this front end does not know. */
export function editionDefaults(edition: Edition): Features | undefined {
  switch (edition) {
    case Edition.EDITION_PROTO2: return LEGACY;
    case Edition.EDITION_PROTO3: return PROTO3;
    // 2024 changed only features that do not affect wire handling (naming style, visibility)
    case Edition.EDITION_2023: case Edition.EDITION_2024: return EDITION_2023;
    default: return undefined;
  }
}

/** The model's spelling of an edition: "proto2", "proto3", "2023", ... */
export function editionName(edition: Edition): string {
  if (edition === Edition.EDITION_PROTO2) return "proto2";
  if (edition === Edition.EDITION_PROTO3) return "proto3";
  return Edition[edition]?.replace(/^EDITION_/, "") ?? String(edition);
}

/** `parent` overridden by the features set in `own` (unset and UNKNOWN values inherit). */
export function mergeFeatures(parent: Features, own: FeatureSet | undefined): Features {
  if (own === undefined) return parent;
  const out = { ...parent };
  if (own.fieldPresence) out.fieldPresence = own.fieldPresence;
  if (own.enumType) out.enumType = own.enumType;
  if (own.repeatedFieldEncoding) out.repeatedFieldEncoding = own.repeatedFieldEncoding;
  if (own.utf8Validation) out.utf8Validation = own.utf8Validation;
  if (own.messageEncoding) out.messageEncoding = own.messageEncoding;
  return out;
}

export { EnumType, FieldPresence, MessageEncoding, RepeatedFieldEncoding, Utf8Validation };
