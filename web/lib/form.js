// The form generator of the New task page: every control comes from a
// module's contract (docs/contracts.md), none from knowing a module.
//
// A field's state is `{raw, asset}`: `raw` is what the control holds (text
// for text boxes, a boolean for a checkbox, an index for an enum's select),
// `asset` the id of the asset mapped to the input (ASSET inputs, and VALUE
// inputs given a VALUE asset, as a task run again may have).
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { ShortId, Status, fmtBytes } from './ui.js';
import { href } from './router.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/// An input of a contract with its dtype and constraints where a form needs
/// them (`dtype` may be written inside `constraints`).
export function normalizeInput(inp) {
  const c = inp.constraints || {};
  return {
    ...inp,
    kind: inp.contract_type === 'VALUE' ? 'VALUE' : 'ASSET',
    dtype: inp.dtype || c.dtype || null,
    c,
    label: inp.label || inp.key,
    required: inp.required !== false,
    hasDefault: Object.prototype.hasOwnProperty.call(inp, 'default'),
  };
}

/// Whether a request may leave the input out.
export function isOptional(inp) {
  return !inp.required || inp.hasDefault;
}

export function fieldId(key) { return 'f-' + key; }

// Whole numbers beyond 2^53 keep their digits as text (JSON.stringify would round them).
function numberText(v) { return typeof v === 'number' ? String(v) : v === undefined || v === null ? '' : String(v); }

function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
}

/// The control's state for a value (a default or a value of an earlier task).
export function rawFromValue(inp, v) {
  switch (inp.dtype) {
    case 'bool': return v === undefined ? (isOptional(inp) && !inp.hasDefault ? '' : false) : v === true ? true : v === false ? false : '';
    case 'enum': {
      if (v === undefined) return '';
      const i = (inp.c.enum || []).findIndex((e) => deepEqual(e, v));
      return i < 0 ? '' : String(i);
    }
    case 'json': return v === undefined ? '' : JSON.stringify(v, null, 2);
    case 'int': case 'float': return numberText(v);
    default: return v === undefined || v === null ? '' : String(v);
  }
}

/// A field's first state: the contract's default, or what `task` (a task
/// record run again) gave the input.
export function initialField(inp, task) {
  if (task) {
    const mapped = task.input_mapping && task.input_mapping[inp.key];
    if (mapped) return { raw: rawFromValue(inp, undefined), asset: mapped };
    if (task.values && Object.prototype.hasOwnProperty.call(task.values, inp.key))
      return { raw: rawFromValue(inp, task.values[inp.key]), asset: null };
  }
  return { raw: rawFromValue(inp, inp.hasDefault ? inp.default : undefined), asset: null };
}

/// The value a field gives the request: `{value}`, `{omit: true}`, or
/// `{invalid: message}` when no request can be formed from it (a JSON text
/// that does not parse, a number box holding no number).
export function fieldValue(inp, f) {
  const raw = f.raw;
  switch (inp.dtype) {
    case 'bool':
      if (raw === '' || raw === undefined) return { omit: true };
      return { value: raw === true || raw === 'true' };
    case 'enum':
      if (raw === '' || raw === undefined) return { omit: true };
      return { value: (inp.c.enum || [])[Number(raw)] };
    case 'int': case 'float': {
      const s = String(raw ?? '').trim();
      if (f.bad) return { invalid: 'Enter a number.' };
      if (s === '') return { omit: true };
      const n = Number(s);
      if (!Number.isFinite(n)) return { invalid: 'Enter a number.' };
      return { value: n };
    }
    case 'json': {
      const s = String(raw ?? '');
      if (s.trim() === '') return { omit: true };
      try { return { value: JSON.parse(s) }; } catch (e) { return { invalid: 'Not valid JSON: ' + e.message }; }
    }
    case 'url':
      return String(raw ?? '').trim() === '' ? { omit: true } : { value: String(raw).trim() };
    default: // string, text: an empty box gives nothing (the node says when the input is required)
      if ((raw ?? '') === '') return { omit: true };
      return { value: String(raw) };
  }
}

function compilePattern(p, flags) {
  try { return new RegExp(p, flags); } catch { return null; }
}

/// The `pattern` attribute for a contract pattern (unanchored, as JSON
/// Schema reads it; the attribute is anchored and compiled with the `v`
/// flag): null when the browser could not compile it.
export function patternAttribute(p) {
  if (!p) return null;
  const wrapped = '[\\s\\S]*(?:' + p + ')[\\s\\S]*';
  return compilePattern('^(?:' + wrapped + ')$', 'v') ? wrapped : null;
}

