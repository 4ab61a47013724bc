/*
 * Reading a JSON request body the way rekor-tiles' HTTP gateway does, so that a malformed
 * request gets the error text the real service sends. grpc-gateway first reads one JSON value
 * with Go's encoding/json (its syntax errors: "invalid character 'x' looking for beginning of
 * value", "unexpected EOF"; an empty body is an empty request; anything after the value is
 * ignored), then decodes it with protojson, strictly (DiscardUnknown false): unknown fields,
 * duplicates, a second member of a oneof, wrong types, bad base64 and unknown enum names are
 * errors "proto: (line L:C): …" (Go randomizes the space after "proto:" between a plain and a
 * non-breaking one per binary; this writes the plain one). Field names may be the JSON name
 * (`keyDetails`) or the proto name (`key_details`); null leaves a field unset.
 *
 * The result is the message in the protobuf JSON mapping's canonical form (JSON names, bytes
 * as padded standard base64, enums by name), for @sigstore/protobuf-specs' fromJSON codecs.
 */

export type FieldType = 'string' | 'bytes' | { enum: Readonly<Record<string, number>> } | { message: () => MessageSchema };

export interface FieldSchema {
  /** The proto field name (snake_case). */
  name: string;
  /** The JSON name (lowerCamelCase). */
  json: string;
  number: number;
  type: FieldType;
  repeated?: boolean;
  /** The full name of the oneof the field belongs to. */
  oneof?: string;
}

export interface MessageSchema {
  fields: FieldSchema[];
}

export type JsonObject = { [name: string]: JsonValue };
export type JsonValue = string | number | JsonObject | JsonValue[];

/** The request could not be read; `message` is the gateway's error text. */
export class RequestDecodeError extends Error {}

/** Decodes a request body; an empty body is the empty message. */
export function decodeRequest(body: Buffer, schema: MessageSchema): JsonObject {
  const text = body.toString('utf8');
  const value = new GoJsonScanner(text).readValue();
  if (!value) return {};
  return new ProtoJsonDecoder(text.slice(value.start, value.end), value.start).message(value.node, schema);
}

type Node =
  | { kind: 'object'; pos: number; members: { name: string; namePos: number; nameRaw: string; value: Node }[] }
  | { kind: 'array'; pos: number; items: Node[] }
  | { kind: 'string'; pos: number; raw: string; value: string }
  | { kind: 'number'; pos: number; raw: string }
  | { kind: 'literal'; pos: number; raw: 'true' | 'false' | 'null' };

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

/** encoding/json's Decoder reading one value into a json.RawMessage, with its error messages. */
class GoJsonScanner {
  private i = 0;

  constructor(private readonly s: string) {}

  /** The first value, or undefined when there is none (io.EOF, which the gateway ignores). */
  readValue(): { node: Node; start: number; end: number } | undefined {
    this.skipSpace();
    if (this.i >= this.s.length) return undefined;
    const start = this.i;
    const node = this.value('looking for beginning of value');
    return { node, start, end: this.i };
  }

  private value(context: string): Node {
    this.skipSpace();
    const c = this.peek();
    const pos = this.i;
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const literal of ['true', 'false', 'null'] as const) {
      if (c === literal[0]) {
        for (const expected of literal.slice(1)) {
          this.i++;
          if (this.peek() !== expected) this.fail(`in literal ${literal} (expecting ${quoteChar(expected)})`);
        }
        this.i++;
        return { kind: 'literal', pos, raw: literal };
      }
    }
    return this.fail(context);
  }

  private object(): Node {
    const pos = this.i++;
    const members: Extract<Node, { kind: 'object' }>['members'] = [];
    this.skipSpace();
    if (this.peek() === '}') {
      this.i++;
      return { kind: 'object', pos, members };
    }
    for (;;) {
      this.skipSpace();
      if (this.peek() !== '"') this.fail('looking for beginning of object key string');
      const name = this.string() as Extract<Node, { kind: 'string' }>;
      this.skipSpace();
      if (this.peek() !== ':') this.fail('after object key');
      this.i++;
      members.push({ name: name.value, namePos: name.pos, nameRaw: name.raw, value: this.value('looking for beginning of value') });
      this.skipSpace();
      const next = this.peek();
      this.i++;
      if (next === '}') return { kind: 'object', pos, members };
      if (next !== ',') {
        this.i--;
        this.fail('after object key:value pair');
      }
    }
  }

  private array(): Node {
    const pos = this.i++;
    const items: Node[] = [];
    this.skipSpace();
    if (this.peek() === ']') {
      this.i++;
      return { kind: 'array', pos, items };
    }
    for (;;) {
      items.push(this.value('looking for beginning of value'));
      this.skipSpace();
      const next = this.peek();
      this.i++;
      if (next === ']') return { kind: 'array', pos, items };
      if (next !== ',') {
        this.i--;
        this.fail('after array element');
      }
    }
  }

  private string(): Node {
    const pos = this.i++;
    for (;;) {
      const c = this.peek();
      if (c === '"') break;
      if (c === '\\') {
        this.i++;
        const escaped = this.peek();
        if (escaped === 'u') {
          for (let k = 0; k < 4; k++) {
            this.i++;
            if (!/[0-9a-fA-F]/.test(this.peek())) this.fail('in \\u hexadecimal character escape');
          }
        } else if (!'"\\/bfnrt'.includes(escaped)) {
          this.fail('in string escape code');
        }
      } else if (c.charCodeAt(0) < 0x20) {
        this.fail('in string literal');
      }
      this.i++;
    }
    this.i++;
    const raw = this.s.slice(pos, this.i);
    return { kind: 'string', pos, raw, value: JSON.parse(raw) as string };
  }

  private number(): Node {
    const pos = this.i;
    if (this.peek() === '-') {
      this.i++;
      if (!isDigit(this.peek())) this.fail('in numeric literal');
    }
    // A number may end the body (a top-level one is then complete), so what may follow its
    // digits is looked at without the end being an error.
    const next = () => this.s[this.i] ?? '';
    if (this.peek() === '0') this.i++;
    else while (isDigit(next())) this.i++;
    if (next() === '.') {
      this.i++;
      if (!isDigit(this.peek())) this.fail('after decimal point in numeric literal');
      while (isDigit(next())) this.i++;
    }
    if (next() === 'e' || next() === 'E') {
      this.i++;
      if (this.peek() === '+' || this.peek() === '-') this.i++;
      if (!isDigit(this.peek())) this.fail('in exponent of numeric literal');
      while (isDigit(next())) this.i++;
    }
    return { kind: 'number', pos, raw: this.s.slice(pos, this.i) };
  }

  private skipSpace(): void {
    while (this.i < this.s.length && WHITESPACE.has(this.s[this.i] as string)) this.i++;
  }

  /** The current character; at the end of the body a value is cut short: "unexpected EOF". */
  private peek(): string {
    if (this.i >= this.s.length) throw new RequestDecodeError('unexpected EOF');
    return this.s[this.i] as string;
  }

  private fail(context: string): never {
    throw new RequestDecodeError(`invalid character ${quoteChar(this.peek())} ${context}`);
  }
}

