/** An element of a parsed XML document. */
export interface XmlElement {
  /** The qualified name as written, e.g. `sf:Id`. */
  readonly name: string;
  /** The name without its prefix, e.g. `Id`. */
  readonly localName: string;
  /** Attribute values by qualified name, entities decoded. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** The element's own character data (not its children's), entities decoded. */
  readonly text: string;
}

interface OpenElement {
  name: string;
  localName: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = '[A-Za-z_][\\w.:-]*';
// One token at the cursor: a comment, a CDATA section, a processing instruction (the XML
// declaration), any other `<!` (DOCTYPE, ENTITY: refused), an end tag, a start tag, or text.
const TOKEN = new RegExp(
  [
    '(?<comment><!--[\\s\\S]*?-->)',
    '<!\\[CDATA\\[(?<cdata>[\\s\\S]*?)\\]\\]>',
    '(?<pi><\\?[\\s\\S]*?\\?>)',
    '(?<declaration><!)',
    `</(?<end>${NAME})\\s*>`,
    `<(?<start>${NAME})(?<attributes>(?:\\s+${NAME}\\s*=\\s*(?:"[^"<]*"|'[^'<]*'))*)\\s*(?<empty>/?)>`,
    '(?<text>[^<]+)',
  ].join('|'),
  'y',
);
const ATTRIBUTE = new RegExp(`(${NAME})\\s*=\\s*(?:"([^"<]*)"|'([^'<]*)')`, 'g');
const ENTITY = /&(?:(lt|gt|amp|quot|apos)|#(\d{1,7})|#x([0-9a-fA-F]{1,6}));|&/g;
const NAMED: Readonly<Record<string, string>> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
};
const MAX_DEPTH = 64;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Character data with the five predefined entities and character references decoded. */
function decodeText(text: string): string {
  return text.replace(ENTITY, (whole, named?: string, decimal?: string, hex?: string) => {
    if (named) return NAMED[named] as string;
    const code = decimal ? Number(decimal) : hex ? Number.parseInt(hex, 16) : Number.NaN;
    if (!Number.isInteger(code) || code > 0x10ffff || code === 0) {
      throw new Error(`undefined entity or bare & at ${JSON.stringify(whole)}`);
    }
    return String.fromCodePoint(code);
  });
}

function localNameOf(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}

/**
 * A small XML reader for fixed machine-written envelopes (Salesforce's SOAP), not a general
 * parser. A document type declaration is refused outright, so no entity, internal or external,
 * is ever defined or expanded; only the five predefined entities and character references are
 * decoded. Namespaces are not resolved: callers match on `localName`. Throws an Error for
 * anything it does not read (bad UTF-8, mismatched tags, text outside the root, deep nesting).
 */
export function parseXml(bytes: Buffer): XmlElement {
  const source = strictUtf8.decode(bytes);
  const stack: OpenElement[] = [];
  let root: XmlElement | undefined;
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    const at = TOKEN.lastIndex;
    const groups = TOKEN.exec(source)?.groups;
    if (!groups) throw new Error(`unreadable XML at offset ${at}`);
    const current = stack.at(-1);
    if (groups.declaration !== undefined) throw new Error('DOCTYPE and declarations are refused');
    if (groups.cdata !== undefined || groups.text !== undefined) {
      const text = groups.cdata ?? decodeText(groups.text as string);
      if (current) current.text += text;
      else if (text.trim() !== '') throw new Error('text outside the root element');
    } else if (groups.start !== undefined) {
      if (root || stack.length >= MAX_DEPTH) throw new Error('a second root or too deep');
      const attributes: Record<string, string> = {};
      for (const match of (groups.attributes ?? '').matchAll(ATTRIBUTE)) {
        attributes[match[1] as string] = decodeText(match[2] ?? match[3] ?? '');
      }
      const element = {
        name: groups.start,
        localName: localNameOf(groups.start),
        attributes,
        children: [],
        text: '',
      };
      if (groups.empty) close(element);
      else stack.push(element);
    } else if (groups.end !== undefined) {
      if (current?.name !== groups.end) throw new Error(`unexpected </${groups.end}>`);
      stack.pop();
      close(current);
    }
  }
  if (!root || stack.length > 0) throw new Error('no complete root element');
  return root;

  function close(element: OpenElement): void {
    const parent = stack.at(-1);
    if (parent) parent.children.push(element);
    else root = element;
  }
}

/** The first child named `localName`, if any. */
export function childNamed(element: XmlElement, localName: string): XmlElement | undefined {
  return element.children.find((child) => child.localName === localName);
}
