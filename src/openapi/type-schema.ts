import type { Type } from '@nestjs/common';
import { getSchemaPath, type ReferenceObject, type SchemaObject } from '@nestjs/swagger';

// The constructors Swagger documents as a JSON type rather than as a schema of their own.
const BUILT_IN: ReadonlyMap<unknown, SchemaObject['type']> = new Map<unknown, SchemaObject['type']>(
  [
    [String, 'string'],
    [Number, 'number'],
    [Boolean, 'boolean'],
    [Object, 'object'],
    [Array, 'array'],
  ],
);

/**
 * The schema Swagger would give a response `type` (with `isArray`, `nullable`), built here
 * because the same response must carry another media type with another schema beside it, and
 * Swagger gives every media type of a typed response the same schema. A class is added to
 * `models`, to be registered as an extra model (that is how its schema still gets written).
 */
export function schemaOfType(
  type: Type<unknown> | Function | string,
  options: { isArray?: boolean; nullable?: boolean },
  models: Function[],
): SchemaObject | ReferenceObject {
  const builtIn = BUILT_IN.get(type);
  let schema: SchemaObject | ReferenceObject;
  if (builtIn !== undefined) {
    schema = { type: builtIn };
  } else {
    if (typeof type === 'function') models.push(type);
    schema = { $ref: getSchemaPath(type as string | Function) };
  }
  if (options.isArray === true) schema = { type: 'array', items: schema };
  if (options.nullable === true) {
    // A $ref cannot have siblings in OpenAPI 3.0, hence the allOf (as Swagger does).
    schema = '$ref' in schema ? { nullable: true, allOf: [schema] } : { ...schema, nullable: true };
  }
  return schema;
}