/** encoding/json's quoteChar. */
function quoteChar(c: string): string {
  if (c === "'") return `'\\''`;
  if (c === '"') return `'"'`;
  return `'${JSON.stringify(c).slice(1, -1)}'`;
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

/** protojson.Unmarshal over the value grpc-gateway read; positions count from the value's first byte. */
class ProtoJsonDecoder {
  constructor(
    private readonly text: string,
    private readonly offset: number,
  ) {}

  message(node: Node, schema: MessageSchema): JsonObject {
    if (node.kind !== 'object') this.unexpected(node);
    const out: JsonObject = {};
    const seen = new Set<number>();
    const oneofs = new Set<string>();
    for (const member of node.members) {
      const field = schema.fields.find((f) => f.json === member.name) ?? schema.fields.find((f) => f.name === member.name);
      if (!field) this.error(member.namePos, `unknown field ${member.nameRaw}`);
      if (seen.has(field.number)) this.error(member.namePos, `duplicate field ${member.nameRaw}`);
      seen.add(field.number);
      if (member.value.kind === 'literal' && member.value.raw === 'null') continue;
      if (field.repeated) {
        if (member.value.kind !== 'array') this.unexpected(member.value);
        out[field.json] = member.value.items.map((item) => this.singular(item, field));
        continue;
      }
      if (field.oneof) {
        if (oneofs.has(field.oneof)) this.error(member.namePos, `error parsing ${member.nameRaw}, oneof ${field.oneof} is already set`);
        oneofs.add(field.oneof);
      }
      out[field.json] = this.singular(member.value, field);
    }
    return out;
  }

  private singular(node: Node, field: FieldSchema): JsonValue {
    const type = field.type;
    if (typeof type === 'object' && 'message' in type) return this.message(node, type.message());
    if (type === 'string' && node.kind === 'string') return node.value;
    if (type === 'bytes' && node.kind === 'string') {
      const bytes = decodeBase64(node.value);
      if (bytes) return bytes.toString('base64');
    }
    if (typeof type === 'object' && 'enum' in type) {
      if (node.kind === 'string' && Object.hasOwn(type.enum, node.value)) return node.value;
      if (node.kind === 'number') {
        const n = Number(node.raw);
        if (Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31) return Object.keys(type.enum).find((name) => type.enum[name] === n) ?? n;
      }
    }
    const kind = typeof type === 'string' ? type : 'enum';
    return this.error(node.pos, `invalid value for ${kind} field ${field.json}: ${raw(node)}`);
  }

  private unexpected(node: Node): never {
    return this.error(node.pos, `unexpected token ${raw(node)}`, 'syntax error ');
  }

  private error(pos: number, message: string, kind = ''): never {
    const before = this.text.slice(0, pos - this.offset);
    const line = before.split('\n').length;
    const column = Array.from(before.slice(before.lastIndexOf('\n') + 1)).length + 1;
    throw new RequestDecodeError(`proto: ${kind}(line ${line}:${column}): ${message}`);
  }
}

/** A token as protojson quotes it in errors: the raw text, or the bracket that opens an object or array. */
function raw(node: Node): string {
  if (node.kind === 'object') return '{';
  if (node.kind === 'array') return '[';
  return node.raw;
}

/**
 * protojson's bytes: standard base64, or URL-safe when it has - or _; unpadded when its length
 * is not a multiple of 4; Go's decoder skips CR and LF. Undefined when it is not base64.
 */
function decodeBase64(text: string): Buffer | undefined {
  const urlSafe = /[-_]/.test(text);
  const padded = text.length % 4 === 0;
  const data = text.replace(/[\r\n]/g, '');
  const alphabet = urlSafe ? 'A-Za-z0-9\\-_' : 'A-Za-z0-9+/';
  const shape = padded ? `^(?:[${alphabet}]{4})*(?:[${alphabet}]{2}==|[${alphabet}]{3}=)?$` : `^[${alphabet}]*$`;
  if (!new RegExp(shape).test(data) || (!padded && data.length % 4 === 1)) return undefined;
  return Buffer.from(data, urlSafe ? 'base64url' : 'base64');
}
