/* global document, window, fetch, navigator, URLSearchParams, Option */
// The playground's script: plain browser JavaScript, no framework, no build step. Every URL it shows comes from
// the server's own canonical form (/_/playground/canonical), so it is exactly what the URL API answers.

const PAGE = 50;
const FITS = ['inside', 'cover', 'contain', 'fill', 'outside'];
const POSITIONS = ['center', 'attention', 'entropy', 'north', 'northeast', 'east', 'southeast', 'south', 'southwest', 'west', 'northwest'];
const FORMATS = [['', 'as the source'], ['jpeg', 'JPEG'], ['png', 'PNG'], ['webp', 'WebP'], ['avif', 'AVIF'], ['gif', 'GIF'], ['auto', 'auto (from Accept)']];
const DEFAULTS = { a: { width: '400', height: '300', format: 'webp' }, b: { width: '400', height: '300', format: 'avif' } };

const $ = (id) => document.getElementById(id);
const state = { key: '', next: null, panels: {} };

function encodeKey(key) {
  return key.split('/').map(encodeURIComponent).join('/');
}

function escapeAttr(text) {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

function debounce(fn, ms) {
  let timer;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

function field(id, labelText, control) {
  const label = document.createElement('label');
  label.htmlFor = id;
  label.textContent = labelText;
  control.id = id;
  const wrap = document.createElement('div');
  wrap.append(label, control);
  return wrap;
}

function select(options, value) {
  const el = document.createElement('select');
  for (const [v, text] of options.map((o) => (Array.isArray(o) ? o : [o, o]))) el.add(new Option(text, v, false, v === value));
  return el;
}

function number(min, max, value, placeholder) {
  const el = document.createElement('input');
  Object.assign(el, { type: 'number', min: String(min), max: String(max), value: value ?? '', placeholder: placeholder ?? '' });
  return el;
}

/** One option set: controls, the URL they make, the image and its numbers. */
function makePanel(section) {
  const name = section.dataset.panel;
  const d = DEFAULTS[name];
  const id = (s) => `${name}-${s}`;
  const heading = document.createElement('h2');
  heading.id = `panel-${name}-heading`;
  heading.textContent = `Option set ${name.toUpperCase()}`;
  const controls = {
    width: number(1, 8192, d.width, 'auto'),
    height: number(1, 8192, d.height, 'auto'),
    fit: select(FITS, 'inside'),
    position: select(POSITIONS, 'center'),
    format: select(FORMATS, d.format),
    quality: number(1, 100, '', 'default'),
    extra: Object.assign(document.createElement('input'), { type: 'text', placeholder: 'e.g. blur2,sharpen,r90' }),
  };
  const grid = document.createElement('div');
  grid.className = 'controls';
  grid.append(
    field(id('width'), 'Width', controls.width), field(id('height'), 'Height', controls.height), field(id('fit'), 'Fit', controls.fit),
    field(id('position'), 'Position (cover, contain)', controls.position), field(id('format'), 'Format', controls.format),
    field(id('quality'), 'Quality', controls.quality),
  );
  const extra = field(id('extra'), 'More options, comma-separated (docs/url-api.md)', controls.extra);
  const url = Object.assign(document.createElement('p'), { className: 'url' });
  const link = document.createElement('a');
  link.id = id('url');
  url.append('URL: ', link);
  const error = Object.assign(document.createElement('p'), { className: 'error', id: id('error') });
  error.setAttribute('role', 'alert');
  const frame = Object.assign(document.createElement('div'), { className: 'frame' });
  const img = Object.assign(document.createElement('img'), { id: id('image'), alt: '' });
  frame.append(img);
  const stats = document.createElement('dl');
  const cells = {};
  for (const [k, label] of [['bytes', 'Bytes'], ['dimensions', 'Dimensions'], ['format', 'Format'], ['time', 'Time (Server-Timing)']]) {
    const dt = document.createElement('dt');
    dt.textContent = label;
    cells[k] = Object.assign(document.createElement('dd'), { id: id(`out-${k}`) });
    stats.append(dt, cells[k]);
  }
  section.append(heading, grid, extra, url, error, frame, stats);
  const panel = { name, controls, link, error, img, cells, segment: '', url: '' };
  // One debounced render per panel, not one per control: two controls changed together must not start two renders.
  const later = debounce(() => render(panel), 250);
  for (const el of Object.values(controls)) el.addEventListener('input', later);
  state.panels[name] = panel;
  return panel;
}

/** What the controls spell, in any order: the server puts it in canonical form. */
function optionsOf(panel) {
  const c = panel.controls;
  const tokens = [];
  if (c.width.value || c.height.value) tokens.push(`${c.width.value}x${c.height.value}`);
  if (c.fit.value !== 'inside') tokens.push(c.fit.value);
  if (c.position.value !== 'center' && (c.fit.value === 'cover' || c.fit.value === 'contain')) tokens.push(c.position.value);
  if (c.format.value) tokens.push(c.format.value);
  if (c.quality.value) tokens.push(`q${c.quality.value}`);
  for (const t of c.extra.value.split(',').map((s) => s.trim()).filter(Boolean)) tokens.push(t);
  return tokens.length ? tokens.join(',') : 'original';
}

async function canonical(list) {
  const q = new URLSearchParams(list.map((o) => ['options', o]));
  const res = await fetch(`/_/playground/canonical?${q}`);
  return (await res.json()).results;
}

function imageUrl(segment) {
  return `${window.location.origin}/${segment}/${encodeKey(state.key)}`;
}

function serverTime(header) {
  const total = /total;dur=([\d.]+)/.exec(header ?? '');
  const cache = /cache;desc="?(\w+)/.exec(header ?? '');
  return total ? `${total[1]} ms${cache ? `, cache ${cache[1]}` : ''}` : '?';
}

async function render(panel) {
  if (!state.key) return;
  // Answers can come back out of order: only the latest change may write to the panel.
  const turn = (panel.turn = (panel.turn ?? 0) + 1);
  const stale = () => turn !== panel.turn;
  const [result] = await canonical([optionsOf(panel)]);
  if (stale()) return;
  panel.error.textContent = result.error ?? '';
  if (result.error) return;
  const url = imageUrl(result.segment);
  // The same image again (an edit that spells the same canonical options): what is shown is already right.
  if (url === panel.url && panel.shown === url) return;
  panel.shown = '';
  panel.segment = result.segment;
  panel.url = url;
  panel.link.href = url;
  panel.link.textContent = url;
  for (const cell of Object.values(panel.cells)) cell.textContent = '…';
  const res = await fetch(url);
  const body = await res.blob();
  if (stale()) return;
  if (!res.ok) {
    panel.error.textContent = await body.text();
    panel.img.removeAttribute('src');
    return;
  }
  panel.cells.bytes.textContent = `${body.size.toLocaleString('en')} bytes`;
  panel.cells.format.textContent = res.headers.get('content-type') ?? '?';
  panel.cells.time.textContent = serverTime(res.headers.get('server-timing'));
  panel.img.alt = `${state.key} with options ${result.segment}`;
  panel.img.onload = () => {
    if (stale()) return;
    panel.shown = url;
    panel.cells.dimensions.textContent = `${panel.img.naturalWidth} × ${panel.img.naturalHeight}`;
    if (panel.name === 'a') renderSnippet(panel);
  };
  panel.img.src = url;
}

/** `<img srcset>` for option set A at 1x and 2x (dpr2 doubles the box, as the URL API defines). */
async function renderSnippet(panel) {
  const [one, two] = await canonical([panel.segment, `${panel.segment},dpr2`]);
  const alt = $('alt').value || state.key.split('/').pop();
  const src = imageUrl(one.segment);
  const srcset = two.error || two.segment === one.segment ? '' : ` srcset="${escapeAttr(src)} 1x, ${escapeAttr(imageUrl(two.segment))} 2x"`;
  $('snippet').value = `<img src="${escapeAttr(src)}"${srcset} width="${panel.img.naturalWidth}" height="${panel.img.naturalHeight}" alt="${escapeAttr(alt)}">`;
}

async function loadSources(append) {
  const q = new URLSearchParams({ prefix: $('prefix').value, limit: String(PAGE) });
  if (append && state.next) q.set('after', state.next);
  const res = await fetch(`/_/sources?${q}`);
  if (!res.ok) { $('sources-status').textContent = await res.text(); return; }
  const page = await res.json();
  const list = $('source');
  if (!append) list.length = 0;
  for (const item of page.items) list.add(new Option(item.key, item.key));
  state.next = page.next;
  $('more').hidden = !page.next;
  $('sources-status').textContent = `${list.length} source(s) shown${page.next ? ', more available' : ''}`;
  if (!append && list.length && !list.value) {
    list.selectedIndex = 0;
    choose(list.value);
  }
}

function choose(key) {
  state.key = key;
  if ($('alt').dataset.edited !== 'yes') $('alt').value = key.split('/').pop().replace(/\.[^.]+$/, '');
  for (const panel of Object.values(state.panels)) render(panel);
}

function start() {
  for (const section of document.querySelectorAll('.panel')) makePanel(section);
  $('source').addEventListener('change', (e) => choose(e.target.value));
  $('prefix').addEventListener('input', debounce(() => loadSources(false), 250));
  $('more').addEventListener('click', () => loadSources(true));
  $('alt').addEventListener('input', () => { $('alt').dataset.edited = 'yes'; renderSnippet(state.panels.a); });
  $('copy').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText($('snippet').value);
      $('copy-status').textContent = 'Copied';
    } catch {
      $('snippet').select();
      $('copy-status').textContent = 'Selected: press Ctrl+C to copy';
    }
  });
  loadSources(false);
}

start();