const codePoints = (s) => [...s].length;

/// What the page can tell about a field before the node does (advice: the
/// node's pre-flight decides). `schema`: the JSON Schema of a `json` input
/// when known. Returns a list of messages, empty when nothing was found.
export function checkField(inp, f, schema) {
  if (inp.kind === 'ASSET' || f.asset) {
    if (!f.asset) return isOptional(inp) ? [] : ['Choose an asset: this input is required.'];
    return UUID.test(f.asset) ? [] : ['An asset id is a UUID (8-4-4-4-12 hexadecimal digits).'];
  }
  const v = fieldValue(inp, f);
  if (v.invalid) return [v.invalid];
  if (v.omit) return isOptional(inp) ? [] : ['A value is required.'];
  const c = inp.c, x = v.value, out = [];
  if (inp.dtype === 'int' && !Number.isInteger(x)) out.push('Enter a whole number.');
  if ((inp.dtype === 'int' || inp.dtype === 'float') && typeof x === 'number') {
    if (c.min !== undefined && x < c.min) out.push(`At least ${c.min}.`);
    if (c.max !== undefined && x > c.max) out.push(`At most ${c.max}.`);
  }
  if (typeof x === 'string') {
    if (c.pattern) {
      const re = compilePattern(c.pattern, 'u');
      if (re && !re.test(x)) out.push(`Must match the pattern ${c.pattern}.`);
    }
    if (c.max_length !== undefined && codePoints(x) > c.max_length) out.push(`At most ${c.max_length} characters (now ${codePoints(x)}).`);
    if (inp.dtype === 'url') {
      try { new URL(x); } catch { out.push('Enter a full URL, such as https://example.com/a.mp4.'); }
    }
  }
  if (inp.dtype === 'json' && schema !== undefined && schema !== null)
    for (const p of checkJsonBasics(schema, x)) out.push((p.pointer ? `At ${p.pointer}: ` : '') + p.message);
  return out;
}

const jsonType = (v) => v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v;
const escapeToken = (k) => String(k).replace(/~/g, '~0').replace(/\//g, '~1');

/// The basics of JSON Schema, checked in the page: `type`, `enum`, `const`,
/// `required`, `properties`, `additionalProperties: false`, `items`, bounds
/// of numbers, strings and arrays. Everything else (`$ref`, `allOf`,
/// formats, …) is left to the node. → [{pointer, message}]
export function checkJsonBasics(schema, value, pointer = '', depth = 0) {
  const out = [];
  if (schema === true || schema === undefined || depth > 32) return out;
  if (schema === false) return [{ pointer, message: 'No value is allowed here.' }];
  if (typeof schema !== 'object' || schema === null) return out;
  const t = jsonType(value);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const ok = types.some((s) => s === t || (s === 'number' && t === 'integer'));
    if (!ok) return [{ pointer, message: `Expected ${types.join(' or ')}, found ${t === 'integer' ? 'number' : t}.` }];
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => deepEqual(e, value)))
    out.push({ pointer, message: 'Must be one of ' + schema.enum.map((e) => JSON.stringify(e)).join(', ') + '.' });
  if ('const' in schema && !deepEqual(schema.const, value))
    out.push({ pointer, message: 'Must be ' + JSON.stringify(schema.const) + '.' });
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) out.push({ pointer, message: `At least ${schema.minimum}.` });
    if (typeof schema.maximum === 'number' && value > schema.maximum) out.push({ pointer, message: `At most ${schema.maximum}.` });
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) out.push({ pointer, message: `More than ${schema.exclusiveMinimum}.` });
    if (typeof schema.exclusiveMaximum === 'number' && value >= schema.exclusiveMaximum) out.push({ pointer, message: `Less than ${schema.exclusiveMaximum}.` });
  }
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && codePoints(value) < schema.minLength) out.push({ pointer, message: `At least ${schema.minLength} characters.` });
    if (typeof schema.maxLength === 'number' && codePoints(value) > schema.maxLength) out.push({ pointer, message: `At most ${schema.maxLength} characters.` });
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) out.push({ pointer, message: `At least ${schema.minItems} items.` });
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) out.push({ pointer, message: `At most ${schema.maxItems} items.` });
    if (schema.items && typeof schema.items === 'object' && !Array.isArray(schema.items))
      value.forEach((v, i) => out.push(...checkJsonBasics(schema.items, v, pointer + '/' + i, depth + 1)));
  }
  if (t === 'object') {
    if (Array.isArray(schema.required))
      for (const k of schema.required)
        if (!Object.prototype.hasOwnProperty.call(value, k)) out.push({ pointer, message: `The member "${k}" is required.` });
    const props = schema.properties && typeof schema.properties === 'object' ? schema.properties : {};
    for (const [k, v] of Object.entries(value)) {
      if (Object.prototype.hasOwnProperty.call(props, k)) out.push(...checkJsonBasics(props[k], v, pointer + '/' + escapeToken(k), depth + 1));
      else if (schema.additionalProperties === false && !schema.patternProperties) out.push({ pointer: pointer + '/' + escapeToken(k), message: `The member "${k}" is not allowed.` });
    }
  }
  return out;
}

/// The field a problem of the node's answer belongs to: `/input_mapping/KEY…`
/// and `/values/KEY…` → KEY, `/priority`, `/idempotency_key`; null otherwise.
/// `rest` is the part of the pointer inside the value (`/start_time`).
export function fieldOfPointer(pointer, keys) {
  const m = /^\/(input_mapping|values)\/([^/]*)(\/.*)?$/.exec(pointer || '');
  if (m) {
    const key = m[2].replace(/~1/g, '/').replace(/~0/g, '~');
    return keys.includes(key) ? { field: key, rest: m[3] || '' } : null;
  }
  if (/^\/priority(\/|$)/.test(pointer || '')) return { field: 'priority', rest: '' };
  if (/^\/idempotency_key(\/|$)/.test(pointer || '')) return { field: 'idempotency_key', rest: '' };
  return null;
}

/// The message under a field, its id named by the control's aria-describedby.
export function FieldMessages({ id, messages }) {
  if (!messages || !messages.length) return null;
  return html`<div id=${id} class="field-error">${messages.map((m) => html`<div>${m}</div>`)}</div>`;
}

const describedBy = (...ids) => ids.filter(Boolean).join(' ') || undefined;

function rangeStep(inp) {
  if (inp.dtype === 'int') return 1;
  const span = inp.c.max - inp.c.min;
  if (!(span > 0)) return 'any';
  return Math.pow(10, Math.ceil(Math.log10(span / 100)));
}

/// The hint under a VALUE field: what the contract allows.
export function valueHint(inp) {
  const c = inp.c, parts = [];
  if (inp.dtype) parts.push(inp.dtype);
  if (c.min !== undefined && c.max !== undefined) parts.push(`${c.min} to ${c.max}`);
  else if (c.min !== undefined) parts.push(`at least ${c.min}`);
  else if (c.max !== undefined) parts.push(`at most ${c.max}`);
  if (c.pattern) parts.push(`pattern ${c.pattern}`);
  if (c.max_length !== undefined) parts.push(`at most ${c.max_length} characters`);
  if (inp.hasDefault) parts.push('default ' + JSON.stringify(inp.default));
  if (c.schema !== undefined) parts.push(typeof c.schema === 'string' ? `schema ${c.schema}` : 'inline schema');
  return parts.join(' · ');
}

/// A VALUE input's control, chosen by its dtype.
export function ValueField({ inp, field, onChange, messages, disabled, schemaNote }) {
  const id = fieldId(inp.key), errId = id + '-err', hintId = id + '-hint';
  const invalid = messages && messages.length ? 'true' : undefined;
  const aria = { 'aria-describedby': describedBy(invalid && errId, hintId), 'aria-invalid': invalid };
  const set = (raw, bad = false) => onChange({ ...field, raw, bad });
  const c = inp.c;
  let control;
  switch (inp.dtype) {
    case 'int': case 'float': {
      const bounded = typeof c.min === 'number' && typeof c.max === 'number';
      const n = Number(field.raw);
      const sliderValue = String(field.raw).trim() !== '' && Number.isFinite(n) ? Math.min(c.max, Math.max(c.min, n)) : (inp.hasDefault ? inp.default : c.min);
      control = html`<div class="nt-number">
        ${bounded && html`<input type="range" id=${id + '-range'} aria-label=${inp.label + ' slider'} min=${c.min} max=${c.max}
            step=${rangeStep(inp)} value=${sliderValue} disabled=${disabled} aria-describedby=${hintId}
            onInput=${(e) => set(e.target.value)} />`}
        <input type="number" id=${id} name=${inp.key} inputmode=${inp.dtype === 'int' ? 'numeric' : 'decimal'}
            step=${inp.dtype === 'int' ? 1 : 'any'} min=${c.min} max=${c.max} value=${field.raw}
            required=${!isOptional(inp)} disabled=${disabled} onInput=${(e) => set(e.target.value, e.target.validity.badInput)} ...${aria} />
      </div>`;
      break;
    }
    case 'enum': {
      const values = c.enum || [];
      control = html`<select id=${id} name=${inp.key} value=${field.raw} disabled=${disabled} required=${!isOptional(inp)}
          onChange=${(e) => set(e.target.value)} ...${aria}>
        ${(field.raw === '' || isOptional(inp)) && html`<option value="">${isOptional(inp) ? '(not given)' : '(choose)'}</option>`}
        ${values.map((v, i) => html`<option value=${String(i)}>${typeof v === 'string' ? v : JSON.stringify(v)}</option>`)}
      </select>`;
      break;
    }
    case 'bool':
      control = isOptional(inp) && !inp.hasDefault
        ? html`<select id=${id} name=${inp.key} value=${field.raw === '' ? '' : String(field.raw)} disabled=${disabled}
              onChange=${(e) => set(e.target.value === '' ? '' : e.target.value === 'true')} ...${aria}>
            <option value="">(not given)</option><option value="true">true</option><option value="false">false</option>
          </select>`
        : html`<input type="checkbox" id=${id} name=${inp.key} checked=${field.raw === true} disabled=${disabled}
              onChange=${(e) => set(e.target.checked)} ...${aria} />`;
      break;
    case 'text':
      control = html`<textarea id=${id} name=${inp.key} rows="4" value=${field.raw} disabled=${disabled}
          required=${!isOptional(inp)} onInput=${(e) => set(e.target.value)} ...${aria}></textarea>`;
      break;
    case 'json':
      control = html`<textarea id=${id} name=${inp.key} class="nt-json" rows="6" spellcheck="false" value=${field.raw}
          disabled=${disabled} required=${!isOptional(inp)} onInput=${(e) => set(e.target.value)} ...${aria}></textarea>`;
      break;
    case 'url':
      control = html`<input type="url" id=${id} name=${inp.key} value=${field.raw} disabled=${disabled} class="nt-wide"
          placeholder="https://" required=${!isOptional(inp)} onInput=${(e) => set(e.target.value)} ...${aria} />`;
      break;
    default: { // string, or a dtype this page does not know: a text box
      const pat = patternAttribute(c.pattern);
      control = html`<input type="text" id=${id} name=${inp.key} value=${field.raw} disabled=${disabled} class="nt-wide"
          pattern=${pat || undefined} title=${c.pattern ? 'Must match the pattern ' + c.pattern : undefined}
          required=${!isOptional(inp)} onInput=${(e) => set(e.target.value)} ...${aria} />`;
    }
  }
  const boolBox = inp.dtype === 'bool' && !(isOptional(inp) && !inp.hasDefault);
  return html`<div class=${'nt-field' + (boolBox ? ' nt-bool' : '')}>
    ${boolBox ? html`<div class="nt-check">${control}<label for=${id}>${inp.label}</label>${optionalMark(inp)}</div>`
              : html`<div class="nt-label-row"><label for=${id}>${inp.label}</label>${optionalMark(inp)}</div>`}
    ${inp.description && html`<p class="muted nt-desc">${inp.description}</p>`}
    ${!boolBox && control}
    <p id=${hintId} class="muted nt-hint">${isOptional(inp) ? 'Optional. ' : 'Required. '}<code>${inp.key}</code> · ${valueHint(inp)}${schemaNote ? ' · ' + schemaNote : ''}</p>
    <${FieldMessages} id=${errId} messages=${messages} />
  </div>`;
}

function optionalMark(inp) {
  return isOptional(inp) ? html`<span class="nt-optional" aria-hidden="true">(optional${inp.hasDefault ? ', has a default' : ''})</span>` : null;
}

/// An asset in words: its label or id, its type, size and status.
function assetWords(a) {
  return [a.label || null, a.media_type || a.dtype || a.kind, a.size !== undefined ? fmtBytes(a.size) : null].filter(Boolean).join(' · ');
}

const STATUSES = ['AVAILABLE', 'PENDING'];

/// An ASSET input's picker: the assets whose media type the contract allows,
/// AVAILABLE and PENDING, from the server's filtered lists (one list per
/// media type and status, each paged; "Load more" asks each for its next
/// page), and a box for any asset id.
export function AssetPicker({ inp, field, onChange, messages, disabled, pageSize = 20 }) {
  const id = fieldId(inp.key), errId = id + '-err', hintId = id + '-hint';
  const types = inp.c.media_types && inp.c.media_types.length ? inp.c.media_types : [null];
  const [streams, setStreams] = useState(null); // [{media_type, status, cursor, done}]
  const [items, setItems] = useState([]);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState(null);
  const [chosen, setChosen] = useState(null); // the record of a chosen asset not in the list
  const invalid = messages && messages.length ? 'true' : undefined;

  async function load(from) {
    setLoading(true);
    setError(null);
    try {
      const next = await Promise.all(from.map(async (s) => {
        if (s.done) return { s, items: [] };
        const page = await api('/api/assets', { query: { status: s.status, media_type: s.media_type, limit: pageSize, cursor: s.cursor } });
        return { s: { ...s, cursor: page.next_cursor, done: !page.next_cursor }, items: page.items || [] };
      }));
      setStreams(next.map((n) => n.s));
      setItems((old) => {
        const seen = new Set(old.map((a) => a.asset_id));
        const add = [];
        for (const n of next) for (const a of n.items) if (!seen.has(a.asset_id)) { seen.add(a.asset_id); add.push(a); }
        return [...old, ...add];
      });
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  }

  useEffect(() => {
    setItems([]);
    const first = [];
    for (const status of STATUSES) for (const t of types) first.push({ status, media_type: t || undefined, cursor: undefined, done: false });
    load(first);
  }, [inp.key, types.join(',')]);

  const inList = field.asset && items.some((a) => a.asset_id === field.asset);
  useEffect(() => {
    if (!field.asset || inList || !UUID.test(field.asset)) { setChosen(null); return; }
    let live = true;
    api('/api/assets/' + encodeURIComponent(field.asset)).then((a) => live && setChosen(a), () => live && setChosen(null));
    return () => { live = false; };
  }, [field.asset, inList]);

  const more = streams && streams.some((s) => !s.done);
  const pick = (assetId) => onChange({ ...field, asset: assetId || null });
  const shown = chosen && !inList ? [chosen, ...items] : items;
  const typeWords = types[0] === null ? 'any media type' : types.join(', ');
  const name = id + '-choice';
  return html`<fieldset class="nt-field nt-asset" aria-describedby=${describedBy(invalid && errId, hintId)}>
    <legend>${inp.label} ${optionalMark(inp)}</legend>
    ${inp.description && html`<p class="muted nt-desc">${inp.description}</p>`}
    <p id=${hintId} class="muted nt-hint">${isOptional(inp) ? 'Optional. ' : 'Required. '}<code>${inp.key}</code> · file asset of ${typeWords}${inp.c.schema !== undefined ? ' · schema ' + (typeof inp.c.schema === 'string' ? inp.c.schema : '(inline)') : ''}</p>
    <div class=${'nt-assets' + (disabled ? ' nt-assets-all' : '')} role="radiogroup" aria-label=${inp.label + ': assets'} aria-invalid=${invalid}>
      ${isOptional(inp) && html`<label class="nt-asset-row"><input type="radio" name=${name} value="" checked=${!field.asset}
          disabled=${disabled} onChange=${() => pick(null)} /> <span>(none)</span></label>`}
      ${shown.map((a) => html`<label class="nt-asset-row">
          <input type="radio" name=${name} value=${a.asset_id} checked=${field.asset === a.asset_id} disabled=${disabled}
              onChange=${() => pick(a.asset_id)} />
          <${ShortId} id=${a.asset_id} /> <span>${assetWords(a)}</span> <${Status} value=${a.status} />
          ${a.status === 'PENDING' && (a.produced_by
            ? html`<span class="muted">produced by task <a href=${href('tasks', a.produced_by)}><${ShortId} id=${a.produced_by} /></a></span>`
            : html`<span class="muted">not produced yet</span>`)}
        </label>`)}
      ${!loading && !error && shown.length === 0 && html`<p class="muted">No AVAILABLE or PENDING asset of ${typeWords}. Upload one on the <a href="#/assets">Assets</a> page.</p>`}
    </div>
    ${error && html`<p class="field-error" role="alert">Could not list the assets: ${error.message}</p>`}
    <div class="nt-asset-foot">
      ${loading ? html`<span class="muted" role="status">Loading assets…</span>`
        : more && html`<button type="button" class="secondary" onClick=${() => load(streams)}>Load more assets for ${inp.label}</button>`}
      <span class="nt-asset-id">
        <label for=${id}>${inp.label}: asset id</label>
        <input type="text" id=${id} name=${inp.key} value=${field.asset || ''} disabled=${disabled} spellcheck="false"
            size="38" placeholder="any asset id" aria-invalid=${invalid} aria-describedby=${describedBy(invalid && errId, hintId)}
            onInput=${(e) => pick(e.target.value.trim())} />
      </span>
    </div>
    <${FieldMessages} id=${errId} messages=${messages} />
  </fieldset>`;
}
